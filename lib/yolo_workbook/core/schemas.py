"""Validation against the workbook's JSON Schemas (``schemas/*.json``), without jsonschema's slow start.

jsonschema imports the optional package ``rfc3987_syntax`` when it is installed (jupyter-events, and
so JupyterLab, installs it), only to check the ``iri`` and ``iri-reference`` formats. That import
compiles about 35 Earley grammars: 1.5 to 3 s on every process that imports jsonschema, papermill's
runner and a notebook's kernel each (jsonschema issue 1428). No schema here uses a format, and
:func:`validate` checks none (jsonschema checks formats only when given a format checker), so this
module imports jsonschema without it. Validation results are the same.

Examples:
    >>> from yolo_workbook.core import schemas
    >>> schemas.validate({"frame_id": 0}, {"type": "object"})
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from types import ModuleType
from typing import Any

from yolo_workbook.core import paths

_SLOW_OPTIONAL = "rfc3987_syntax"


def jsonschema() -> ModuleType:
    """The ``jsonschema`` module; imported here first, it goes without its ``iri`` format checks (see above).

    Call it before importing what imports jsonschema (papermill, nbformat) to spare that process the
    grammar compilation. Once jsonschema is imported, this only returns it.
    """
    if "jsonschema" not in sys.modules and _SLOW_OPTIONAL not in sys.modules:
        sys.modules[_SLOW_OPTIONAL] = None  # type: ignore[assignment]  # its import fails: jsonschema skips it
        try:
            import jsonschema as module
        finally:
            del sys.modules[_SLOW_OPTIONAL]  # a later explicit import of it works as usual
        return module
    import jsonschema as module

    return module


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` is valid against ``schema``."""
    jsonschema().validate(instance, schema)


@functools.cache
def _read(name: str) -> dict[str, Any]:
    return json.loads((paths.SCHEMAS_DIR / name).read_text(encoding="utf-8"))


def load(name: str) -> dict[str, Any]:
    """One of the workbook's schemas by file name (``round.schema.json``, ``metrics.schema.json``, ...).

    Each file is read once per process; every caller gets its own copy.
    """
    return copy.deepcopy(_read(name))
