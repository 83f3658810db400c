"""ultralytics' own argument rules, read from its installed source without importing it (no torch).

The names and defaults come from ``cfg/default.yaml``, the typed key sets (``CFG_FLOAT_KEYS`` ...)
from ``cfg/__init__.py``, parsed with ``ast``; the checks mirror ultralytics' ``check_cfg``.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.errors import ParamsError

_NUMBER_WITH_JUNK = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*[,;]\s*$")


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
