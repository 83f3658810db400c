"""A video's ground truth (``<video stem>.truth/``) and MOTChallenge track files, read and checked.

The folder holds ``classes.txt`` (line k names class id k; CVAT's "MOT 1.1" export has it as
``gt/labels.txt``, read when there is no ``classes.txt``), and ``gt/gt.txt`` (MOTChallenge rows
``frame,id,left,top,width,height,conf,class,visibility``), ``counts.csv`` (``frame,<class>,...``, one row per
frame), or both; ``seqinfo.ini`` may give the frame rate and length. Everything is checked before it is used:
a bad line raises :class:`~yolo_workbook.core.errors.TruthError` naming the file, the line and the fix.

Rows are parsed all at once into numpy arrays (no Python object per row): a ``gt.txt`` of 3000 frames x 40
objects reads in a fraction of a second. Only when the fast parse fails are the lines scanned one by one,
to name the first bad one.
"""

from __future__ import annotations

import configparser
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo_workbook.config.params import relative
from yolo_workbook.core.errors import TruthError

MOT_FIELDS = ("frame", "id", "left", "top", "width", "height", "conf", "class", "visibility")
_LAYOUT = "the folder holds classes.txt and gt/gt.txt, counts.csv or both (see docs: ground-truth folder)"


@dataclass(frozen=True)
class MotRows:
    """The rows of a MOTChallenge file (``gt.txt`` or our ``tracks.mot.txt``), one array entry per row.

    Args:
        path (Path): The file read.
        classes (tuple[str, ...]): Class names; the file's class column k (1-based) is ``classes[k - 1]``.
        frame (np.ndarray): int64 [n], 1-based frame (= frame_id + 1).
        track_id (np.ndarray): int64 [n], object or track id (>= 1).
        box (np.ndarray): float64 [n, 4], ``x1, y1, x2, y2`` in pixels.
        conf (np.ndarray): float64 [n]; in ``gt.txt`` 0 marks a present but fully occluded object.
        class_index (np.ndarray): int64 [n], 0-based index into ``classes``.
        visibility (np.ndarray): float64 [n]; -1 where the file leaves it unset (tracker output).
        line (np.ndarray): int64 [n], the 1-based line of each row in ``path`` (for messages).
    """

    path: Path
    classes: tuple[str, ...]
    frame: np.ndarray
    track_id: np.ndarray
    box: np.ndarray
    conf: np.ndarray
    class_index: np.ndarray
    visibility: np.ndarray
    line: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def class_names(self) -> np.ndarray:
        """str [n], each row's class name."""
        return np.asarray(self.classes, dtype=str)[self.class_index] if len(self) else np.array([], dtype=str)


@dataclass(frozen=True)
class Truth:
    """A video's ground truth, checked.

    Args:
        folder (Path): The ``<video stem>.truth/`` folder.
        classes (tuple[str, ...]): From ``classes.txt``, in id order.
        frames (int): Frames the truth covers (``seqLength``, else the last frame of gt.txt / counts.csv).
        fps (float | None): ``frameRate`` of ``seqinfo.ini`` when present.
        counts (dict[str, np.ndarray]): Class -> int64 [frames], the true number present, indexed by frame_id.
        boxes_path (Path | None): ``gt/gt.txt`` when present.
        boxes (MotRows | None): Its rows.
    """

    folder: Path
    classes: tuple[str, ...]
    frames: int
    fps: float | None
    counts: dict[str, np.ndarray]
    boxes_path: Path | None
    boxes: MotRows | None = None


def _error(path: Path, line: int | None, what: str, fix: str) -> TruthError:
    where = f"{relative(path)}:{line}" if line is not None else relative(path)
    return TruthError(f"{where}: {what}", fix=fix)


def _text(path: Path) -> str:
    if not path.is_file():
        raise _error(path, None, "no such file", _LAYOUT)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(path, None, f"not UTF-8 text ({exc.reason})", "save it as UTF-8 text") from None


def _empty(path: Path) -> TruthError:
    return _error(path, None, "the file is empty", "fill it in, or remove it (" + _LAYOUT + ")")


def _lines(path: Path) -> tuple[list[int], list[str]]:
    """The non-blank lines of ``path`` (stripped) and their 1-based numbers; an empty file is an error."""
    numbers, kept = [], []
    for number, raw in enumerate(_text(path).splitlines(), 1):
        if stripped := raw.strip():
            numbers.append(number)
            kept.append(stripped)
    if not kept:
        raise _empty(path)
    return numbers, kept


def read_classes(path: str | Path) -> tuple[str, ...]:
    """Class names from a ``classes.txt`` (one per line; line k is class id k). Trailing blank lines are fine.

    Args:
        path (str | Path): The file (a truth folder's, or the one a prediction job writes beside its tracks).

    Returns:
        (tuple[str, ...]): The names in id order.
    """
    path = Path(path)
    if not path.is_file():
        raise _error(path, None, "classes.txt is missing", "write one class name per line; line k is class id k")
    numbers, names = _lines(path)
    for expected, number in enumerate(numbers, 1):
        if number != expected:
            raise _error(path, expected, "blank line: line k is class id k, so no line may be blank", "remove it")
    for i, name in enumerate(names):
        if name in names[:i]:
            first = names.index(name) + 1
            raise _error(path, i + 1, f"class {name!r} is already named on line {first}", "name each class once")
    return tuple(names)


def _parse_floats(path: Path, numbers: list[int], lines: list[str], width: int) -> np.ndarray:
    """float64 [n, width] from comma-separated lines, naming the first line of wrong length or not a number."""
    commas = width - 1
    for number, text in zip(numbers, lines, strict=True):
        if text.count(",") != commas:
            raise _error(
                path, number, f"{text.count(',') + 1} fields, expected {width}", f"write {width} comma-separated fields"
            )
    try:
        values = np.array(",".join(lines).split(","), dtype=np.float64).reshape(len(lines), width)
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        for number, text in zip(numbers, lines, strict=True):
            for field in text.split(","):
                try:
                    ok = np.isfinite(float(field))
                except ValueError:
                    ok = False
                if not ok:
                    raise _error(path, number, f"{field.strip()!r} is not a number", "write plain numbers")
    return values


def _read_table(path: Path, width: int, *, allow_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """float64 [n, width] of a headerless comma-separated file, and each row's line number.

    numpy's C parser reads it; only when that fails are the lines scanned in Python, to name the bad one.
    """
    text = _text(path)
    if not text.strip():
        if allow_empty:
            return np.zeros((0, width)), np.zeros(0, dtype=np.int64)
        raise _empty(path)
    try:
        values = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, comments=None, dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.shape[1] != width or not np.isfinite(values).all():
        numbers, lines = _lines(path)  # names the bad line, or finds only lines of blanks numpy refused
        return _parse_floats(path, numbers, lines, width), np.asarray(numbers, dtype=np.int64)
    raw = text.splitlines()
    if len(raw) == len(values):
        return values, np.arange(1, len(values) + 1)
    return values, np.array([number for number, line in enumerate(raw, 1) if line.strip()], dtype=np.int64)


def _first_bad(path: Path, lines: np.ndarray, bad: np.ndarray, what: str, fix: str) -> None:
    if bad.any():
        raise _error(path, int(lines[np.argmax(bad)]), what, fix)


def read_mot(path: Path, classes: Sequence[str], *, ground_truth: bool = False) -> MotRows:
    """Read and check a MOTChallenge file: a truth folder's ``gt/gt.txt`` or a prediction's ``tracks.mot.txt``.

    Rows are ``frame,id,left,top,width,height,conf,class,visibility`` (9 fields, frame and class 1-based).

    Args:
        path (Path): The file.
        classes (Sequence[str]): The class names its class column counts (``classes.txt`` beside it).
        ground_truth (bool): ``gt.txt``: it may not be empty and its visibility must lie in [0, 1]. Otherwise
            (tracker output) no rows is fine and visibility may also be -1 (unset).

    Returns:
        (MotRows): The rows, as arrays.
    """
    path = Path(path)
    classes = tuple(classes)
    values, line = _read_table(path, len(MOT_FIELDS), allow_empty=not ground_truth)
    col = {name: values[:, i] for i, name in enumerate(MOT_FIELDS)}
    for name in ("frame", "id", "class"):
        _first_bad(path, line, col[name] != np.round(col[name]), f"{name} is not a whole number", "write an integer")
    _first_bad(path, line, col["frame"] < 1, "frame < 1: frames are 1-based (frame = frame_id + 1)", "add 1")
    _first_bad(path, line, col["id"] < 1, "id < 1: ids start at 1", "number objects from 1")
    out_of_range = (col["class"] < 1) | (col["class"] > len(classes))
    _first_bad(
        path,
        line,
        out_of_range,
        f"class out of range: classes.txt names {len(classes)} classes (1..{len(classes)})",
        "use the line number of the class in classes.txt",
    )
    _first_bad(path, line, col["width"] < 0, "negative width", "write the box as left,top,width,height")
    _first_bad(path, line, col["height"] < 0, "negative height", "write the box as left,top,width,height")
    visible = (col["visibility"] >= 0) & (col["visibility"] <= 1)
    if not ground_truth:
        visible |= col["visibility"] == -1
    _first_bad(path, line, ~visible, "visibility outside [0, 1]", "write the visible share of the box, 0 to 1")
    frame = col["frame"].astype(np.int64)
    track_id = col["id"].astype(np.int64)
    class_index = col["class"].astype(np.int64) - 1
    _check_ids(path, line, frame, track_id, class_index, classes)
    left, top = col["left"], col["top"]
    box = np.stack([left, top, left + col["width"], top + col["height"]], axis=1)
    return MotRows(path, classes, frame, track_id, box, col["conf"], class_index, col["visibility"], line)


def _check_ids(
    path: Path, line: np.ndarray, frame: np.ndarray, track_id: np.ndarray, class_index: np.ndarray, classes: tuple
) -> None:
    """An id appears at most once per frame, and always with the same class."""
    order = np.lexsort((line, frame, track_id))
    ids, frames, kinds = track_id[order], frame[order], class_index[order]
    same_id = ids[1:] == ids[:-1]
    twice = same_id & (frames[1:] == frames[:-1])
    if twice.any():
        a, b = order[np.argmax(twice)], order[np.argmax(twice) + 1]
        raise _error(
            path,
            int(line[b]),
            f"id {track_id[b]} appears twice in frame {frame[b]} (also line {line[a]})",
            "give each object its own id",
        )
    other_class = same_id & (kinds[1:] != kinds[:-1])
    if other_class.any():
        a, b = order[np.argmax(other_class)], order[np.argmax(other_class) + 1]
        raise _error(
            path,
            int(line[b]),
            f"id {track_id[b]} is {classes[class_index[b]]!r} here but {classes[class_index[a]]!r} on line {line[a]}",
            "an id names one object: give the other object its own id",
        )


def _read_counts(path: Path, classes: tuple[str, ...]) -> tuple[dict[str, np.ndarray], int]:
    """``counts.csv``: class -> int64 [frames] (index frame_id), and the number of frames."""
    numbers, lines = _lines(path)
    header = [name.strip() for name in lines[0].split(",")]
    if header[0] != "frame":
        raise _error(path, numbers[0], f"the header starts with {header[0]!r}", "start it with frame,<class>,...")
    for name in header[1:]:
        if name not in classes:
            raise _error(
                path,
                numbers[0],
                f"unknown class column {name!r}",
                f"use the names of classes.txt: {', '.join(classes)}",
            )
        if header.count(name) > 1:
            raise _error(path, numbers[0], f"column {name!r} appears twice", "keep one")
    missing = [name for name in classes if name not in header]
    if missing:
        raise _error(path, numbers[0], f"no column for {', '.join(missing)}", "add a column for every class")
    if len(lines) == 1:
        raise _error(path, None, "the file has a header but no rows", "write one row per frame")
    values = _parse_floats(path, numbers[1:], lines[1:], len(header))
    line = np.asarray(numbers[1:], dtype=np.int64)
    _first_bad(path, line, (values != np.round(values)).any(axis=1), "not a whole number", "write integers")
    _first_bad(path, line, (values[:, 1:] < 0).any(axis=1), "negative count", "counts are 0 or more")
    frame = values[:, 0].astype(np.int64)
    _first_bad(path, line, frame < 1, "frame < 1: frames are 1-based (frame = frame_id + 1)", "add 1")
    frames = int(frame.max())
    seen = np.zeros(frames + 1, dtype=np.int64)
    np.add.at(seen, frame, 1)
    again = np.ones(len(frame), dtype=bool)
    again[np.unique(frame, return_index=True)[1]] = False
    if again.any():
        first = int(line[np.argmax(frame == frame[np.argmax(again)])])
        raise _error(
            path,
            int(line[np.argmax(again)]),
            f"frame {frame[np.argmax(again)]} is on line {first} too",
            "write one row per frame",
        )
    if (seen[1:] == 0).any():
        gap = int(np.argmax(seen[1:] == 0)) + 1
        raise _error(path, None, f"a missing frame: {gap} (rows run 1..{frames})", "write one row per frame")
    counts = np.zeros((frames, len(header) - 1), dtype=np.int64)
    counts[frame - 1] = values[:, 1:].astype(np.int64)
    return {name: counts[:, header.index(name) - 1] for name in classes}, frames


def _read_seqinfo(path: Path) -> tuple[int | None, float | None]:
    """``seqLength`` and ``frameRate`` of a ``seqinfo.ini``, when given."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8-sig"))
    except configparser.Error as exc:
        raise _error(path, getattr(exc, "lineno", None), "not an INI file", "write a [Sequence] section") from None
    section = parser["Sequence"] if parser.has_section("Sequence") else {}
    out: list[float | None] = []
    for key, kind in (("seqLength", int), ("frameRate", float)):
        raw = section.get(key)
        try:
            value = kind(raw) if raw is not None else None
        except ValueError:
            value = -1
        if value is not None and not value > 0:
            raise _error(path, None, f"[Sequence] {key} = {raw!r} is not a positive number", f"correct {key}")
        out.append(value)
    return int(out[0]) if out[0] is not None else None, out[1]


def read_truth(folder: str | Path) -> Truth:
    """Read and check a ground-truth folder (``classes.txt`` and ``gt/gt.txt``, ``counts.csv`` or both).

    The true count of a class in a frame comes from ``counts.csv`` when present, else from the rows of
    ``gt.txt`` (any conf: occluded objects are present). Every frame up to the last one is covered; frames
    without rows count 0.

    Args:
        folder (str | Path): The ``<video stem>.truth/`` folder.

    Returns:
        (Truth): The checked truth.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise _error(folder, None, "no such ground-truth folder", _LAYOUT)
    gt_path, counts_path, seqinfo = folder / "gt" / "gt.txt", folder / "counts.csv", folder / "seqinfo.ini"
    if not gt_path.is_file() and not counts_path.is_file():
        raise _error(folder, None, "neither gt/gt.txt nor counts.csv", _LAYOUT)
    labels = folder / "gt" / "labels.txt"  # CVAT's "MOT 1.1" export names its classes there
    classes = read_classes(
        labels if not (folder / "classes.txt").is_file() and labels.is_file() else folder / "classes.txt"
    )
    boxes = read_mot(gt_path, classes, ground_truth=True) if gt_path.is_file() else None
    counted = _read_counts(counts_path, classes) if counts_path.is_file() else None
    length, fps = _read_seqinfo(seqinfo) if seqinfo.is_file() else (None, None)
    last = max(int(boxes.frame.max()) if boxes is not None else 0, counted[1] if counted else 0)
    if length is not None and last > length:
        source = gt_path if boxes is not None and int(boxes.frame.max()) == last else counts_path
        raise _error(source, None, f"frame {last} is beyond seqinfo.ini's seqLength {length}", "correct one of them")
    frames = length or last
    if counted is not None:
        if counted[1] < frames:
            raise _error(
                counts_path, None, f"a missing frame: {counted[1] + 1} (the truth covers {frames})", "write every frame"
            )
        counts = counted[0]
    else:
        table = np.zeros((frames, len(classes)), dtype=np.int64)
        np.add.at(table, (boxes.frame - 1, boxes.class_index), 1)
        counts = {name: table[:, k] for k, name in enumerate(classes)}
    return Truth(folder, classes, frames, fps, counts, gt_path if boxes is not None else None, boxes)
