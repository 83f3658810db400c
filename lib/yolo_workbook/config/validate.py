"""The one validator of round files, profiles and ``params/local.yaml``: every rule, in one place.

Three kinds of rule, in this order:

1. the file formats, written once as JSON Schemas (:mod:`yolo_workbook.config.schema`):
   ``schemas/round.schema.json`` (round files) and
   ``schemas/overlay.schema.json`` (profiles; ``$defs/local``: ``params/local.yaml``). jsonschema's
   errors become the workbook's messages: an unknown key with a suggestion, a wrong type with an example;
2. what one file needs beyond its schema: a round file's ``round_id`` is its file name, ``extends``
   and ``model.from`` name files that exist, and every ``train`` / ``predict`` argument follows the
   workbook's and the installed ultralytics' rules (:func:`~yolo_workbook.config.argrules.argument_problem`);
3. the rules of the resolved round: ``data.use`` names defined datasets, lr0 with optimizer auto, the
   starting weights, ``freeze`` against the model's size, the class order of the weights and the data, the
   class names the round writes against its data's (:mod:`~yolo_workbook.config.classnames`).

A :class:`Validator` collects every problem with file, line, key and fix (``yolo-workbook check``) or
raises (:func:`~yolo_workbook.config.params.load_round`). A shape-only validator (``full=False``, what
``load_round(check=False)`` runs) checks the schemas, ``round_id`` and ``data.use``, what a resolved
round needs to be well formed, and raises the first error.

Examples:
    >>> from yolo_workbook.config.validate import Validator
    >>> validator = Validator()
    >>> validator.check_file(Path("params/r04_lr_cos.yaml"), params_dir=Path("params"))  # doctest: +SKIP
    >>> [str(p) for p in validator.problems]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from yolo_workbook.config.argrules import argument_problem, model_module_count
from yolo_workbook.config.classmap import planned_names, planned_transfer
from yolo_workbook.config.classnames import class_name_problems, conf_class_problems, conf_classes
from yolo_workbook.config.keys import OVERRIDES, ROUND_ID, TRAINING_NOTEBOOKS
from yolo_workbook.config.layers import Documents, Sources, chain_value, effective_overrides, read_sources, resolve
from yolo_workbook.config.outputs import export_reference, is_round_reference
from yolo_workbook.config.papermill import refuse_unknown_papermill_parameters
from yolo_workbook.config.round import Round, relative
from yolo_workbook.config.schema import as_error, translate_error, validator_for, weights_from_problem
from yolo_workbook.config.sweeps import budget_problem, sweep_problems, where_set
from yolo_workbook.core import logs
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.core.files import YamlDocument, YamlReadError
from yolo_workbook.core.problems import Problem

LOGGER = logging.getLogger(__name__)
COMMAND_LINE = "command line"  # the file of a problem in a value given as a command-line option (its key: the option)


class Validator:
    """Checks round files, profiles and ``local.yaml``: collecting every problem, or raising.

    Args:
        documents (Documents | None): The files read so far in this call; each file is checked once.
        full (bool): Every rule (``yolo-workbook check``); False: the shape only (schemas, round_id, data.use).
        raising (bool): Raise :class:`ParamsError`: the first error (shape only), or every error of a round
            at once after each step (``full``). False: collect them in :attr:`problems`.
        options (dict[str, str] | None): The command-line option that gave each injected value
            (``predict.tracker`` -> ``--tracker``): a problem of such a value names the option, not a file.

    Attributes:
        problems (list[Problem]): Every problem found so far, each once.
    """

    def __init__(
        self,
        documents: Documents | None = None,
        *,
        full: bool = True,
        raising: bool = False,
        options: dict[str, str] | None = None,
    ) -> None:
        self.documents = Documents() if documents is None else documents
        self.full, self.raising = full, raising
        self.options = dict(options or {})
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a round (the others are warnings)."""
        return [p for p in self.problems if p.level == "error"]

    def _as_option(self, problem: Problem) -> Problem:
        """A problem of a value given as a command-line option: named by the option, its fix written as one."""
        option = self.options.get(problem.key)
        if not option or problem.file not in (OVERRIDES, option):
            return problem
        leaf = problem.key.rpartition(".")[2]
        fix = re.sub(rf"\b{re.escape(leaf)}: ", f"{option} ", problem.fix).replace(problem.key, option)
        message = problem.message.replace(problem.key, option)
        return Problem(problem.level, COMMAND_LINE, None, option, message, fix)

    def _add(self, found: list[Problem]) -> list[Problem]:
        found = [self._as_option(p) for p in found] if self.options else found
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
        if not (self.raising and errors):
            return
        options = list(dict.fromkeys(p.key for p in errors if p.file == COMMAND_LINE))
        one = len(options) == 1
        give = (
            f"give {', '.join(options)} {'a value as its fix' if one else 'values as their fixes'} above"
            f" {'says' if one else 'say'}, or leave {'it' if one else 'them'} out to use the round's own"
        )
        check = f"yolo-workbook check params/{round_id}.yaml" + (f" --profile {profile}" if profile else "")
        if len(options) == len(errors):  # the files are fine: only what was typed needs another value
            fix = f"{give}; no params file needs a change"
        else:
            fix = f"correct the file(s) above, then check again: {check}" + (f"; and {give}" if options else "")
        raise ParamsError(
            f"round '{round_id}' has {len(errors)} problem(s); nothing was run:\n" + "\n".join(map(str, errors)),
            fix=fix,
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
                found = [
                    p for e in validator_for(kind).iter_errors(doc.data) for p in translate_error(e, doc, kind, file)
                ]
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
        if kind in ("profile", "local") and isinstance(data.get("rounds"), dict):
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
        found += self._lineage(rnd, sources)
        exported = export_reference(rnd.weights_from) if rnd.notebook in TRAINING_NOTEBOOKS else None
        if exported:
            where = self._line_of(rnd, sources, "model", "from")
            message = (
                f"{rnd.round_id}: model.from names an export ({rnd.weights_from}); training starts from .pt weights"
            )
            found.append(Problem("error", *where, "model.from", message, f"write 'from: {exported[0]}' (its best.pt)"))
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
        named = [*sweep_problems(rnd), *class_name_problems(rnd), *self._conf_classes(rnd, sources)]
        for dotted, message, fix in named:
            file = where_set(rnd, dotted).partition(" (rounds.")[0]
            doc = sources.by_name().get(file)
            line = (doc.lines.get(dotted) or doc.lines.get(f"rounds.{rnd.round_id}.{dotted}")) if doc else None
            found.append(Problem("error", file, line, dotted, f"{rnd.round_id}: {message}", fix))
        budget = budget_problem(rnd)
        if budget:
            dotted, message, fix = budget
            where = self._line_of(rnd, sources, *dotted.split("."))
            found.append(Problem("warning", *where, dotted, f"{rnd.round_id}: {message}", fix))
        # Values that only go wrong after merging layers; the file that set each one is named.
        for section, values in (("train", rnd.train), ("predict", rnd.predict)):
            for key, value in values.items():
                problem = argument_problem(key, value, section=section)
                if problem:
                    where = self._line_of(rnd, sources, section, key)
                    found.append(Problem("error", *where, f"{section}.{key}", *problem))
        return found

    def _conf_classes(self, rnd: Round, sources: Sources) -> list[tuple[str, str, str]]:
        """A per-class ``predict.conf`` against the classes of the round whose weights it predicts with."""
        if not conf_classes(rnd) or not is_round_reference(rnd.weights_from):
            return []  # weights from a file: the prediction compares with the loaded model's names
        start = self._load_quietly(rnd.weights_from, sources)
        return conf_class_problems(rnd, planned_names(start) if start is not None else None)

    def _lineage(self, rnd: Round, sources: Sources) -> list[Problem]:
        """A warning when a layer for every round replaces a ``model.from`` that names a round (the lineage).

        local.yaml's or a profile's top level, or papermill's parameters: the round then starts from other
        weights than the round its file names, and nothing else would say so. A ``rounds.<round_id>`` part
        and a command-line option (``--weights``) change one round on purpose, and an export of the same
        round (``r08_rare_class:openvino``) keeps it: no warning.
        """
        before, new = chain_value(sources, "model.from"), rnd.weights_from
        setter = rnd.where("model", "from")
        every_round = [relative(doc.path) for _, doc in sources.overlays()]
        if not (isinstance(before, str) and is_round_reference(before)) or setter not in [*every_round, OVERRIDES]:
            return []
        if new == before or (export_reference(new) or ("",))[0] == before:
            return []
        file, line = self._line_of(rnd, sources, "model", "from")
        if setter == OVERRIDES:
            message = f"the parameters replace model.from with {new}: it trains from {new}, not {before}'s weights"
            fix = (
                f"leave model out of the parameters to start from {before}'s weights; to start this round"
                f" elsewhere for good, set model.from in {relative(sources.chain[-1].path)}"
            )
        else:
            message = (
                f"set for every round here, it makes every round that starts from another round's weights start"
                f" from {new} instead"
            )
            root = self._lineage_root(before, sources)
            fix = (
                f"to change one round only, set it under rounds in {file}: 'rounds: {{{root}: {{model: {{from:"
                f" {new}}}}}}}'; a top-level model.from replaces the start of every round"
            )
        return [Problem("warning", file, line, "model.from", f"{rnd.round_id} (starts from {before}): {message}", fix)]

    def _lineage_root(self, round_id: str, sources: Sources) -> str:
        """The first round of a ``model.from`` lineage, as the round files say: the one that starts from a file."""
        seen = {round_id}
        while True:
            try:
                own = read_sources(round_id, params_dir=sources.params_dir, use_local=False, documents=self.documents)
            except ParamsError:
                return round_id
            source = chain_value(own, "model.from")
            if not (isinstance(source, str) and is_round_reference(source)) or source in seen:
                return round_id
            round_id = source
            seen.add(round_id)

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
    options: dict[str, str] | None = None,
) -> Round:
    """Resolve a round: its ``extends`` chain, then local, profile and injected overlays, each file checked.

    Every file is read once (:class:`Documents`) and checked by :mod:`yolo_workbook.config.validate`: its
    shape always (the round file schema; the first error is raised); with ``check`` also ultralytics'
    argument rules and the rules of the resolved round, as ``yolo-workbook check`` runs them.

    Args:
        round_id (str): The round's file stem in ``params/``.
        profile (str): A profile name in ``params/profiles/`` (``""`` for none).
        injected (dict | None): Values a notebook received from papermill. Values that are empty
            or equal to the round file's own are ignored; others override the round file.
        params_dir (Path | None): Folder holding the round files (default: ``params/``).
        use_local (bool): Overlay ``params/local.yaml`` when it exists.
        for_notebook (str): When given, the round must be one that this notebook runs.
        check (bool): Run every check of ``yolo-workbook check`` on the round: every error at once, in
            one :class:`ParamsError`; warnings are logged.
        documents (Documents | None): Files already read in this call (a caller that loads several rounds).
        options (dict[str, str] | None): For values of ``injected`` that a command line gave, the option of each
            (``{"predict.tracker": "--tracker"}``): their problems, and the round's :meth:`Round.where`, name it.

    Returns:
        (Round): The resolved round.

    Raises:
        ParamsError: A file is missing, malformed or (with ``check``) fails a rule.

    Examples:
        >>> load("r01_base", profile="ci").train["epochs"]  # doctest: +SKIP
        1
    """
    if injected is not None:
        refuse_unknown_papermill_parameters(for_notebook or "this notebook")
    documents = Documents() if documents is None else documents
    sources = read_sources(round_id, profile=profile, params_dir=params_dir, use_local=use_local, documents=documents)
    validator = Validator(documents, full=check, raising=True, options=options)
    validator.check_sources(sources)
    overrides = effective_overrides(sources, injected)
    validator.check_overrides(overrides, sources)
    rnd = resolve(sources, overrides, for_notebook=for_notebook, options=options)
    for warning in validator.check_round(rnd, sources):
        LOGGER.warning("%s", warning, extra={logs.NAMES_LEVEL: True})  # file:line: warning: ...
    return rnd
