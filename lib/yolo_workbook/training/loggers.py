"""ultralytics' MLflow and TensorBoard loggers, switched per round (``loggers:``), off by default, local only.

ultralytics turns its integrations on from a user-wide settings file (MLflow is on there by
default, and logs wherever ``MLFLOW_TRACKING_URI`` points). The workbook decides per round
instead: for the duration of one training, every integration is off except those the round turns
on, MLflow writes to a file store under ``outputs/<profile>/mlflow`` with telemetry off, and
TensorBoard writes event files into the round's ``train/`` folder. The settings file is not touched.

Examples:
    >>> from yolo_workbook.training.loggers import active_loggers
    >>> with active_loggers(rnd) as where:  # doctest: +SKIP
    ...     model.train(...)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

from yolo_workbook.config.params import Round
from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError

# Every integration ultralytics reads from its settings when a trainer starts.
INTEGRATIONS = ("clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")
MODULES = {"mlflow": "mlflow", "tensorboard": "tensorboard"}


def mlflow_store(profile: str) -> Path:
    """``outputs/<profile>/mlflow``: the MLflow file store of a profile."""
    return paths.outputs_root() / (profile or "default") / "mlflow"


def check_loggers(rnd: Round) -> None:
    """A logger switched on whose package is missing stops the round before training, naming the file."""
    for name, on in rnd.loggers.items():
        if on and importlib.util.find_spec(MODULES[name]) is None:
            raise ParamsError(
                f"{rnd.where('loggers', name)}: loggers.{name} is on, but '{MODULES[name]}' is not installed",
                fix=f"pip install -e '.[loggers]' (mlflow-skinny, tensorboard), or set 'loggers: {{{name}: false}}'",
            )


@contextlib.contextmanager
def active_loggers(rnd: Round) -> Iterator[dict[str, str]]:
    """Set ultralytics' integrations for one training (in memory only); restore them afterwards.

    Yields:
        (dict[str, str]): Where each switched-on logger writes.
    """
    from ultralytics.utils import SETTINGS

    check_loggers(rnd)
    wanted = {key: bool(rnd.loggers.get(key, False)) for key in INTEGRATIONS}
    where: dict[str, str] = {}
    environment: dict[str, str] = {}
    if wanted["mlflow"]:
        store = mlflow_store(rnd.profile)
        store.mkdir(parents=True, exist_ok=True)
        environment = {
            "MLFLOW_TRACKING_URI": store.resolve().as_uri(),
            "MLFLOW_EXPERIMENT_NAME": f"yolo-workbook-{rnd.profile or 'default'}",
            "MLFLOW_RUN": rnd.round_id,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            # MLflow 3.x keeps the file store "in maintenance" and refuses it unless allowed; it needs no database.
            "MLFLOW_ALLOW_FILE_STORE": "true",
            "DO_NOT_TRACK": "true",
        }
        where["mlflow"] = environment["MLFLOW_TRACKING_URI"]
    if wanted["tensorboard"]:
        where["tensorboard"] = str(rnd.output_dir / "train")
    saved_settings = {key: SETTINGS.get(key) for key in INTEGRATIONS}
    saved_environment = {key: os.environ.get(key) for key in environment}
    try:
        for key, value in wanted.items():
            dict.__setitem__(SETTINGS, key, value)  # not SETTINGS[key] = ...: that rewrites the user's settings file
        os.environ.update(environment)
        yield where
    finally:
        for key, value in saved_settings.items():
            dict.__setitem__(SETTINGS, key, value)
        for key, value in saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
