"""The round file's keys, read from its JSON Schema (``schemas/round.schema.json``), where the format is written once.

Every list of keys the workbook needs (a notebook's parameters, what ``extends`` inherits, the sections
whose keys it owns, the notebooks) is derived here from the schema, never written a second time.
"""

from __future__ import annotations

import re
from typing import Any

from yolo_workbook.core import schemas

ROUND_SCHEMA = schemas.load("round.schema.json")  # the round file format; profiles, local.yaml: overlay.schema.json
OVERLAY_SCHEMA = schemas.load("overlay.schema.json")
_PROPERTIES: dict[str, Any] = ROUND_SCHEMA["properties"]
# Top-level keys of a round file. Each becomes a papermill parameter of the round's notebook.
ROUND_KEYS = tuple(_PROPERTIES)
# Notebook parameters that are not round keys: the profile to overlay, and force (train again).
NOTEBOOK_PARAMETERS = ("profile", "force")
# Keys that belong to one file and are never inherited through ``extends`` (nor set by a profile).
OWN_KEYS = ("round_id", "extends", "notebook", "why", "expect")
# Keys of one value, not a section (``repeat``): taken from the round's own file, never from a round it extends
# (repeating multiplies the cost: a round that extends a repeated one should not repeat unasked); params/local.yaml,
# a profile and papermill may set them.
SETTINGS = tuple(key for key in ROUND_KEYS if key not in OWN_KEYS and _PROPERTIES[key].get("type") != "object")
SECTIONS = tuple(key for key in ROUND_KEYS if key not in OWN_KEYS and key not in SETTINGS)
# What layer 1 takes from the round's own file only: the settings, and ``sweep`` (a round that extends a sweep
# round trains once, with the arguments its file says; the sweep's choice is in the sweep round's sweep.best.yaml).
NOT_INHERITED = (*SETTINGS, "sweep")
# The sections whose keys the workbook owns (train and predict hold ultralytics' arguments).
SECTION_KEYS = {
    key: tuple(_PROPERTIES[key]["properties"])
    for key in SECTIONS
    if _PROPERTIES[key].get("additionalProperties") is False
}
PROFILE_KEYS = tuple(OVERLAY_SCHEMA["properties"])
NOTEBOOKS = tuple(_PROPERTIES["notebook"]["enum"])
TRAINING_NOTEBOOKS = NOTEBOOKS[1:4]
ROUND_ID = re.compile(_PROPERTIES["round_id"]["pattern"])
OVERRIDES = "overrides (papermill -p or command line)"  # the name of the papermill layer in ``Round.files``
