"""``yolo-workbook check``: every problem of every round file, with file, line and fix, in a second.

Nothing here imports torch or ultralytics: ultralytics' own argument rules are read from its
installed source (``cfg/default.yaml`` and the ``CFG_*_KEYS`` sets of ``cfg/__init__.py``), so
the check follows the installed version without copying its tables.

Examples:
    >>> from yolo_workbook.config.lint import check_rounds, format_problems
    >>> problems = check_rounds()  # every round in params/  # doctest: +SKIP
    >>> print(format_problems(problems))  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.config.argrules import check_argument, model_module_count
from yolo_workbook.config.classmap import planned_transfer
from yolo_workbook.config.params import (
    NOTEBOOKS,
    OWN_KEYS,
    PROFILE_KEYS,
    ROUND_ID,
    ROUND_KEYS,
    SECTION_KEYS,
    SECTIONS,
    SWITCH_KEYS,
    TRAINING_NOTEBOOKS,
    Round,
    is_round_reference,
    list_rounds,
    load_round,
)
from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.core.problems import Problem

# Arguments that the workbook sets itself, so that every round lands in its own folder.
RESERVED_TRAIN_KEYS = ("data", "model", "project", "name", "exist_ok", "resume", "mode", "task")
RESERVED_PREDICT_KEYS = ("stream", "project", "name", "model", "mode", "task")


def _err(file: str, line: int | None, key: str, message: str, fix: str = "") -> Problem:
    return Problem("error", file, line, key, message, fix)


# -- YAML with line numbers -------------------------------------------------------------------


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(paths.PROJECT_ROOT))
    except ValueError:
        return str(path)


def load_with_lines(path: Path) -> tuple[dict[str, Any], dict[str, int], list[Problem]]:
    """Parse a YAML mapping; return it with ``dotted.key -> line`` and any syntax problem."""
    file = _relative(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, {}, [_err(file, None, "", f"cannot read the file ({exc.strerror})", "check the path")]
    except UnicodeDecodeError:
        return {}, {}, [_err(file, None, "", "not UTF-8 text", "save the file as UTF-8")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return (
            {},
            {},
            [
                _err(
                    file,
                    mark.line + 1 if mark else None,
                    "",
                    f"not valid YAML: {problem}",
                    "check indentation and quoting at that line",
                )
            ],
        )
    if data is None:
        return {}, {}, []
    if not isinstance(data, dict):
        return (
            {},
            {},
            [
                _err(
                    file,
                    1,
                    "",
                    f"expected 'key: value' lines, found {type(data).__name__}",
                    "write the file as a mapping of keys",
                )
            ],
        )
    lines: dict[str, int] = {}

    def walk(mapping: yaml.MappingNode, prefix: str) -> None:
        for key_node, value_node in mapping.value:
            dotted = f"{prefix}{key_node.value}"
            lines[dotted] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.MappingNode) and prefix.count(".") < 3:
                walk(value_node, f"{dotted}.")

    if isinstance(node, yaml.MappingNode):
        walk(node, "")
    return data, lines, []


# -- checks -----------------------------------------------------------------------------------


def _suggest(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"


def _check_sections(data: dict[str, Any], lines: dict[str, int], file: str, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    for section in SECTIONS:
        if section not in data:
            continue
        value, key = data[section], f"{prefix}{section}"
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append(
                _err(
                    file,
                    lines.get(key),
                    key,
                    f"must be a mapping, found {value!r}",
                    f"write it as\n        {section}:\n          key: value",
                )
            )
            continue
        for sub, subvalue in value.items():
            dotted, line = f"{key}.{sub}", lines.get(f"{key}.{sub}")
            if section in SECTION_KEYS and sub not in SECTION_KEYS[section]:
                problems.append(_err(file, line, dotted, "unknown key", _suggest(str(sub), SECTION_KEYS[section])))
            elif section == "train" and sub in RESERVED_TRAIN_KEYS:
                problems.append(
                    _err(
                        file,
                        line,
                        dotted,
                        "is set by the workbook",
                        "remove it; 'model.from' and 'data.use' choose weights and data",
                    )
                )
            elif section == "predict" and sub in RESERVED_PREDICT_KEYS:
                problems.append(_err(file, line, dotted, "is set by the workbook", "remove it"))
            elif section in ("train", "predict") and not (section == "predict" and sub == "source"):
                found = check_argument(str(sub), subvalue, section=section) or _missing_weights(str(sub), subvalue)
                if found:
                    problems.append(_err(file, line, dotted, *found))
            elif section in SWITCH_KEYS and not isinstance(subvalue, bool):
                problems.append(_err(file, line, dotted, f"must be true or false, got {subvalue!r}", f"{sub}: true"))
            elif section == "datasets" and not isinstance(subvalue, str):
                problems.append(
                    _err(
                        file, line, dotted, "must be a path to a data.yaml", f"e.g. {sub}: datasets/my-export/data.yaml"
                    )
                )
        if section == "data" and "oversample" in value:
            over, key_os = value["oversample"], f"{key}.oversample"
            share = over.get("target_share") if isinstance(over, dict) else None
            classes = over.get("classes") if isinstance(over, dict) else None
            if not isinstance(over, dict) or set(over) - {"classes", "target_share"}:
                problems.append(
                    _err(
                        file,
                        lines.get(key_os),
                        key_os,
                        "must hold 'classes' and 'target_share'",
                        "e.g. oversample: {classes: [sitae], target_share: 0.25}",
                    )
                )
            elif not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
                problems.append(
                    _err(
                        file,
                        lines.get(key_os),
                        f"{key_os}.classes",
                        "must be a list of class names",
                        "e.g. classes: [sitae]",
                    )
                )
            elif isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
                problems.append(
                    _err(
                        file,
                        lines.get(key_os),
                        f"{key_os}.target_share",
                        f"must be a number between 0 and 1, got {share!r}",
                        "e.g. target_share: 0.25",
                    )
                )
        if section == "data" and "use" in value:
            use = value["use"]
            if not (isinstance(use, str) or (isinstance(use, list) and all(isinstance(u, str) for u in use))):
                problems.append(
                    _err(
                        file,
                        lines.get(f"{key}.use"),
                        f"{key}.use",
                        "must be a dataset name or a list of names",
                        "e.g. use: [classroom_v1]",
                    )
                )
    return problems


def check_round_file(path: Path) -> tuple[dict[str, Any], dict[str, int], list[Problem]]:
    """Every problem of one round file on its own (shape, names, arguments)."""
    data, lines, problems = load_with_lines(path)
    if problems:
        return data, lines, problems
    file, stem = _relative(path), path.stem
    if not ROUND_ID.match(stem):
        problems.append(
            _err(
                file,
                None,
                "",
                f"file name '{path.name}' is not rNN_<slug>.yaml",
                "rename it, e.g. r08_more_data.yaml (lower case, digits, '_')",
            )
        )
    for key in data:
        if key not in ROUND_KEYS:
            problems.append(_err(file, lines.get(str(key)), str(key), "unknown key", _suggest(str(key), ROUND_KEYS)))
    stated = data.get("round_id")
    if stated != stem:
        problems.append(
            _err(
                file,
                lines.get("round_id"),
                "round_id",
                f"is {stated!r}, but the file is named '{path.name}'",
                f"set 'round_id: {stem}' (papermill passes keys, not file names)",
            )
        )
    notebook = data.get("notebook")
    if notebook is None:
        problems.append(_err(file, None, "notebook", "missing", f"add e.g. 'notebook: {NOTEBOOKS[3]}'"))
    elif notebook not in NOTEBOOKS:
        problems.append(
            _err(
                file,
                lines.get("notebook"),
                "notebook",
                f"unknown notebook {notebook!r}",
                _suggest(str(notebook), NOTEBOOKS),
            )
        )
    for key in ("why", "expect", "extends"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.append(_err(file, lines.get(key), key, "must be text", f"{key}: ..."))
    extends = data.get("extends")
    if isinstance(extends, str) and extends and not (path.parent / f"{extends}.yaml").is_file():
        problems.append(
            _err(
                file,
                lines.get("extends"),
                "extends",
                f"names round '{extends}', but {path.parent.name}/{extends}.yaml does not exist",
                "name an existing round file (without .yaml)",
            )
        )
    problems += _check_sections(data, lines, file)
    source = (data.get("model") or {}).get("from") if isinstance(data.get("model"), dict) else None
    if source is not None:
        found = check_model_from(str(source), path.parent)
        if found:
            problems.append(_err(file, lines.get("model.from"), "model.from", *found))
    return data, lines, problems


def check_model_from(source: str, params_dir: Path) -> tuple[str, str] | None:
    """A weights_from round that has no file, or a weights path that does not exist: ``(message, fix)``."""
    if is_round_reference(source):
        if not (params_dir / f"{source}.yaml").is_file():
            return f"names round '{source}', but params/{source}.yaml does not exist", "name an existing round"
        return None
    if "/" in source or "\\" in source:
        if not paths.project_path(source).is_file():
            return (
                f"weights file not found: {paths.project_path(source)}",
                "check the path (relative to the project root)",
            )
        return None
    if not source.endswith((".pt", ".yaml", ".yml")):
        return f"'{source}' is neither a round id nor a .pt/.yaml file", "e.g. from: r02_freeze_new_data, or yolov8n.pt"
    return None


def _missing_weights(key: str, value: Any) -> tuple[str, str] | None:
    """``pretrained: path/to/x.pt`` that does not exist (ultralytics loads it after the kernel started)."""
    is_path = key == "pretrained" and isinstance(value, str) and ("/" in value or "\\" in value)
    if is_path and not paths.project_path(value).is_file():
        return f"weights file not found: {paths.project_path(value)}", "check the path (relative to the project root)"
    return None


def check_overlay_file(path: Path, *, profile: bool) -> list[Problem]:
    """Every problem of a profile or of ``params/local.yaml``."""
    data, lines, problems = load_with_lines(path)
    if problems:
        return problems
    file = _relative(path)
    known = PROFILE_KEYS if profile else tuple(k for k in PROFILE_KEYS if k not in ("profile", "rounds"))
    for key in data:
        if key not in known:
            problems.append(_err(file, lines.get(str(key)), str(key), "unknown key", _suggest(str(key), known)))
    problems += _check_sections(data, lines, file)
    for rid, part in (data.get("rounds") or {}).items() if isinstance(data.get("rounds"), dict) else []:
        if not isinstance(part, dict):
            problems.append(_err(file, lines.get(f"rounds.{rid}"), f"rounds.{rid}", "must be a mapping", ""))
            continue
        for key in part:
            if key not in ROUND_KEYS or key in OWN_KEYS:
                problems.append(
                    _err(
                        file,
                        lines.get(f"rounds.{rid}.{key}"),
                        f"rounds.{rid}.{key}",
                        "cannot be set by a profile",
                        _suggest(str(key), ROUND_KEYS),
                    )
                )
        problems += _check_sections(part, lines, file, prefix=f"rounds.{rid}.")
    return problems


def _line_of(rnd: Round, section: str, key: str) -> tuple[str, int | None]:
    """The file that set ``section.key`` in a resolved round, and the key's line there."""
    file = rnd.where(section, key).split(" (rounds.")[0]
    path = paths.PROJECT_ROOT / file
    if not path.is_file():
        return file, None
    _, lines, _ = load_with_lines(path)
    specific = f"rounds.{rnd.round_id}.{section}.{key}"
    return file, lines.get(specific) or lines.get(f"{section}.{key}")


def _class_order_problems(rnd: Round, *, params_dir: Path, use_local: bool) -> list[Problem]:
    """Warnings when the starting round's classes and this round's data differ in a way that costs what was learned."""
    transfer = planned_transfer(rnd, params_dir=params_dir, use_local=use_local)
    if not transfer:
        return []
    problems = []
    if transfer["how"] == "by position":
        file, line = _line_of(rnd, "train", "cls_remap")
        problems.append(
            Problem(
                "warning", file, line, "train.cls_remap",
                f"{rnd.round_id}: the data lists the classes of {rnd.weights_from} in another order and cls_remap is"
                f" off: {transfer['text'].split(': ', 1)[1]}",
                "remove 'cls_remap: false' (ultralytics then copies the rows by class name)",
            )
        )  # fmt: skip
    if transfer["only_in_weights"] or transfer["only_in_data"]:
        file, line = _line_of(rnd, "model", "from")
        parts = []
        if transfer["only_in_weights"]:
            names = ", ".join(transfer["only_in_weights"])
            parts.append(f"{names} in the weights of {rnd.weights_from}, not in the data")
        if transfer["only_in_data"]:
            parts.append(f"{', '.join(transfer['only_in_data'])} in the data, not in the weights (learned anew)")
        problems.append(
            Problem(
                "warning", file, line, "model.from",
                f"{rnd.round_id}: classes differ: {'; '.join(parts)}",
                "check the class names of both exports (a typo or a renamed class?); 'data check' lists them",
            )
        )  # fmt: skip
    return problems


def check_resolved(
    rnd: Round, *, params_dir: Path, use_local: bool = True, known: dict[str, str] | None = None
) -> list[Problem]:
    """Problems that only show once the layers are merged: optimizer/lr0, weights_from rounds, weights, freeze, values.

    ``known`` maps round ids already resolved to their ``model.from`` (it saves loading them again).
    """
    problems: list[Problem] = []
    train = rnd.train
    if rnd.notebook not in ("01_env_setup", "05_predict_json"):
        optimizer = str(train.get("optimizer", "auto")).lower()
        for key in ("lr0", "momentum"):
            if key in train and optimizer == "auto":
                file, line = _line_of(rnd, "train", key)
                problems.append(
                    Problem(
                        "warning",
                        file,
                        line,
                        f"train.{key}",
                        f"{rnd.round_id}: {key}={train[key]} is ignored because optimizer is 'auto' (ultralytics picks"
                        " its own learning rate and momentum)",
                        "set the optimizer in the same round, e.g. 'optimizer: SGD' (or AdamW), to make it count",
                    )
                )
    if not rnd.weights_from and rnd.notebook != "01_env_setup":
        file, line = _line_of(rnd, "model", "from")
        problems.append(
            _err(
                file,
                line,
                "model.from",
                f"{rnd.round_id}: no starting weights",
                "add 'model: {from: yolov8n.pt}' or a round id to start from its weights",
            )
        )
    freeze = train.get("freeze")
    if type(freeze) is int and freeze > 0 and rnd.notebook in TRAINING_NOTEBOOKS:
        weights = _first_weights(rnd, params_dir=params_dir, use_local=use_local, known=known or {})
        count = model_module_count(weights) if weights else None
        if count is not None and freeze >= count:
            file, line = _line_of(rnd, "train", "freeze")
            problems.append(
                _err(
                    file,
                    line,
                    "train.freeze",
                    f"{rnd.round_id}: freeze={freeze} freezes all {count} modules of {weights} (model.0 .."
                    f" model.{count - 1}); ultralytics stops: no trainable parameters left",
                    f"freeze at most {count - 1} (then only the head, model.{count - 1}, trains)",
                )
            )
    if rnd.notebook in TRAINING_NOTEBOOKS:
        problems += _class_order_problems(rnd, params_dir=params_dir, use_local=use_local)
    # Values that only go wrong after merging layers; the file that set each one is named.
    for section, values in (("train", rnd.train), ("predict", rnd.predict)):
        for key, value in values.items():
            found = None if key == "source" and section == "predict" else check_argument(key, value, section=section)
            if found:
                file, line = _line_of(rnd, section, key)
                problems.append(_err(file, line, f"{section}.{key}", *found))
    return problems


def _first_weights(rnd: Round, *, params_dir: Path, use_local: bool, known: dict[str, str]) -> str:
    """The weights or model file at the root of a round's ``model.from`` lineage (``""`` when it cannot be told)."""
    source, seen = rnd.weights_from, {rnd.round_id}
    while is_round_reference(source) and source not in seen:
        seen.add(source)
        if source not in known:
            try:
                source_round = load_round(
                    source, profile=rnd.profile, params_dir=params_dir, use_local=use_local, check=False
                )
            except ParamsError:
                return ""
            known[source] = source_round.weights_from
        source = known[source]
    return "" if is_round_reference(source) else source


def _check_target(
    path: Path, base: Path, *, profile: str, use_local: bool, overlays_ok: bool, known: dict[str, str]
) -> list[Problem]:
    """One round file of ``base``: its own problems, then (when it and the overlays are sound) the resolved round's."""
    _, _, problems = check_round_file(path)
    if any(p.level == "error" for p in problems) or not overlays_ok:
        return problems  # the errors above fail the check already; resolving would repeat them
    try:
        rnd = load_round(path.stem, profile=profile, params_dir=base, use_local=use_local, check=False)
    except ParamsError as exc:
        return [*problems, _err(_relative(path), None, "", exc.message, exc.fix)]
    known[rnd.round_id] = rnd.weights_from
    resolved = check_resolved(rnd, params_dir=base, use_local=use_local, known=known)
    return problems + [p for p in resolved if p not in problems]


def _check_elsewhere(
    path: Path, base: Path, *, profile: str, use_local: bool, overlays_ok: bool, known: dict[str, str]
) -> list[Problem]:
    """A round file outside ``params/`` (a draft): checked as if it were ``params/<its name>.yaml``.

    Its ``extends`` and ``model.from`` resolve in ``params/``, the profile and local.yaml are overlaid, and every
    check runs on a copy of ``params/`` holding the draft; problems name the draft's real path and lines.
    """
    with tempfile.TemporaryDirectory(prefix="ywb-check-") as tmp:
        mirror = Path(tmp).resolve() / "params"
        if base.is_dir():
            shutil.copytree(base, mirror, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        mirror.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, mirror / path.name)
        found = _check_target(
            mirror / path.name, mirror, profile=profile, use_local=use_local, overlays_ok=overlays_ok, known={}
        )
    renames = [(str(mirror / path.name), _relative(path)), (str(mirror), _relative(base))]
    renames += [(_relative(mirror / path.name), _relative(path)), (_relative(mirror), _relative(base))]

    def renamed(text: str) -> str:
        for old, new in renames:
            text = text.replace(old, new)
        return text

    return [Problem(p.level, renamed(p.file), p.line, p.key, renamed(p.message), renamed(p.fix)) for p in found]


def check_rounds(
    files: list[str | Path] | None = None, *, profile: str = "", params_dir: Path | None = None, use_local: bool = True
) -> list[Problem]:
    """Check round files (default: every round in ``params/``), the profile and the local overlay.

    A file outside ``params/`` (a draft) is checked as if it were ``params/<its name>.yaml``. Returns every problem
    found, errors and warnings, in file order; nothing is raised.
    """
    base = params_dir or paths.params_dir()
    targets = [Path(f) for f in files] if files else [base / f"{rid}.yaml" for rid in list_rounds(base)]
    problems: list[Problem] = []
    if profile:
        profile_path = base / "profiles" / f"{profile}.yaml"
        if not profile_path.is_file():
            known = ", ".join(sorted(p.stem for p in (base / "profiles").glob("*.yaml")))
            return [_err(_relative(profile_path), None, "", f"profile '{profile}' not found", f"use one of: {known}")]
        problems += check_overlay_file(profile_path, profile=True)
    local = base / "local.yaml"
    if use_local and local.is_file():
        problems += check_overlay_file(local, profile=False)
    overlays_ok = not any(p.level == "error" for p in problems)
    known: dict[str, str] = {}  # round id -> model.from, for the rounds resolved so far
    for target in targets:
        path = target if target.is_absolute() else (Path.cwd() / target)
        if not path.is_file():
            problems.append(_err(_relative(path), None, "", "file not found", "check the path"))
            continue
        check = _check_target if path.parent.resolve() == base.resolve() else _check_elsewhere
        problems += check(path, base, profile=profile, use_local=use_local, overlays_ok=overlays_ok, known=known)
    return _group_inherited(problems)


def _group_inherited(problems: list[Problem]) -> list[Problem]:
    """One problem per file, line and key: a value inherited by several rounds is reported once."""
    grouped: dict[tuple[Any, ...], list[Problem]] = {}
    for problem in problems:
        message = re.sub(r"^[a-z]\d{2}_[a-z0-9_]+: ", "", problem.message)
        grouped.setdefault((problem.level, problem.file, problem.line, problem.key, message, problem.fix), []).append(
            problem
        )
    merged = []
    for (level, file, line, key, message, fix), members in grouped.items():
        rounds = [m.message.split(":", 1)[0] for m in members if m.message != message]
        if len(rounds) > 1:
            message = f"{message} (in rounds {', '.join(rounds)})"
        elif rounds:
            message = members[0].message
        merged.append(Problem(level, file, line, key, message, fix))
    return sorted(merged, key=lambda p: (p.file, p.line or 10**6))


def format_problems(problems: list[Problem]) -> str:
    """All problems, then a one-line count."""
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    body = "\n".join(str(p) for p in problems)
    summary = f"{errors} error(s), {warnings} warning(s)" if problems else "ok: no problems"
    return f"{body}\n{summary}" if body else summary


def raise_on_errors(
    rnd_id: str, *, profile: str, params_dir: Path | None = None, use_local: bool = True
) -> list[Problem]:
    """Check one round with its overlays; raise one :class:`ParamsError` listing every error.

    Returns the warnings (the caller prints them).
    """
    base = params_dir or paths.params_dir()
    problems = check_rounds([base / f"{rnd_id}.yaml"], profile=profile, params_dir=base, use_local=use_local)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise ParamsError(
            f"round '{rnd_id}' has {len(errors)} problem(s); nothing was run:\n" + "\n".join(str(p) for p in errors),
            fix=f"correct the file(s) above, then check again: yolo-workbook check params/{rnd_id}.yaml"
            + (f" --profile {profile}" if profile else ""),
        )
    return [p for p in problems if p.level == "warning"]
