"""ultralytics' own argument rules, read from its installed source without importing it (no torch).

The names and defaults come from ``cfg/default.yaml``, the typed key sets (``CFG_FLOAT_KEYS`` ...)
and the ``quantize`` aliases from ``cfg/__init__.py``, the optimizer names from ``build_optimizer``
in ``engine/trainer.py`` and the copy-paste modes from ``CopyPaste`` in ``data/augment.py``, all
parsed with ``ast``. The checks mirror ``check_cfg`` and what ``model.train()`` / ``model.predict()``
refuse later: ``parse_device``/``select_device`` (format only: this machine's GPUs do not matter),
``check_imgsz``, the DataLoader's batch size and workers, the dataset split. Values that ultralytics
accepts but silently ignores (``cache: memory``, ``classes: [sitae]``, ``freeze: '10'``) are refused too.
``tests/test_argrules.py`` feeds every rule's bad and good values to ultralytics itself.

Examples:
    >>> check_argument("epochs", None)[1]
    "remove the key to use ultralytics' default (100), or give a value"
    >>> check_argument("device", "cuda:O")[1]
    "did you mean 'cuda:0'?"
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
import textwrap
from pathlib import Path
from typing import Any

from yolo_workbook.config.trackers import tracker_problem
from yolo_workbook.core import files, paths

# Arguments that the workbook sets itself, so that every round lands in its own folder: refused in a
# round's train / predict section (by the check, and again by training and prediction before they start).
RESERVED_TRAIN_KEYS = ("data", "model", "project", "name", "exist_ok", "resume", "mode", "task")
RESERVED_PREDICT_KEYS = ("stream", "project", "name", "model", "mode", "task")

_NUMBER_WITH_JUNK = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*[,;]\s*$")
_DEVICE_FIX = "use cpu, mps, a GPU index (0), several (0,1), cuda:0 or -1 (an idle GPU); or remove it (auto)"
_SPLITS = ("train", "val", "test")  # the splits a data.yaml names (ultralytics: data[args.split])
_CACHE = ("ram", "disk")  # data/base.py: a str is lowered; True means 'ram'; anything else caches nothing


def _assignments(nodes: list[ast.stmt]) -> dict[str, Any]:
    """Every ``NAME = <literal>`` among these statements (``frozenset({...})`` unwrapped)."""
    found: dict[str, Any] = {}
    for node in nodes:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "frozenset" and value.args:
            value = value.args[0]
        try:
            found[node.targets[0].id] = ast.literal_eval(value)
        except ValueError:
            continue
    return found


def _definition(path: Path, header: str) -> ast.AST | None:
    """The parsed ``def``/``class`` that starts with ``header`` (only its own lines are parsed: fast)."""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"^([ \t]*){re.escape(header)}\b.*?(?=^\1?(?:def|class|@)\s|\Z)", text, re.M | re.S)
    if not found:
        return None
    node = ast.parse(textwrap.dedent(found.group(0))).body[0]
    return node if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _copy_paste_modes(root: Path) -> tuple[str, ...]:
    """The modes ``CopyPaste.__init__`` accepts (``if mode not in ("flip", "mixup"): raise``)."""
    cls = _definition(root / "data" / "augment.py", "class CopyPaste")
    if cls is not None:
        for node in ast.walk(cls):
            if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.NotIn) and _name(node.left) == "mode":
                return tuple(ast.literal_eval(node.comparators[0]))
    return ()


@functools.cache
def ultralytics_rules() -> dict[str, Any]:
    """Argument names, defaults and value rules of the installed ultralytics, without importing it."""
    root = paths.ultralytics_dir()
    defaults = files.read_yaml(root / "cfg" / "default.yaml").data
    sets = _assignments(ast.parse((root / "cfg" / "__init__.py").read_text(encoding="utf-8")).body)
    optimizer_def = _definition(root / "engine" / "trainer.py", "def build_optimizer")
    optimizer = _assignments(optimizer_def.body) if isinstance(optimizer_def, ast.FunctionDef) else {}
    typed = {"scale", "compile"}
    for name in ("CFG_FLOAT_KEYS", "CFG_FRACTION_KEYS", "CFG_INT_KEYS", "CFG_BOOL_KEYS", "CFG_STR_KEYS"):
        typed |= set(sets.get(name, ()))
    return {
        "defaults": defaults,
        "float": set(sets.get("CFG_FLOAT_KEYS", ())),
        "fraction": set(sets.get("CFG_FRACTION_KEYS", ())),
        "int": set(sets.get("CFG_INT_KEYS", ())),
        "int_min": dict(sets.get("CFG_INT_MIN", {})),
        "bool": set(sets.get("CFG_BOOL_KEYS", ())),
        "str": set(sets.get("CFG_STR_KEYS", ())),
        "quantize": set(sets.get("QUANTIZE_ALIASES", {})),
        # check_cfg refuses None for a typed key whose default is not None (auto_augment excepted) and for amp;
        # check_imgsz refuses None later. Every other key treats None as "not set".
        "not_none": {k for k in typed if defaults.get(k) is not None and k != "auto_augment"} | {"amp", "imgsz"},
        "optimizers": tuple(sorted(optimizer.get("optimizers", ()))),
        "copy_paste_modes": _copy_paste_modes(root),
    }


@functools.cache
def model_module_count(weights: str) -> int | None:
    """Modules (``model.0`` ..) of an ultralytics model named like ``yolov8n.pt`` or ``yolo11s.yaml``; None if unknown.

    Found the way ``yaml_model_load`` finds a model yaml: the scale letter dropped (``yolov8n`` -> ``yolov8``).
    """
    if "/" in weights or "\\" in weights or not weights.endswith((".pt", ".yaml", ".yml")):
        return None
    stem = Path(weights).stem
    models = paths.ultralytics_dir() / "cfg" / "models"
    for name in dict.fromkeys((stem, re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", stem))):
        found = sorted(models.rglob(f"{name}.yaml"))
        if found:
            spec = files.read_yaml(found[0]).data
            return len(spec.get("backbone") or []) + len(spec.get("head") or [])
    return None


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _example(key: str) -> str:
    default = ultralytics_rules()["defaults"].get(key)
    if default is None:
        default = 0.5 if key in ultralytics_rules()["fraction"] else 1
    return f"e.g. {key}: {_show(default)}"


def _suggest(value: str, known: tuple[str, ...]) -> str:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean '{lowered[close[0]]}'?" if close else f"use one of: {', '.join(known)}"


_NOT_CUDA = ("", "cpu", "mps", "mps:0")  # '' (unset): the current GPU, or the CPU where there is none


def device_text(value: Any) -> str:
    """``device`` spelled as ultralytics' ``parse_device`` spells it, before it looks at this machine.

    ``'cuda:0'`` -> ``'0'``, ``[0, 1]`` -> ``'0,1'``, ``'CUDA'`` -> ``'0'``, ``None`` -> ``''``, ``'npu:0,npu:1'`` ->
    ``'npu:0,1'``; ``-1`` (an idle GPU) stays ``'-1'``, and GPU ids are not yet mapped through
    ``CUDA_VISIBLE_DEVICES``. The text need not be a valid device: see :func:`device_format`.

    Examples:
        >>> device_text("cuda:0,1"), device_text([0, 1]), device_text("0,,01"), device_text(None)
        ('0,1', '0,1', '0,1', '')
    """
    text = str(value).lower()
    for remove in ("cuda:", "none", "(", ")", "[", "]", "'", " "):  # as parse_device does
        text = text.replace(remove, "")
    if text == "cuda":
        return "0"
    for backend in ("npu", "xpu"):
        if text.startswith(backend):
            parts = [x for x in text[len(backend) :].lstrip(":").replace(f"{backend}:", "").split(",") if x]
            indices = ",".join(str(int(x)) if x.isdecimal() else x for x in parts)
            return f"{backend}:{indices}" if indices else backend
    return ",".join(str(int(x)) if x.isdecimal() else x for x in text.split(",") if x)


def cuda_devices(value: Any) -> list[str]:
    """The CUDA GPUs that ``device`` asks for, one entry each (``'0'``, ``'1'``; ``'-1'`` for an idle one).

    ``[]`` when it asks for none: cpu, mps, npu/xpu, an export-only device, or unset (ultralytics then takes
    the current GPU, or the CPU where there is none). For a valid ``device`` only (:func:`device_format`).

    Examples:
        >>> cuda_devices("0,1"), cuda_devices("cuda"), cuda_devices(-1), cuda_devices("cpu"), cuda_devices(None)
        (['0', '1'], ['0'], ['-1'], [], [])
    """
    text = device_text(value)
    if text in _NOT_CUDA or text.startswith(("npu", "xpu", "tpu", "intel", "vulkan")):
        return []
    return text.split(",")


def device_format(value: Any, *, section: str = "train") -> str | None:
    """Why ``device`` has no form that ``select_device`` accepts, or None. Format only, not this machine's GPUs."""
    if isinstance(value, (bool, float)):
        return f"{value!r} is not a device"
    text = device_text(value)
    if text in _NOT_CUDA:
        return None
    if text.startswith(("tpu", "intel", "vulkan")):
        return f"'{value}' is for exported models; {section} with a .pt model needs cpu, mps or a CUDA GPU"
    for backend in ("npu", "xpu"):
        if text.startswith(backend):
            parts = [x for x in text[len(backend) :].lstrip(":").split(",") if x]
            if all(x.isdecimal() for x in parts) and len(set(parts)) == len(parts):
                return None
            return f"'{value}' is not a {backend.upper()} device: use '{backend}', '{backend}:0' or '{backend}:0,1'"
    if all(x.isdecimal() or x == "-1" for x in text.split(",") if x):
        return None
    return f"'{value}' is not a device ultralytics knows"


def _device_fix(value: Any) -> str:
    text = str(value)
    backend = next((b for b in ("npu", "xpu") if text.lower().startswith(b)), "")
    if backend:
        return f"e.g. device: {backend}:0"
    for candidate in (
        text.translate(str.maketrans("oOlI", "0011")),
        re.sub(r"^(?:cuda|gpu):?(?=\d)", "cuda:", text.lower()),
        re.sub(r"^gpu$", "cuda:0", text.lower()),
    ):
        if candidate != text and device_format(candidate) is None:
            return f"did you mean '{candidate}'?"
    return _DEVICE_FIX


def _imgsz_problem(value: Any, section: str) -> str | None:
    """Why ``check_imgsz`` (train: max_dim=1; predict: [h, w] allowed) refuses ``imgsz``, or None."""
    if isinstance(value, bool):
        return f"{value!r} is not a size (ultralytics would silently train at 32)"
    if isinstance(value, int):
        return None
    if isinstance(value, str):
        if value.isnumeric():
            return None
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return f"{value!r} is not an image size"
        if not isinstance(value, (list, tuple)):
            return f"{value!r} is not an image size"
    if not isinstance(value, (list, tuple)):
        return f"must be an integer, got {type(value).__name__} {value!r}"
    if not value or not all(isinstance(x, (int, float)) for x in value):
        return f"{list(value)!r} is not an image size"
    if section != "train" and len(value) > 2:
        return f"{list(value)!r} has more than two sides"
    return None


def _fraction_problem(value: Any) -> str | None:
    """``fraction`` as check_cfg takes it: a ratio in (0, 1], a count > 1, or [train, val(, test)]."""
    if isinstance(value, list):
        ok = len(value) in (2, 3) and all(value[:2])
        ok = ok and all((type(x) is int and x >= 0) or (type(x) is float and 0 <= x <= 1) for x in value)
        return None if ok else f"{value!r} is not [train, val] or [train, val, test] (counts or ratios)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number or a list, got {type(value).__name__} {value!r}"
    if not (0 < value <= 1 or (isinstance(value, int) and value > 1)):
        return f"{value} is neither a ratio in (0, 1] nor an image count > 1"
    return None


def _special(key: str, value: Any, section: str) -> tuple[str, str] | None:
    """The rules beyond check_cfg's types: what training or prediction refuses (or silently ignores) later."""
    rules = ultralytics_rules()
    if key == "device":
        reason = device_format(value, section=section)
        return (reason, _device_fix(value)) if reason else None
    if key == "imgsz":
        reason = _imgsz_problem(value, section)
        return (reason, "e.g. imgsz: 640" + (" (or [480, 640])" if section != "train" else "")) if reason else None
    if key == "optimizer" and rules["optimizers"] and isinstance(value, str):
        known = rules["optimizers"]
        if value.lower() not in {o.lower() for o in known}:
            return f"'{value}' is not an optimizer of ultralytics", _suggest(value, known)
    if key == "copy_paste_mode" and rules["copy_paste_modes"] and value not in rules["copy_paste_modes"]:
        return f"'{value}' is not a copy-paste mode", _suggest(str(value), rules["copy_paste_modes"])
    if key == "split" and value not in _SPLITS:
        return f"'{value}' is not a dataset split", _suggest(str(value), _SPLITS)
    if key == "batch" and isinstance(value, float) and value >= 1:
        whole = f"batch: {int(value)}" if value.is_integer() else "e.g. batch: 16"
        return f"{value} is not a whole batch size (-1 or a fraction below 1 mean AutoBatch)", whole
    if key == "workers" and value < 0:
        return f"must be >= 0, got {value} (the data loader refuses it on a GPU)", "e.g. workers: 8 (0 on CPU)"
    if key == "fraction":
        reason = _fraction_problem(value)
        return (reason, "e.g. fraction: 0.5 (half the images), 200 (a count) or [1.0, 0.5]") if reason else None
    if key == "amp" and not isinstance(value, bool) and str(value).lower() not in ("fp16", "bf16", "fp32"):
        return f"{value!r} is not a precision", "amp: true (or false, 'fp16', 'bf16', 'fp32')"
    if key == "compile" and not isinstance(value, (bool, str)):
        return f"must be true, false or a torch.compile mode, got {value!r}", "compile: true"
    if key == "quantize" and str(value).lower() not in rules["quantize"]:
        return f"{value!r} is not a precision ultralytics knows", f"use one of: {', '.join(sorted(rules['quantize']))}"
    if key == "cache" and not isinstance(value, bool) and str(value).lower() not in _CACHE:
        return f"is {value!r}; ultralytics silently caches nothing unless it is true, 'ram' or 'disk'", "cache: ram"
    if key == "classes":
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
            return (
                f"is {value!r}; class ids (integers >= 0) are needed: ultralytics silently drops the labels"
                " it cannot match",
                "e.g. classes: [0, 2] (ids from the data.yaml 'names' list)",
            )
    if key == "pretrained" and isinstance(value, str) and not value.endswith(".pt"):
        return f"'{value}' is neither true/false nor a .pt file", "pretrained: true (or a path to weights, e.g. x.pt)"
    if key == "freeze":
        items = value if isinstance(value, list) else [value]
        if isinstance(value, (str, float, bool)) or not all(type(i) in (int, str) for i in items):
            return (
                f"is {value!r}; ultralytics silently freezes nothing unless it is an integer or a list",
                "write it as an integer, e.g. 'freeze: 10' (the first 10 modules)",
            )
        if isinstance(value, int) and value < 0:
            return f"is {value}; a negative number silently freezes nothing", "e.g. 'freeze: 10', or 0 for none"
    return None


def check_argument(key: str, value: Any, *, section: str = "train") -> tuple[str, str] | None:
    """Check one ultralytics argument as ``model.train()`` / ``model.predict()`` would; ``(message, fix)`` or None.

    Args:
        key (str): The argument name, e.g. ``epochs``.
        value (Any): Its value as YAML read it (``None`` for an empty value).
        section (str): ``train`` or ``predict`` (image sizes and devices differ).
    """
    rules = ultralytics_rules()
    if key not in rules["defaults"]:
        close = difflib.get_close_matches(key, list(rules["defaults"]), n=1, cutoff=0.6)
        fix = f"did you mean '{close[0]}'?" if close else "see https://docs.ultralytics.com/usage/cfg/"
        return f"'{key}' is not an ultralytics argument", fix
    if value is None:
        if key not in rules["not_none"]:
            return None
        default = rules["defaults"].get(key)
        shown = f" ({_show(default)})" if default is not None else ""
        return (
            "is empty; ultralytics refuses an empty value",
            f"remove the key to use ultralytics' default{shown}, or give a value",
        )
    numeric = key in rules["float"] | rules["int"] | rules["fraction"] | {"scale"}  # not device: '0,' lists GPU 0
    if numeric and isinstance(value, str) and _NUMBER_WITH_JUNK.match(value):
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
    return _special(key, value, section)


def _missing_weights(key: str, value: Any) -> tuple[str, str] | None:
    """``pretrained: path/to/x.pt`` that does not exist (ultralytics loads it after the kernel started)."""
    is_path = key == "pretrained" and isinstance(value, str) and ("/" in value or "\\" in value)
    if is_path and not paths.project_path(value).is_file():
        return f"weights file not found: {paths.project_path(value)}", "check the path (relative to the project root)"
    return None


def argument_problem(key: str, value: Any, *, section: str) -> tuple[str, str] | None:
    """Every rule for one argument of a round's ``train`` or ``predict`` section: ``(message, fix)`` or None.

    The workbook's own first (the reserved keys; ``predict.source`` is the workbook's too), then
    :func:`check_argument` and, for ``pretrained``, that the weights file exists.

    Examples:
        >>> argument_problem("project", "runs", section="train")[0]
        'is set by the workbook'
    """
    if key in (RESERVED_TRAIN_KEYS if section == "train" else RESERVED_PREDICT_KEYS):
        return "is set by the workbook", "remove it" + (
            "; 'model.from' and 'data.use' choose weights and data" if section == "train" else ""
        )
    if section == "predict" and key == "source":
        return None
    if section == "predict" and key == "tracker":  # the workbook drives the trackers (prediction.track)
        names = value if isinstance(value, list) and value else [value]
        return next(filter(None, map(tracker_problem, names)), None)
    if section == "predict" and key == "conf" and isinstance(value, dict):  # per class: the workbook applies it
        return per_class_conf_problem(value)
    return check_argument(key, value, section=section) or _missing_weights(key, value)


def per_class_conf_problem(value: dict[Any, Any]) -> tuple[str, str] | None:
    """A per-class ``predict.conf`` (class name -> confidence) that is empty or holds a value outside [0, 1].

    The names are compared with the model's classes where they are known (``config.classnames``, and the
    prediction when it loads the weights).

    Examples:
        >>> per_class_conf_problem({"student": 1.5})[0]
        "gives class 'student' the confidence 1.5, outside [0, 1]"
    """
    if not value:
        return "is an empty mapping", "give class name -> confidence (e.g. {student: 0.35, sitae: 0.2}), or one number"
    for name, conf in value.items():
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            example = ", ".join(f"{n}: 0.3" for n in list(value)[:3])
            return f"gives class '{name}' the confidence {_show(conf)}, outside [0, 1]", f"e.g. conf: {{{example}}}"
    return None
