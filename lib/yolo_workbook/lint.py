"""``yolo-workbook check``: every problem of every round file, with file, line and fix, in a second.

Nothing here imports torch or ultralytics: ultralytics' own argument rules are read from its
installed source (``cfg/default.yaml`` and the ``CFG_*_KEYS`` sets of ``cfg/__init__.py``), so
the check follows the installed version without copying its tables.

Examples:
    >>> from yolo_workbook.lint import check_rounds, format_problems
    >>> problems = check_rounds()  # every round in params/  # doctest: +SKIP
    >>> print(format_problems(problems))  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook import paths
from yolo_workbook.errors import ParamsError
from yolo_workbook.params import (
    NOTEBOOKS,
    OWN_KEYS,
    PROFILE_KEYS,
    ROUND_ID,
    ROUND_KEYS,
    SECTION_KEYS,
    Round,
    list_rounds,
    load_round,
)

# Train arguments that the workbook sets itself (see train.RESERVED_TRAIN_KEYS).
RESERVED_TRAIN_KEYS = ("data", "model", "project", "name", "exist_ok", "resume", "mode", "task")
RESERVED_PREDICT_KEYS = ("stream", "project", "name", "model", "mode", "task")
_NUMBER_WITH_JUNK = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*[,;]\s*$")


@dataclass(frozen=True)
class Problem:
    """One finding of the check.

    Attributes:
        level (str): ``error`` (the round must not run) or ``warning`` (it runs, but look).
        file (str): The params file, relative to the project root.
        line (int | None): 1-based line of the key in that file, when known.
        key (str): The dotted key, e.g. ``train.scale``.
        message (str): What is wrong.
        fix (str): What to do.
    """

    level: str
    file: str
    line: int | None
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        text = f"{where}: {self.level}:{key} {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


# -- ultralytics' own rules, read from its source ---------------------------------------------


@functools.cache
def ultralytics_rules() -> dict[str, Any]:
    """Argument names, defaults and typed key sets of the installed ultralytics, without importing it."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.origin:
        raise ParamsError("ultralytics is not installed", fix="pip install -e . (or make install)")
    cfg_dir = Path(spec.origin).parent / "cfg"
    defaults = yaml.safe_load((cfg_dir / "default.yaml").read_text(encoding="utf-8"))
    sets: dict[str, Any] = {}
    for node in ast.parse((cfg_dir / "__init__.py").read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        name = getattr(node.targets[0], "id", "")
        if not name.startswith("CFG_"):
            continue
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "frozenset" and value.args:
            value = value.args[0]
        try:
            sets[name] = ast.literal_eval(value)
        except ValueError:
            continue
    return {
        "defaults": defaults,
        "float": set(sets.get("CFG_FLOAT_KEYS", ())),
        "fraction": set(sets.get("CFG_FRACTION_KEYS", ())),
        "int": set(sets.get("CFG_INT_KEYS", ())),
        "int_min": dict(sets.get("CFG_INT_MIN", {})),
        "bool": set(sets.get("CFG_BOOL_KEYS", ())),
        "str": set(sets.get("CFG_STR_KEYS", ())),
    }


def _example(key: str) -> str:
    default = ultralytics_rules()["defaults"].get(key)
    if default is None:
        default = 0.5 if key in ultralytics_rules()["fraction"] else 1
    return f"e.g. {key}: {str(default).lower() if isinstance(default, bool) else default}"


def check_argument(key: str, value: Any) -> tuple[str, str] | None:
    """Check one ultralytics argument as ultralytics' ``check_cfg`` would; ``(message, fix)`` or None."""
    rules = ultralytics_rules()
    if key not in rules["defaults"]:
        close = difflib.get_close_matches(key, list(rules["defaults"]), n=1, cutoff=0.6)
        fix = f"did you mean '{close[0]}'?" if close else "see https://docs.ultralytics.com/usage/cfg/"
        return f"'{key}' is not an ultralytics argument", fix
    if value is None:
        return None
    if isinstance(value, str) and _NUMBER_WITH_JUNK.match(value):
        number = value.strip().rstrip(",;").strip()
        return f"{value!r} is text, not a number (a trailing comma copied from a command line?)", f"write {number}"
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key in rules["float"] and not is_number:
        return f"must be a number, got {type(value).__name__} {value!r}", _example(key)
    if key == "scale":
        if isinstance(value, list) and len(value) == 2 and all(isinstance(x, (int, float)) for x in value):
            return None
        if not is_number:
            return f"must be a number in [0, 1], got {value!r}", "e.g. scale: 0.5"
        if not 0 <= value <= 1:
            return f"{value} is outside [0, 1]", "e.g. scale: 0.5"
        return None
    if key in rules["fraction"] and key != "fraction":
        if not is_number:
            return f"must be a number in [0, 1], got {type(value).__name__} {value!r}", _example(key)
        if not 0 <= value <= 1:
            return f"{value} is outside [0, 1]", _example(key)
    if key in rules["int"]:
        integral = isinstance(value, int) and not isinstance(value, bool)
        if not integral and not (isinstance(value, float) and value.is_integer()):
            return f"must be an integer, got {type(value).__name__} {value!r}", _example(key)
        minimum = rules["int_min"].get(key)
        if minimum is not None and value < minimum:
            return f"must be >= {minimum}, got {value}", f"e.g. {key}: {max(minimum, rules['defaults'][key] or 0)}"
    if key in rules["bool"] and not isinstance(value, bool):
        return f"must be true or false, got {value!r}", f"{key}: true"
    if key in rules["str"] and not isinstance(value, str):
        return f"must be text, got {value!r}", _example(key)
    if key == "freeze" and isinstance(value, (str, float, bool)):
        return (
            f"is {value!r}; ultralytics silently freezes nothing unless it is an integer or a list",
            "write an integer, e.g. 'freeze: 10' (the first 10 modules)",
        )
    return None


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
        return {}, {}, [Problem("error", file, None, "", f"cannot read the file ({exc.strerror})", "check the path")]
    except UnicodeDecodeError:
        return {}, {}, [Problem("error", file, None, "", "not UTF-8 text", "save the file as UTF-8")]
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
                Problem(
                    "error",
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
                Problem(
                    "error",
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
    for section in ("datasets", "data", "model", "train", "predict"):
        if section not in data:
            continue
        value, key = data[section], f"{prefix}{section}"
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    "error",
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
                problems.append(
                    Problem("error", file, line, dotted, "unknown key", _suggest(str(sub), SECTION_KEYS[section]))
                )
            elif section == "train" and sub in RESERVED_TRAIN_KEYS:
                problems.append(
                    Problem(
                        "error",
                        file,
                        line,
                        dotted,
                        "is set by the workbook",
                        "remove it; 'model.from' and 'data.use' choose weights and data",
                    )
                )
            elif section == "predict" and sub in RESERVED_PREDICT_KEYS:
                problems.append(Problem("error", file, line, dotted, "is set by the workbook", "remove it"))
            elif section in ("train", "predict") and not (section == "predict" and sub == "source"):
                found = check_argument(str(sub), subvalue)
                if found:
                    problems.append(Problem("error", file, line, dotted, *found))
            elif section == "datasets" and not isinstance(subvalue, str):
                problems.append(
                    Problem(
                        "error",
                        file,
                        line,
                        dotted,
                        "must be a path to a data.yaml",
                        f"e.g. {sub}: datasets/my-export/data.yaml",
                    )
                )
        if section == "data" and "use" in value:
            use = value["use"]
            if not (isinstance(use, str) or (isinstance(use, list) and all(isinstance(u, str) for u in use))):
                problems.append(
                    Problem(
                        "error",
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
            Problem(
                "error",
                file,
                None,
                "",
                f"file name '{path.name}' is not rNN_<slug>.yaml",
                "rename it, e.g. r08_more_data.yaml (lower case, digits, '_')",
            )
        )
    for key in data:
        if key not in ROUND_KEYS:
            problems.append(
                Problem("error", file, lines.get(str(key)), str(key), "unknown key", _suggest(str(key), ROUND_KEYS))
            )
    stated = data.get("round_id")
    if stated != stem:
        problems.append(
            Problem(
                "error",
                file,
                lines.get("round_id"),
                "round_id",
                f"is {stated!r}, but the file is named '{path.name}'",
                f"set 'round_id: {stem}' (papermill passes keys, not file names)",
            )
        )
    notebook = data.get("notebook")
    if notebook is None:
        problems.append(Problem("error", file, None, "notebook", "missing", f"add e.g. 'notebook: {NOTEBOOKS[3]}'"))
    elif notebook not in NOTEBOOKS:
        problems.append(
            Problem(
                "error",
                file,
                lines.get("notebook"),
                "notebook",
                f"unknown notebook {notebook!r}",
                _suggest(str(notebook), NOTEBOOKS),
            )
        )
    for key in ("why", "expect", "extends"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.append(Problem("error", file, lines.get(key), key, "must be text", f"{key}: ..."))
    extends = data.get("extends")
    if isinstance(extends, str) and extends and not (path.parent / f"{extends}.yaml").is_file():
        problems.append(
            Problem(
                "error",
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
            problems.append(Problem("error", file, lines.get("model.from"), "model.from", *found))
    return data, lines, problems


def check_model_from(source: str, params_dir: Path) -> tuple[str, str] | None:
    """A parent round that has no file, or a weights path that does not exist: ``(message, fix)``."""
    if ROUND_ID.match(source) and not source.endswith((".pt", ".yaml", ".yml")):
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


def check_overlay_file(path: Path, *, profile: bool) -> list[Problem]:
    """Every problem of a profile or of ``params/local.yaml``."""
    data, lines, problems = load_with_lines(path)
    if problems:
        return problems
    file = _relative(path)
    known = PROFILE_KEYS if profile else tuple(k for k in PROFILE_KEYS if k not in ("profile", "rounds"))
    for key in data:
        if key not in known:
            problems.append(
                Problem("error", file, lines.get(str(key)), str(key), "unknown key", _suggest(str(key), known))
            )
    problems += _check_sections(data, lines, file)
    for rid, part in (data.get("rounds") or {}).items() if isinstance(data.get("rounds"), dict) else []:
        if not isinstance(part, dict):
            problems.append(
                Problem("error", file, lines.get(f"rounds.{rid}"), f"rounds.{rid}", "must be a mapping", "")
            )
            continue
        for key in part:
            if key not in ROUND_KEYS or key in OWN_KEYS:
                problems.append(
                    Problem(
                        "error",
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


def check_resolved(rnd: Round, *, params_dir: Path) -> list[Problem]:
    """Problems that only show once the layers are merged: optimizer/lr0, parents, weights files."""
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
    if not rnd.model_from and rnd.notebook != "01_env_setup":
        file, line = _line_of(rnd, "model", "from")
        problems.append(
            Problem(
                "error",
                file,
                line,
                "model.from",
                f"{rnd.round_id}: no starting weights",
                "add 'model: {from: yolov8n.pt}' or a parent round id",
            )
        )
    return problems


def check_rounds(
    files: list[str | Path] | None = None, *, profile: str = "", params_dir: Path | None = None, use_local: bool = True
) -> list[Problem]:
    """Check round files (default: every round in ``params/``), the profile and the local overlay.

    Returns every problem found, errors and warnings, in file order; nothing is raised.
    """
    base = params_dir or paths.params_dir()
    targets = [Path(f) for f in files] if files else [base / f"{rid}.yaml" for rid in list_rounds(base)]
    problems: list[Problem] = []
    if profile:
        profile_path = base / "profiles" / f"{profile}.yaml"
        if not profile_path.is_file():
            known = ", ".join(sorted(p.stem for p in (base / "profiles").glob("*.yaml")))
            return [
                Problem(
                    "error", _relative(profile_path), None, "", f"profile '{profile}' not found", f"use one of: {known}"
                )
            ]
        problems += check_overlay_file(profile_path, profile=True)
    local = base / "local.yaml"
    if use_local and local.is_file():
        problems += check_overlay_file(local, profile=False)
    overlay_errors = any(p.level == "error" for p in problems)
    for target in targets:
        path = target if target.is_absolute() else (Path.cwd() / target)
        if not path.is_file():
            problems.append(Problem("error", _relative(path), None, "", "file not found", "check the path"))
            continue
        _, _, own = check_round_file(path)
        problems += own
        if own and any(p.level == "error" for p in own) or overlay_errors or path.parent.resolve() != base.resolve():
            continue
        try:
            rnd = load_round(path.stem, profile=profile, params_dir=base, use_local=use_local, check=False)
        except ParamsError as exc:
            problems.append(Problem("error", _relative(path), None, "", exc.message, exc.fix))
            continue
        problems += check_resolved(rnd, params_dir=base)
        for key, value in rnd.train.items():  # values that only go wrong after merging layers
            found = check_argument(key, value)
            if found:
                file, line = _line_of(rnd, "train", key)
                problem = Problem("error", file, line, f"train.{key}", *found)
                if problem not in problems:
                    problems.append(problem)
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
