"""Every ultralytics training of a round: the round's own run, its repeats and a sweep's trials.

One function calls ``model.train``, so that no training can miss the round's switches: the loggers
(:func:`yolo_workbook.training.loggers.active_loggers`: only those the round turns on; ultralytics' user
settings switch MLflow on by default, which would write ``mlflow.db`` and ``mlruns/`` into the working
folder), said once per training.

Examples:
    >>> from ultralytics import YOLO
    >>> fit(rnd, YOLO("yolov8n.yaml"), data="data.yaml", project="outputs/demo/r01", name="train")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.training.loggers import active_loggers

LOGGER = logging.getLogger(__name__)


def fit(rnd: Round, model: Any, **arguments: Any) -> Any:
    """``model.train(**arguments)`` with the round's loggers, and only those.

    Args:
        rnd (Round): The round whose ``loggers`` switch applies.
        model (ultralytics.YOLO): The model to train (its callbacks added by the caller).
        **arguments (Any): ultralytics' train arguments (``data``, ``project``, ``name``, ``resume``, ...).

    Returns:
        (Any): What ``model.train`` returns.
    """
    with active_loggers(rnd) as where:
        for name, place in where.items():
            LOGGER.info("%s: logging to %s at %s", rnd.round_id, name, place)
        return model.train(**arguments)
