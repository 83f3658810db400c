"""Rounds, from one place: :func:`load_round` (the one call notebooks, the runner and the CLI make) and
the round's data model and key lists.

``load_round`` is :func:`yolo_workbook.config.validate.load`: it reads the round's files once, checks
them with the one validator and resolves them with :mod:`yolo_workbook.config.layers` (``extends``,
``params/local.yaml``, the profile, papermill's values). This module only gathers those names, so that
callers import rounds from one place.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> rnd = load_round("r04_lr_cos", profile="demo")  # doctest: +SKIP
    >>> rnd.train["cos_lr"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

from yolo_workbook.config.layers import (
    NOTEBOOK_PARAMETERS,
    NOTEBOOKS,
    OVERLAY_SCHEMA,
    OVERRIDES,
    OWN_KEYS,
    PROFILE_KEYS,
    ROUND_ID,
    ROUND_KEYS,
    ROUND_SCHEMA,
    SECTION_KEYS,
    SECTIONS,
    SETTINGS,
    TRAINING_NOTEBOOKS,
    Documents,
    Round,
    best_weights_of,
    deep_merge,
    is_round_reference,
    list_rounds,
    next_round_id,
    papermill_parameters_cell,
    read_round_file,
    relative,
    resolve,
    round_file,
    save_resolved,
)
from yolo_workbook.config.validate import load as load_round

__all__ = [
    "NOTEBOOKS",
    "NOTEBOOK_PARAMETERS",
    "OVERLAY_SCHEMA",
    "OVERRIDES",
    "OWN_KEYS",
    "PROFILE_KEYS",
    "ROUND_ID",
    "ROUND_KEYS",
    "ROUND_SCHEMA",
    "SECTIONS",
    "SETTINGS",
    "SECTION_KEYS",
    "TRAINING_NOTEBOOKS",
    "Documents",
    "Round",
    "best_weights_of",
    "deep_merge",
    "is_round_reference",
    "list_rounds",
    "load_round",
    "next_round_id",
    "papermill_parameters_cell",
    "read_round_file",
    "relative",
    "resolve",
    "round_file",
    "save_resolved",
]
