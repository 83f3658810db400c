"""Rounds, from one place: :func:`load_round` (the one call notebooks, the runner and the CLI make) and
the round's data model and key lists.

``load_round`` is :func:`yolo_workbook.config.validate.load`: it reads the round's files once, checks
them with the one validator and resolves them with :mod:`yolo_workbook.config.layers` (``extends``,
``params/local.yaml``, the profile, papermill's values) into a :class:`~yolo_workbook.config.round.Round`.
This module only gathers the names the rest of the package needs, so that a name has one import path:
outside ``config`` every module imports them from here (import-linter forbids the modules they live in);
inside ``config`` a module imports a name from the module it lives in (:mod:`~yolo_workbook.config.keys`,
:mod:`~yolo_workbook.config.round`, :mod:`~yolo_workbook.config.outputs`, :mod:`~yolo_workbook.config.layers`,
:mod:`~yolo_workbook.config.papermill`).

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> rnd = load_round("r04_lr_cos", profile="demo")  # doctest: +SKIP
    >>> rnd.train["cos_lr"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

from yolo_workbook.config.keys import (
    NOT_INHERITED,
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
)
from yolo_workbook.config.layers import (
    Documents,
    deep_merge,
    list_rounds,
    next_round_id,
    read_round_file,
    resolve,
    round_file,
)
from yolo_workbook.config.outputs import (
    EXPORT_FILES,
    EXPORT_FORMATS,
    best_weights_of,
    export_reference,
    exported_weights_of,
    is_round_reference,
    save_resolved,
)
from yolo_workbook.config.papermill import papermill_parameters_cell
from yolo_workbook.config.round import Round, relative
from yolo_workbook.config.validate import load as load_round

__all__ = [
    "EXPORT_FILES",
    "EXPORT_FORMATS",
    "NOTEBOOKS",
    "NOT_INHERITED",
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
    "export_reference",
    "exported_weights_of",
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
