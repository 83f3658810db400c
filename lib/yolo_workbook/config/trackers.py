"""ultralytics' trackers, as a round's ``predict.tracker`` names them: resolved and checked without torch.

A tracker is ``none``, the name of one that the installed ultralytics ships (``cfg/trackers/<name>.yaml``),
or the path of a tracker YAML: a copy of one of those with changed values. A copy is checked against the
keys and value types of the shipped file of its ``tracker_type``, as ultralytics would not: it reads any
key and ignores the unknown ones.

The workbook drives the tracker classes itself (one tracker per class, see
:mod:`yolo_workbook.prediction.track`), so trackers that need ultralytics' predictor hooks (``tracktrack``)
or a ReID model (``with_reid: true``, a download) are refused with a fix.

Examples:
    >>> resolve_tracker("bytetrack").args["track_high_thresh"]
    0.25
    >>> tracker_problem("bytetrak")[1]
    "did you mean 'bytetrack'?"
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_workbook.core import files, paths
from yolo_workbook.core.errors import ParamsError

NO_TRACKER = "none"
# Trackers that the workbook cannot drive outside ultralytics' predictor, and why.
_UNSUPPORTED = {
    "tracktrack": "it needs ultralytics' predictor hooks (raw predictions before NMS)",
}


@dataclass(frozen=True)
class TrackerConfig:
    """One resolved tracker.

    Attributes:
        name (str): As the round wrote it (``bytetrack``, ``params/my_tracker.yaml``).
        tracker_type (str): ultralytics' tracker class key, e.g. ``bytetrack``.
        path (Path): The YAML file read.
        args (dict[str, Any]): Its values (``track_buffer`` is set later from ``attendance.lost_s``).
    """

    name: str
    tracker_type: str
    path: Path
    args: dict[str, Any] = field(default_factory=dict)


def _trackers_dir() -> Path:
    return paths.ultralytics_dir() / "cfg" / "trackers"


@functools.cache
def shipped_trackers() -> dict[str, dict[str, Any]]:
    """Tracker name -> the defaults of its shipped YAML, for the trackers the workbook can drive."""
    found = {}
    for path in sorted(_trackers_dir().glob("*.yaml")):
        values = files.read_yaml(path).data
        if isinstance(values, dict) and values.get("tracker_type") == path.stem and path.stem not in _UNSUPPORTED:
            found[path.stem] = values
    return found


def tracker_names(value: Any) -> list[str]:
    """``predict.tracker`` as a list (a single name, a list, or nothing: ``[]``)."""
    if value is None:
        return []
    names = value if isinstance(value, list) else [value]
    return [str(name) for name in names]


def _suggest(value: str) -> str:
    known = [NO_TRACKER, *shipped_trackers()]
    close = difflib.get_close_matches(value.lower(), known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(known)}, or a tracker YAML path"


def _is_path(value: str) -> bool:
    """A tracker YAML of the user's: a path, or a YAML file name that is not a shipped tracker's and exists."""
    if "/" in value or "\\" in value:
        return True
    return (
        value.endswith((".yaml", ".yml")) and Path(value).stem not in _known() and paths.project_path(value).is_file()
    )


def _known() -> set[str]:
    return {*shipped_trackers(), *_UNSUPPORTED}


def resolve_tracker(value: str) -> TrackerConfig:
    """The tracker a round names: a shipped one by name (``bytetrack`` or ``bytetrack.yaml``) or a YAML path.

    Raises:
        ParamsError: Unknown name (with a suggestion), missing file, unknown keys or wrong value types,
            a tracker the workbook cannot drive.
    """
    problem = tracker_problem(value)
    if problem:
        raise ParamsError(f"predict.tracker {value!r}: {problem[0]}", fix=problem[1])
    if _is_path(value):
        path = paths.project_path(value)
        values = dict(files.read_yaml(path).data)
        # A copy that leaves keys out takes them from the shipped file (ultralytics' tracker would fail on them).
        args = {**shipped_trackers()[values["tracker_type"]], **values}
    else:
        name = Path(value).stem
        path = _trackers_dir() / f"{name}.yaml"
        args = dict(shipped_trackers()[name])
    return TrackerConfig(value, str(args["tracker_type"]), path, args)


def tracker_problem(value: Any) -> tuple[str, str] | None:
    """Why ``predict.tracker`` (one name or path) cannot be used: ``(message, fix)``, or None."""
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a tracker", f"write a name ({', '.join(shipped_trackers())}) or '{NO_TRACKER}'"
    if value == NO_TRACKER:
        return None
    if not _is_path(value):
        name = Path(value).stem if value.endswith((".yaml", ".yml")) else value
        if name in _UNSUPPORTED:
            return f"{name} is not supported: {_UNSUPPORTED[name]}", f"use one of: {', '.join(shipped_trackers())}"
        if name not in shipped_trackers():
            return f"'{value}' is not a tracker of this ultralytics", _suggest(value)
        return None
    return _file_problem(value)


def _file_problem(value: str) -> tuple[str, str] | None:
    path = paths.project_path(value)
    if not path.is_file():
        return f"tracker file not found: {path}", "check the path (relative to the project root)"
    try:
        values = files.read_yaml(path).data
    except files.YamlReadError as exc:
        return f"{path.name} line {exc.line}: {exc.reason}", exc.fix
    if not isinstance(values, dict):
        return f"{path.name} is not a mapping of tracker settings", "copy one of ultralytics' cfg/trackers/*.yaml"
    kind = values.get("tracker_type")
    if kind in _UNSUPPORTED:
        return f"{path.name}: tracker_type {kind} is not supported: {_UNSUPPORTED[kind]}", _suggest(str(kind))
    if kind not in shipped_trackers():
        return f"{path.name}: tracker_type is {kind!r}", _suggest(str(kind or ""))
    defaults = shipped_trackers()[kind]
    for key, setting in values.items():
        if key not in defaults:
            close = difflib.get_close_matches(str(key), list(defaults), n=1, cutoff=0.6)
            fix = f"did you mean '{close[0]}'?" if close else f"{kind} knows: {', '.join(defaults)}"
            return f"{path.name}: '{key}' is not a setting of {kind}", fix
        expected = type(defaults[key])
        if expected is float and type(setting) is int:
            continue
        if type(setting) is not expected:
            return (
                f"{path.name}: {key} is {setting!r}; {kind} expects {expected.__name__} like {defaults[key]!r}",
                f"e.g. {key}: {defaults[key]!r}",
            )
    if values.get("with_reid"):
        return f"{path.name}: with_reid needs a ReID model (a download)", "set with_reid: false"
    return None
