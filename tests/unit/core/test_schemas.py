"""schemas: validation against the workbook's JSON Schemas, without jsonschema's slow optional import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from yolo_workbook.core import schemas


def test_jsonschema_is_imported_without_compiling_the_iri_grammars():
    """The runner imports papermill (nbformat, jsonschema) on every round: that optional import cost 1.5-3 s."""
    probe = (
        "import sys\n"
        "from yolo_workbook.core import schemas\n"
        "schemas.jsonschema()\n"
        "import papermill\n"
        "print(sorted(name for name in sys.modules if name.startswith(('rfc3987_syntax', 'lark'))))\n"
        "import rfc3987_syntax\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # not left blocked: a later explicit import works
    assert done.stdout.strip() == "[]"  # its grammars (lark) were never built


def test_validation_reports_what_the_schema_refuses():
    schema = {"type": "object", "required": ["round_id"], "properties": {"round_id": {"type": "string"}}}
    schemas.validate({"round_id": "r01_base"}, schema)
    with pytest.raises(schemas.jsonschema().ValidationError, match="'round_id' is a required property"):
        schemas.validate({}, schema)


def test_every_schema_file_loads_once_and_each_caller_gets_its_own_copy():
    first = schemas.load("metrics.schema.json")
    first["properties"].clear()  # a caller that edits its copy changes nobody else's
    assert "round_id" in schemas.load("metrics.schema.json")["properties"]
    for name in ("round.schema.json", "overlay.schema.json", "detections.schema.json"):
        schemas.jsonschema().Draft202012Validator.check_schema(schemas.load(name))
