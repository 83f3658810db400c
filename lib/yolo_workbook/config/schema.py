"""The round file formats, written once as JSON Schemas, and their errors in the workbook's words.

``schemas/round.schema.json`` (round files) and ``schemas/overlay.schema.json`` (profiles;
``$defs/local``: ``params/local.yaml``; ``$defs/round_part``: their ``rounds.<round_id>`` parts). jsonschema's
errors become the workbook's messages: an unknown key with a suggestion, a wrong type with an example. The
rules around the schemas (file names, ``model.from``, ultralytics' arguments, the resolved round) are in
:mod:`yolo_workbook.config.validate`, the one validator.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

from yolo_workbook.config.keys import OVERLAY_SCHEMA, ROUND_KEYS, ROUND_SCHEMA
from yolo_workbook.config.outputs import EXPORT_FORMATS, export_reference, is_round_reference
from yolo_workbook.config.round import suggest
from yolo_workbook.core import paths, schemas
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.core.files import YamlDocument
from yolo_workbook.core.problems import Problem

# Where each kind of file finds its schema. ``overrides``: papermill / command-line values, checked key by key.
_ROOTS = {
    "round": "round.schema.json",
    "profile": "overlay.schema.json",
    "local": "overlay.schema.json#/$defs/local",
    "overrides": "round.schema.json",
}
_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "number": "a number",
    "integer": "an integer",
    "array": "a list",
    "object": "a mapping of keys",
    "null": "empty",
}


@functools.cache
def _registry() -> Any:
    """The workbook's file schemas, by the names their ``$ref`` use."""
    schemas.jsonschema()  # first, without its slow optional import (see core.schemas)
    from referencing import Registry, Resource

    return Registry().with_resources(
        [
            ("round.schema.json", Resource.from_contents(ROUND_SCHEMA)),
            ("overlay.schema.json", Resource.from_contents(OVERLAY_SCHEMA)),
        ]
    )


@functools.cache
def validator_for(kind: str) -> Any:
    jsonschema = schemas.jsonschema()
    if kind == "overrides":  # any round key, each by its own schema; none required
        schema = {"properties": {key: {"$ref": f"round.schema.json#/properties/{key}"} for key in ROUND_KEYS}}
    else:
        schema = {"$ref": _ROOTS[kind]}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def schema_at(kind: str, names: list[str]) -> dict[str, Any]:
    """The schema of the key ``names`` (``["data", "use"]``) in a file of ``kind``; ``{}`` where none is declared."""
    resolved = _registry().resolver().lookup(_ROOTS[kind])
    schema, resolver = resolved.contents, resolved.resolver
    for name in [*names, None]:
        while isinstance(schema, dict) and "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            schema, resolver = resolved.contents, resolved.resolver
        if name is None or not isinstance(schema, dict):
            break
        extra = schema.get("additionalProperties")
        schema = schema.get("properties", {}).get(name, extra if isinstance(extra, dict) else {})
    return schema if isinstance(schema, dict) else {}


def _flow(value: Any) -> str:
    """A value as YAML flow style, for examples in fixes: ``[a, b]``, ``{k: v}``, ``true``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


def _example(name: str, schema: dict[str, Any]) -> str:
    examples = schema.get("examples") or []
    return f"{name}: {_flow(examples[0])}" if examples else f"{name}: ..."


def _describe(schema: dict[str, Any]) -> str:
    if schema.get("title"):
        return str(schema["title"])
    kinds = schema.get("type")
    return " or ".join(_TYPE_WORDS.get(k, k) for k in (kinds if isinstance(kinds, list) else [kinds]) if k)


def _walk(data: Any, path: Any) -> tuple[list[str], Any]:
    """The mapping keys along an error's path (a list index ends it: the list is reported) and the value there."""
    names, value = [], data
    for part in path:
        if not isinstance(value, dict):
            break
        names.append(str(part))
        value = value.get(part)
    return names, value


def translate_error(error: Any, doc: YamlDocument, kind: str, file: str) -> list[Problem]:
    """One jsonschema error as the workbook's problems (an unknown-keys error names each key)."""
    names, value = _walk(doc.data, error.absolute_path)
    key, name, lines = ".".join(names), names[-1] if names else "", doc.lines

    def problem(dotted: str, message: str, fix: str, line: int | None = None) -> Problem:
        return Problem("error", file, line or lines.get(dotted), dotted, message, fix)

    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        found = []
        for extra in (k for k in error.instance if k not in known):
            dotted = f"{key}.{extra}" if key else str(extra)
            if len(names) == 2 and names[0] == "rounds" and extra in ROUND_KEYS:
                overlay = "a profile" if kind == "profile" else "params/local.yaml"
                fix = f"set it in the round file of {names[1]}; {overlay} sets sections only: {', '.join(known)}"
                found.append(problem(dotted, f"cannot be set by {overlay}", fix))
            else:
                found.append(problem(dotted, "unknown key", suggest(str(extra), known)))
        return found
    if error.validator == "required":
        found = []
        for missing in (k for k in error.validator_value if k not in error.instance):
            fix = f"add e.g. '{_example(missing, schema_at(kind, [*names, missing]))}'"
            if (kind, missing) == ("round", "round_id"):
                fix = f"add 'round_id: {doc.path.stem}' (papermill passes keys, not file names)"
            found.append(problem(f"{key}.{missing}" if key else missing, "missing", fix, lines.get(key)))
        return found
    schema = schema_at(kind, names)
    at_key = len(names) == len(error.absolute_path)
    if error.validator == "type" and at_key and error.validator_value == "object":
        fix = f"write it as\n        {name}:\n          key: value"
        return [problem(key, f"must be a mapping of keys, found {value!r}", fix)]
    if error.validator == "enum" and at_key:
        close = difflib.get_close_matches(str(value), [str(v) for v in error.validator_value], n=1, cutoff=0.6)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(map(str, error.validator_value))}"
        return [problem(key, f"unknown {name} {value!r}", fix)]
    return [problem(key, f"must be {_describe(schema)}, got {value!r}", f"e.g. {_example(name, schema)}")]


def weights_from_problem(source: str, params_dir: Path | None = None) -> tuple[str, str] | None:
    """What is wrong with a ``model.from`` value, as ``(message, fix)`` after the key; None when it can be used.

    Empty, a round id with no round file, a weights path that does not exist, or neither a round id nor
    a ``.pt`` / ``.yaml`` file. A weights name without a folder (``yolov8n.pt``) may still be downloaded.
    ``ROUND:onnx`` / ``ROUND:openvino`` name a round's export (``yolo-workbook export``; predict rounds only).
    """
    if not source:
        return (
            "is not set: no starting weights",
            "add 'model: {from: yolov8n.pt}' or a round id to start from its weights",
        )
    exported = export_reference(source)
    if exported:  # a round's export (predict rounds only: config.validate says so for a training round)
        round_id, fmt = exported
        if fmt not in EXPORT_FORMATS:
            close = difflib.get_close_matches(fmt, EXPORT_FORMATS, n=1, cutoff=0.5)
            return (
                f"names format '{fmt}' of round '{round_id}', which is not an export format"
                f" (known: {', '.join(EXPORT_FORMATS)})",
                f"write {round_id}:{close[0] if close else EXPORT_FORMATS[0]} (or {round_id} for its best.pt)",
            )
        source = round_id
    if is_round_reference(source):
        if not ((params_dir or paths.params_dir()) / f"{source}.yaml").is_file():
            return f"names round '{source}', but params/{source}.yaml does not exist", "name an existing round"
        return None
    if "/" in source or "\\" in source:
        if not paths.project_path(source).is_file():
            weights = paths.project_path(source)
            return f"weights file not found: {weights}", "check the path (relative to the project root)"
        return None
    if not source.endswith((".pt", ".yaml", ".yml")):
        return f"'{source}' is neither a round id nor a .pt/.yaml file", "e.g. from: r02_freeze_new_data, or yolov8n.pt"
    return None


def as_error(problem: Problem) -> ParamsError:
    """One problem as the error that stops a load: ``file:line: key: message``, with its fix."""
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return ParamsError(f"{where}: {problem.key + ': ' if problem.key else ''}{problem.message}", fix=problem.fix)
