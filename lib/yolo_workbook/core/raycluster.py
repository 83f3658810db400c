"""Reaching Ray: a local Ray started for a job, or a cluster; and the project shipped to its workers.

Not about sweeps: any job that fans out on Ray (a sweep's trials, :mod:`yolo_workbook.tuning.raybackend`;
next, independent rounds of the pipeline) attaches here. Ray itself is the optional ``sweep`` extra and
is imported only inside these functions.

Which Ray: the address a job names (``sweep.ray.address``), else ``RAY_ADDRESS``, else a local Ray started
for the job and stopped after it. An address is checked to answer (a TCP connection, a few seconds) before
Ray is asked to attach, so a wrong or closed address fails at once with its name. Every worker finds the
project, its params and its outputs where this process does (:func:`worker_environment`): on a cluster,
the same paths on shared storage.

Examples:
    >>> ray, started_here = start_ray("", "")  # doctest: +SKIP
    >>> ray.shutdown() if started_here else None  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
from typing import Any

from yolo_workbook.core import paths
from yolo_workbook.core.errors import RayClusterError

INSTALL_FIX = 'pip install -e ".[sweep]" (Ray Tune; environment.yml has it)'
CONNECT_TIMEOUT_S = 3.0
PASSED_ON = ("PYTHONUTF8",)  # to every Ray worker, besides the workbook's own folders


def import_ray(where: str = "") -> Any:
    """``ray`` (with Ray Tune), or one error saying what to install; ``where`` names the setting that asked for it."""
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError as exc:
        said = f"{where}: " if where else ""
        raise RayClusterError(
            f"{said}Ray is asked for, but Ray Tune is not installed ({exc})", fix=INSTALL_FIX
        ) from None
    return ray


def ray_address(address: str = "", setting: str = "") -> tuple[str, str]:
    """The cluster to attach to and where that came from: ``address`` (named by ``setting``), ``RAY_ADDRESS``, or
    ``("", "")`` (a local Ray started for the job)."""
    if address:
        return str(address), setting
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    return "", ""


def check_reachable(address: str, origin: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse, within ``timeout`` seconds, a Ray address that does not answer (``auto`` and ``local`` are Ray's).

    Raises:
        RayClusterError: Nothing listens at ``host:port`` (naming the address and where it was set).
    """
    if address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise RayClusterError(
            f"{origin} is {address!r}: not host:port", fix="write the head node's address, e.g. 10.0.0.5:6379"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise RayClusterError(
            f"cannot reach the Ray cluster at {address} ({origin}): {exc.strerror or exc} after at most {timeout:g} s",
            fix="start it (ray start --head --port=6379 on the head node) or correct the address; to run on this"
            " machine alone, unset RAY_ADDRESS and the address setting (a local Ray is started), or run locally",
        ) from None


def worker_environment() -> dict[str, str]:
    """What every Ray worker needs to find the project, its params and its outputs where this process does (absolute:
    a worker starts in its own folder), and to stay in the current folder (Ray would move it into a trial folder)."""
    environment = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
    environment.update(
        YOLO_WORKBOOK_ROOT=str(paths.PROJECT_ROOT),
        YOLO_WORKBOOK_OUTPUTS=str(paths.outputs_root().resolve()),
        YOLO_WORKBOOK_PARAMS=str(paths.params_dir().resolve()),
        RAY_CHDIR_TO_TRIAL_DIR="0",
    )
    return environment


def start_ray(address: str = "", setting: str = "") -> tuple[Any, bool]:
    """Attach to the cluster, or start a local Ray, with the project shipped to its workers.

    Args:
        address (str): The cluster's ``host:port`` a job names (empty: ``RAY_ADDRESS``, else a local Ray).
        setting (str): Where ``address`` was set, for messages (e.g. ``sweep.ray.address``).

    Returns:
        (tuple[Any, bool]): ``(ray, started_here)``: a caller that started Ray shuts it down.

    Raises:
        RayClusterError: Ray is missing, the address does not answer, or Ray cannot attach to it.
    """
    ray = import_ray(setting)
    address, origin = ray_address(address, setting)
    if address:
        check_reachable(address, origin)
    if ray.is_initialized():
        return ray, False
    options: dict[str, Any] = {"include_dashboard": False, "runtime_env": {"env_vars": worker_environment()}}
    if not address:
        options["num_cpus"] = os.cpu_count() or 1
    try:
        ray.init(address=address or None, **options)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        raise RayClusterError(
            f"Ray could not attach to {address or 'a local Ray'}{f' ({origin})' if origin else ''}: {exc}",
            fix="check that the cluster runs the same Ray version (ray --version) and answers at that address",
        ) from None
    return ray, True
