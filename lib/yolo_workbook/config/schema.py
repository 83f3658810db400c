"""The one validator of round files, profiles and ``params/local.yaml``: every rule, in one place.

Three kinds of rule, in this order:

1. the file formats, written once as JSON Schemas: ``schemas/round.schema.json`` (round files) and
   ``schemas/overlay.schema.json`` (profiles; ``$defs/local``: ``params/local.yaml``). jsonschema's
   errors become the workbook's messages: an unknown key with a suggestion, a wrong type with an example;
2. what one file needs beyond its schema: a round file's ``round_id`` is its file name, ``extends``
   and ``model.from`` name files that exist, and every ``train`` / ``predict`` argument follows the
   workbook's and the installed ultralytics' rules (:func:`~yolo_workbook.config.argrules.argument_problem`);
3. the rules of the resolved round: ``data.use`` names defined datasets, lr0 with optimizer auto, the
   starting weights, ``freeze`` against the model's size, the class order of the weights and the data.

A :class:`Validator` collects every problem with file, line, key and fix (``yolo-workbook check``) or
raises (:func:`~yolo_workbook.config.params.load_round`). A shape-only validator (``full=False``, what
``load_round(check=False)`` runs) checks the schemas, ``round_id`` and ``data.use``, what a resolved
round needs to be well formed, and raises the first error.

Examples:
    >>> from yolo_workbook.config.schema import Validator
    >>> validator = Validator()
    >>> validator.check_file(Path("params/r04_lr_cos.yaml"), params_dir=Path("params"))  # doctest: +SKIP
    >>> [str(p) for p in validator.problems]  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import functools
import sys
from pathlib import Path
from typing import Any

from yolo_workbook.config.argrules import argument_problem, model_module_count
from yolo_workbook.config.classmap import planned_transfer
from yolo_workbook.config.layers import (
    OVERLAY_SCHEMA,
    OVERRIDES,
    ROUND_ID,
    ROUND_KEYS,
    ROUND_SCHEMA,
    TRAINING_NOTEBOOKS,
    Documents,
    Round,
    Sources,
    effective_overrides,
    is_round_reference,
    read_sources,
    relative,
    resolve,
    suggest,
)
from yolo_workbook.core import paths, schemas
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.core.files import YamlDocument, YamlReadError
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
def _validator(kind: str) -> Any:
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


def _translate(error: Any, doc: YamlDocument, kind: str, file: str) -> list[Problem]:
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
                fix = f"set it in the round file of {names[1]}; a profile sets sections only: {', '.join(known)}"
                found.append(problem(dotted, "cannot be set by a profile", fix))
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
    """
    if not source:
        return (
            "is not set: no starting weights",
            "add 'model: {from: yolov8n.pt}' or a round id to start from its weights",
        )
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


class Validator:
    """Checks round files, profiles and ``local.yaml``: collecting every problem, or raising.

    Args:
        documents (Documents | None): The files read so far in this call; each file is checked once.
        full (bool): Every rule (``yolo-workbook check``); False: the shape only (schemas, round_id, data.use).
        raising (bool): Raise :class:`ParamsError`: the first error (shape only), or every error of a round
            at once after each step (``full``). False: collect them in :attr:`problems`.

    Attributes:
        problems (list[Problem]): Every problem found so far, each once.
    """

    def __init__(self, documents: Documents | None = None, *, full: bool = True, raising: bool = False) -> None:
        self.documents = Documents() if documents is None else documents
        self.full, self.raising = full, raising
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a round (the others are warnings)."""
        return [p for p in self.problems if p.level == "error"]

    def _add(self, found: list[Problem]) -> list[Problem]:
        new = [p for p in dict.fromkeys(found) if p not in self._seen]
        self._seen.update(new)
        self.problems += new
        first = next((p for p in new if p.level == "error"), None)
        if self.raising and not self.full and first:
            raise as_error(first)
        return new

    def _stop_on_errors(self, round_id: str, profile: str) -> None:
        """In full raising mode: every error found so far in one :class:`ParamsError`."""
        errors = sorted(self.errors, key=lambda p: (p.file, p.line or 10**6))
        if self.raising and errors:
            raise ParamsError(
                f"round '{round_id}' has {len(errors)} problem(s); nothing was run:\n"
                + "\n".join(str(p) for p in errors),
                fix=f"correct the file(s) above, then check again: yolo-workbook check params/{round_id}.yaml"
                + (f" --profile {profile}" if profile else ""),
            )

    # -- one file ---------------------------------------------------------------------------------

    def document_problems(self, doc: YamlDocument, kind: str, *, file: str = "") -> list[Problem]:
        """Every problem of one file on its own (kind ``round``, ``profile``, ``local`` or ``overrides``), by line."""
        memo = ("problems", doc.path.absolute(), kind, self.full)
        if memo not in self.documents.memo:
            file = file or relative(doc.path)
            if not isinstance(doc.data, dict):
                message = f"expected 'key: value' lines, found {type(doc.data).__name__}"
                found = [Problem("error", file, 1, "", message, "write the file as a mapping of keys")]
            else:
                found = [p for e in _validator(kind).iter_errors(doc.data) for p in _translate(e, doc, kind, file)]
                found += self._file_rules(doc, kind, file)
            self.documents.memo[memo] = sorted(dict.fromkeys(found), key=lambda p: p.line or 10**6)
        return self.documents.memo[memo]

    def _file_rules(self, doc: YamlDocument, kind: str, file: str) -> list[Problem]:
        data, lines, found = doc.data, doc.lines, []
        params_dir = doc.path.parent.parent if kind == "profile" else doc.path.parent
        if kind == "round":
            stated, name = data.get("round_id"), doc.path.name
            if isinstance(stated, str) and stated != doc.path.stem:
                message = f"is {stated!r}, but the file is named '{name}'"
                fix = f"set 'round_id: {doc.path.stem}' (papermill passes keys, not file names)"
                found.append(Problem("error", file, lines.get("round_id"), "round_id", message, fix))
            extends = data.get("extends")
            if isinstance(extends, str) and extends and not (doc.path.parent / f"{extends}.yaml").is_file():
                message = f"names round '{extends}', but {doc.path.parent.name}/{extends}.yaml does not exist"
                fix = "name an existing round file (without .yaml)"
                found.append(Problem("error", file, lines.get("extends"), "extends", message, fix))
            if self.full and not ROUND_ID.match(doc.path.stem):
                fix = "rename it, e.g. r08_more_data.yaml (lower case, digits, '_')"
                found.append(Problem("error", file, None, "", f"file name '{name}' is not rNN_<slug>.yaml", fix))
        if not self.full:
            return found
        parts = [("", data)]
        if kind == "profile" and isinstance(data.get("rounds"), dict):
            parts += [(f"rounds.{rid}.", part) for rid, part in data["rounds"].items() if isinstance(part, dict)]
        for prefix, part in parts:
            source = part.get("model", {}).get("from") if isinstance(part.get("model"), dict) else None
            problem = weights_from_problem(source, params_dir) if isinstance(source, str) and source else None
            if problem:
                found.append(Problem("error", file, lines.get(f"{prefix}model.from"), f"{prefix}model.from", *problem))
            for section in ("train", "predict"):
                values = part.get(section)
                for key, value in values.items() if isinstance(values, dict) else ():
                    dotted = f"{prefix}{section}.{key}"
                    problem = argument_problem(str(key), value, section=section)
                    if problem:
                        found.append(Problem("error", file, lines.get(dotted), dotted, *problem))
        return found

    def check_overlay(self, path: Path, kind: str) -> None:
        """Collect the problems of a profile (kind ``profile``) or of ``params/local.yaml`` (``local``)."""
        try:
            self._add(self.document_problems(self.documents.read(path), kind))
        except YamlReadError as exc:
            self._add([Problem("error", relative(path), exc.line, "", exc.reason, exc.fix)])

    # -- one round ----------------------------------------------------------------------------------

    def check_sources(self, sources: Sources) -> None:
        """Check every file of a round: its own file first, then the rounds it extends, local.yaml, the profile."""
        for doc in reversed(sources.chain):
            self._add(self.document_problems(doc, "round"))
        for kind, doc in sources.overlays():
            self._add(self.document_problems(doc, kind))
        self._stop_on_errors(sources.round_id, sources.profile)

    def check_overrides(self, overrides: dict[str, Any], sources: Sources) -> None:
        """Check the values papermill or the command line put over the files, as if they were a file."""
        if overrides:
            # Placed in the round files' folder: a round id in model.from is looked up there, as for a file.
            doc = YamlDocument(sources.params_dir / OVERRIDES, overrides, {})
            self._add(self.document_problems(doc, "overrides", file=OVERRIDES))
            self._stop_on_errors(sources.round_id, sources.profile)

    def check_file(self, path: Path, *, params_dir: Path, profile: str = "", use_local: bool = True) -> None:
        """Collect every problem of one round file in ``params_dir``: its own, its layers', the resolved round's."""
        try:
            own = self.document_problems(self.documents.read(path), "round")
        except YamlReadError as exc:
            own = [Problem("error", relative(path), exc.line, "", exc.reason, exc.fix)]
        self._add(own)
        if any(p.level == "error" for p in own):
            return  # resolving would repeat these errors
        try:
            sources = read_sources(
                path.stem, profile=profile, params_dir=params_dir, use_local=use_local, documents=self.documents
            )
        except ParamsError as exc:
            self._add([Problem("error", relative(path), None, "", exc.message, exc.fix)])
            return
        layers = [*(("round", doc) for doc in sources.chain[:-1]), *sources.overlays()]
        layer_problems = [p for kind, doc in layers for p in self.document_problems(doc, kind)]
        self._add(layer_problems)
        if any(p.level == "error" for p in layer_problems):
            return  # the rounds it extends, local.yaml or the profile: their own errors, reported above
        try:
            rnd = resolve(sources)
        except ParamsError as exc:
            self._add([Problem("error", relative(path), None, "", exc.message, exc.fix)])
            return
        self.check_round(rnd, sources)

    def check_round(self, rnd: Round, sources: Sources) -> list[Problem]:
        """The rules of the resolved round; returns its warnings (full raising mode raises its errors)."""
        found = self._data_use(rnd, sources)
        if self.full:
            found += self._resolved_rules(rnd, sources)
        self._add(found)
        self._stop_on_errors(rnd.round_id, rnd.profile)
        return [p for p in dict.fromkeys(found) if p.level == "warning"]

    def _line_of(self, rnd: Round, sources: Sources, section: str, key: str) -> tuple[str, int | None]:
        """The file that set ``section.key`` in a resolved round, and the key's line there."""
        file, _, specific = rnd.where(section, key).partition(" (rounds.")
        doc = sources.by_name().get(file)
        dotted = f"rounds.{rnd.round_id}.{section}.{key}" if specific else f"{section}.{key}"
        return file, doc.lines.get(dotted) if doc else None

    def _data_use(self, rnd: Round, sources: Sources) -> list[Problem]:
        file, line = self._line_of(rnd, sources, "data", "use")
        known = ", ".join(rnd.datasets) or "(none)"
        return [
            Problem(
                "error",
                file,
                line,
                "data.use",
                f"names dataset '{name}', which no 'datasets:' section defines",
                f"add 'datasets: {{{name}: path/to/data.yaml}}' or use one of: {known}",
            )  # fmt: skip
            for name in rnd.data_use
            if name not in rnd.datasets
        ]

    def _resolved_rules(self, rnd: Round, sources: Sources) -> list[Problem]:
        """What only shows once the layers are merged: optimizer/lr0, starting weights, freeze, classes, values."""
        found: list[Problem] = []
        train = rnd.train
        if rnd.notebook not in ("01_env_setup", "05_predict_json"):
            optimizer = str(train.get("optimizer", "auto")).lower()
            for key in ("lr0", "momentum"):
                if key in train and optimizer == "auto":
                    found.append(
                        Problem(
                            "warning",
                            *self._line_of(rnd, sources, "train", key),
                            f"train.{key}",
                            f"{rnd.round_id}: {key}={train[key]} is ignored because optimizer is 'auto' (ultralytics"
                            " picks its own learning rate and momentum)",
                            "set the optimizer in the same round, e.g. 'optimizer: SGD' (or AdamW), to make it count",
                        )  # fmt: skip
                    )
        if not rnd.weights_from and rnd.notebook != "01_env_setup":
            message, fix = weights_from_problem("") or ("", "")
            where = self._line_of(rnd, sources, "model", "from")
            found.append(Problem("error", *where, "model.from", f"{rnd.round_id}: {message}", fix))
        freeze = train.get("freeze")
        if type(freeze) is int and freeze > 0 and rnd.notebook in TRAINING_NOTEBOOKS:
            weights = self._first_weights(rnd, sources)
            count = model_module_count(weights) if weights else None
            if count is not None and freeze >= count:
                found.append(
                    Problem(
                        "error",
                        *self._line_of(rnd, sources, "train", "freeze"),
                        "train.freeze",
                        f"{rnd.round_id}: freeze={freeze} freezes all {count} modules of {weights} (model.0 .."
                        f" model.{count - 1}); ultralytics stops: no trainable parameters left",
                        f"freeze at most {count - 1} (then only the head, model.{count - 1}, trains)",
                    )  # fmt: skip
                )
        if rnd.notebook in TRAINING_NOTEBOOKS:
            found += self._class_order(rnd, sources)
        # Values that only go wrong after merging layers; the file that set each one is named.
        for section, values in (("train", rnd.train), ("predict", rnd.predict)):
            for key, value in values.items():
                problem = argument_problem(key, value, section=section)
                if problem:
                    where = self._line_of(rnd, sources, section, key)
                    found.append(Problem("error", *where, f"{section}.{key}", *problem))
        return found

    def _load_quietly(self, round_id: str, sources: Sources) -> Round | None:
        """Another round under the same layers, shape-checked only; None when it cannot be loaded."""
        memo = ("round", round_id, sources.profile, sources.params_dir, sources.local is not None)
        if memo not in self.documents.memo:
            try:
                self.documents.memo[memo] = load(
                    round_id,
                    profile=sources.profile,
                    params_dir=sources.params_dir,
                    use_local=sources.local is not None,
                    check=False,
                    documents=self.documents,
                )
            except ParamsError:
                self.documents.memo[memo] = None
        return self.documents.memo[memo]

    def _first_weights(self, rnd: Round, sources: Sources) -> str:
        """The weights or model file at the root of a round's ``model.from`` lineage (``""`` when it cannot be told)."""
        source, seen = rnd.weights_from, {rnd.round_id}
        while is_round_reference(source) and source not in seen:
            seen.add(source)
            start = self._load_quietly(source, sources)
            if start is None:
                return ""
            source = start.weights_from
        return "" if is_round_reference(source) else source

    def _class_order(self, rnd: Round, sources: Sources) -> list[Problem]:
        """Warnings when the starting round's classes and this round's data differ in a way that costs learning."""
        start = self._load_quietly(rnd.weights_from, sources) if is_round_reference(rnd.weights_from) else None
        transfer = planned_transfer(rnd, start=start) if start else None
        if not transfer:
            return []
        found = []
        if transfer["how"] == "by position":
            found.append(
                Problem(
                    "warning", *self._line_of(rnd, sources, "train", "cls_remap"), "train.cls_remap",
                    f"{rnd.round_id}: the data lists the classes of {rnd.weights_from} in another order and cls_remap"
                    f" is off: {transfer['text'].split(': ', 1)[1]}",
                    "remove 'cls_remap: false' (ultralytics then copies the rows by class name)",
                )
            )  # fmt: skip
        if transfer["only_in_weights"] or transfer["only_in_data"]:
            parts = []
            if transfer["only_in_weights"]:
                names = ", ".join(transfer["only_in_weights"])
                parts.append(f"{names} in the weights of {rnd.weights_from}, not in the data")
            if transfer["only_in_data"]:
                parts.append(f"{', '.join(transfer['only_in_data'])} in the data, not in the weights (learned anew)")
            found.append(
                Problem(
                    "warning", *self._line_of(rnd, sources, "model", "from"), "model.from",
                    f"{rnd.round_id}: classes differ: {'; '.join(parts)}",
                    "check the class names of both exports (a typo or a renamed class?); 'data check' lists them",
                )
            )  # fmt: skip
        return found


def load(
    round_id: str,
    *,
    profile: str = "",
    injected: dict[str, Any] | None = None,
    params_dir: Path | None = None,
    use_local: bool = True,
    for_notebook: str = "",
    check: bool = True,
    documents: Documents | None = None,
) -> Round:
    """Read, check and resolve a round: what :func:`yolo_workbook.config.params.load_round` runs (see there).

    Every file is read once (:class:`Documents`); its shape is always checked (the first error is
    raised); with ``check`` also ultralytics' argument rules and the rules of the resolved round (every
    error at once, in one :class:`ParamsError`; warnings are printed).
    """
    documents = Documents() if documents is None else documents
    sources = read_sources(round_id, profile=profile, params_dir=params_dir, use_local=use_local, documents=documents)
    validator = Validator(documents, full=check, raising=True)
    validator.check_sources(sources)
    overrides = effective_overrides(sources, injected)
    validator.check_overrides(overrides, sources)
    rnd = resolve(sources, overrides, for_notebook=for_notebook)
    for warning in validator.check_round(rnd, sources):
        print(warning, file=sys.stderr)
    return rnd
