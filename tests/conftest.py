"""Shared fixtures. Tiers: unit tests (no marker), `notebook` (papermill / nbval kernels), `slow` (training).

Every test sees a copy of ``params/`` (without ``local.yaml``) through ``YOLO_WORKBOOK_PARAMS``, set for
this process and so for every CLI run and kernel it starts: a developer's own ``params/local.yaml``
(``device: 0``) changes no test. In that copy the ``ci`` profile reads the ci demo data written into
this session's temporary folder, so the tests neither read nor rewrite the repository's
``outputs/datasets/ci`` (which ``yolo-workbook demo-data --size ci`` writes for a user's ``--profile ci``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from yolo_workbook.core import logs, paths
from yolo_workbook.data.demo import write_demo_data

ROOT = paths.PROJECT_ROOT
# The training rounds of params/, in lineage order: the diary's seven and the rare-class round.
ROUNDS = [
    "r01_base",
    "r02_freeze_new_data",
    "r03_merge",
    "r04_lr_cos",
    "r05_augment",
    "r06_cls_weight",
    "r07_lr_freeze6",
    "r08_rare_class",
    "r09_sweep_sitae",
]
# A root round file for the small lineages the config tests write (tests/unit/config).
BASE_ROUND = """round_id: r01_base
notebook: 02_base_train
datasets: {first: data/a.yaml}
data: {use: [first]}
model: {from: yolov8n.pt}
train:
  epochs: 50
  imgsz: 640
"""
BIN = Path(sys.executable).parent
# What pytest puts into the environment. A child must not inherit it: ultralytics reads
# PYTEST_CURRENT_TEST as "under test" (loggers off, relative run paths under site-packages).
PYTEST_VARIABLES = ("PYTEST_",)  # PYTEST_CURRENT_TEST, PYTEST_VERSION, PYTEST_XDIST_WORKER ...


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment as a user's shell would have it (no pytest variables), plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(PYTEST_VARIABLES)}
    env.update(extra or {})
    return env


def point_profile_at(params_folder: Path, profile: str, data_root: Path) -> Path:
    """In a params copy, point ``profile``'s ``outputs/datasets/<profile>/...`` paths into ``data_root``.

    Line numbers and comments stay as they are. Fails when the profile names no such path, or when a
    dataset or video it names afterwards does not exist under ``data_root``.
    """
    path = params_folder / "profiles" / f"{profile}.yaml"
    text = path.read_text(encoding="utf-8")
    old = f"outputs/datasets/{profile}/"
    assert old in text, f"{path}: no path under {old} to point at {data_root}"
    path.write_text(text.replace(old, f"{data_root.resolve().as_posix()}/"), encoding="utf-8")
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    named = [*(content.get("datasets") or {}).values(), (content.get("predict") or {}).get("source")]
    missing = [value for value in named if value and not Path(value).exists()]
    assert not missing, f"{path}: not written under {data_root}: {missing}"
    return path


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """A folder of this test run that ``build`` fills once, also when pytest-xdist's workers each ask for it.

    The workers share the parent of their temporary folders: the first to take the lock builds, the others
    wait for it and then read what it built (pytest-xdist's documented way to share a session fixture).
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    with FileLock(f"{folder}.lock"):
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed halfway
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def ci_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny ci demo datasets and video (deterministic), in this test run's temporary folder."""
    folder = built_once(tmp_path_factory, "ci-datasets", lambda folder: write_demo_data(folder / "ci", size="ci"))
    root = folder / "ci"
    return {
        "first": root / "classroom.v1i.yolov8" / "data.yaml",
        "second": root / "classroom.v2i.yolov8" / "data.yaml",
        "video": root / "classroom_video.mp4",
    }


@pytest.fixture(scope="session", autouse=True)
def session_params(tmp_path_factory: pytest.TempPathFactory, ci_data: dict[str, Path]) -> Iterator[Path]:
    """The params folder of every test: a copy of params/ without local.yaml, its ci profile on ``ci_data``."""

    def copy(project: Path) -> None:  # one copy for both xdist workers: recorded paths and messages stay the same
        shutil.copytree(ROOT / "params", project / "params", ignore=shutil.ignore_patterns("local.yaml"))
        point_profile_at(project / "params", "ci", ci_data["first"].parents[1])

    folder = built_once(tmp_path_factory, "project", copy) / "params"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOLO_WORKBOOK_PARAMS", str(folder))
        yield folder


@pytest.fixture()
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty outputs root for one test (kernels inherit it through the environment)."""
    root = tmp_path / "outputs"
    monkeypatch.setenv("YOLO_WORKBOOK_OUTPUTS", str(root))
    return root


@pytest.fixture()
def params_dir(tmp_path: Path) -> Path:
    """An empty params folder for tests that write their own round files."""
    folder = tmp_path / "params"
    (folder / "profiles").mkdir(parents=True)
    return folder


@pytest.fixture()
def params_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_params: Path) -> Path:
    """A copy of params/ that a test may edit or write into; the CLI, kernels and this process all use it."""
    folder = tmp_path / "params"
    shutil.copytree(session_params, folder)
    monkeypatch.setenv("YOLO_WORKBOOK_PARAMS", str(folder))
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    """Write a small YAML file for a test."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``yolo-workbook`` command of this environment, as a user would from their project folder.

    The environment is this process's without pytest's variables. The command starts in the folder that
    holds the params folder in use (``YOLO_WORKBOOK_PARAMS``), so ``params/r01_base.yaml`` names a
    round file of that folder, as it does in the project root for a user.
    """
    environment = child_environment(env)
    params_folder = Path(environment.get("YOLO_WORKBOOK_PARAMS") or ROOT / "params")
    return subprocess.run(
        [str(BIN / "yolo-workbook"), *args],
        cwd=params_folder.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


@pytest.fixture(scope="session")
def ci_pipeline(tmp_path_factory: pytest.TempPathFactory, ci_data: dict[str, Path]) -> Path:
    """Every round on the ci profile through the real CLI, papermill and kernels; its outputs root.

    Shared by the tests that read it: a test that runs notebooks again works on a copy.
    """

    def run(folder: Path) -> None:
        done = cli("pipeline", "--profile", "ci", "--quiet", env={"YOLO_WORKBOOK_OUTPUTS": str(folder / "outputs")})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    return built_once(tmp_path_factory, "ci-pipeline", run) / "outputs"


@pytest.fixture(autouse=True)
def workbook_log_lines() -> Iterator[None]:
    """The workbook's log lines where a face shows them (info on stdout, warnings on stderr), for capsys."""
    handler = logs.show()
    yield
    logs.hide(handler)
