"""Datasets: resolve a data.yaml the way ultralytics does, read its labels by one rule, count it.

Every label line the workbook reads (``data check``, ``data stats``, the counts of a round's
record, ``data merge``, oversampling) goes through :func:`parse_label_line`, whose rule is the one
ultralytics' ``verify_image_label`` applies, so the workbook never counts a box that training
drops, nor refuses one that training takes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.core.errors import DatasetError
from yolo_workbook.core.files import YamlReadError, read_yaml

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".dng", ".mpo", ".heic"}
# ultralytics takes coordinates up to 1% outside [0, 1] (and clips them); widths and heights not below 0.
COORDINATE_TOLERANCE = 0.01
LABEL_FORMAT = "each line is 'class cx cy w h' (or 'class x1 y1 x2 y2 x3 y3 ...' for a polygon)"


def read_data_yaml(data_yaml: Path, *, dataset: str = "") -> dict[str, Any]:
    """Read a data.yaml; the error names the path looked for and the dataset it belongs to."""
    named = f" (dataset '{dataset}')" if dataset else ""
    if not data_yaml.is_file():
        raise DatasetError(
            f"data.yaml not found: {data_yaml}{named}",
            fix="for the demo run 'yolo-workbook demo-data'; for your own export set "
            "'datasets:' in params/local.yaml to the data.yaml of your Roboflow export",
        )
    try:
        data = read_yaml(data_yaml).data
    except YamlReadError as exc:
        line = f", line {exc.line}" if exc.line else ""
        raise DatasetError(f"{data_yaml}{line}{named}: {exc.reason}", fix=exc.fix) from None
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{data_yaml}{named}: no 'names' list", fix="add 'names: [class0, class1, ...]'")
    return data


@dataclass(frozen=True)
class LabelRow:
    """One label line that training takes: its class and its box (a polygon's bounding box).

    Attributes:
        cls (int): The class id, ``0 <= cls < nc`` (written ``1`` or ``1.0``).
        cx (float): Box centre x, normalised to the image width.
        cy (float): Box centre y.
        w (float): Box width.
        h (float): Box height.
    """

    cls: int
    cx: float
    cy: float
    w: float
    h: float


class LabelLineError(ValueError):
    """A label line that training does not take; ``data check`` reports it under ``key``.

    Attributes:
        key (str): The rule: ``label-format``, ``class-id``, ``out-of-range`` or ``zero-area``.
        message (str): What is wrong with the line.
        fix (str): What to do.
    """

    def __init__(self, key: str, message: str, fix: str) -> None:
        self.key, self.message, self.fix = key, message, fix
        super().__init__(message)


def parse_label_line(line: str, *, nc: int) -> LabelRow | None:
    """One line of a YOLO label file, by the rule ultralytics' ``verify_image_label`` applies.

    ultralytics reads a label file as floats and casts the class column to int: a class written
    ``1.0`` is class 1; ``1.5``, ``-1`` or a class not below ``nc`` is refused. A line holds 5
    numbers (a box) or an odd count of at least 7 (a class and a polygon's x y pairs, turned into
    its bounding box). Coordinates may lie up to :data:`COORDINATE_TOLERANCE` outside [0, 1].
    Boxes of zero width or height are refused too (they teach nothing; ``data check`` flags them).

    Args:
        line (str): The line's text.
        nc (int): The dataset's class count.

    Returns:
        (LabelRow | None): The row; ``None`` for a blank line.

    Raises:
        LabelLineError: The line is not one that training takes (its ``key`` names the rule).

    Examples:
        >>> parse_label_line("1.0 0.5 0.5 0.2 0.1", nc=3)
        LabelRow(cls=1, cx=0.5, cy=0.5, w=0.2, h=0.1)
        >>> try:
        ...     parse_label_line("1.5 0.5 0.5 0.2 0.1", nc=3)
        ... except LabelLineError as exc:
        ...     print(exc.key, "|", exc.message)
        class-id | class 1.5 is not a whole number
    """
    text = line.strip()
    if not text:
        return None
    fields = text.split()
    try:
        values = [float(v) for v in fields]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise LabelLineError("label-format", f"not numbers: {text!r}", LABEL_FORMAT)
    if len(fields) != 5 and not (len(fields) >= 7 and len(fields) % 2 == 1):
        raise LabelLineError("label-format", f"{len(fields)} fields: {text!r}", LABEL_FORMAT)
    cls, coords = values[0], values[1:]
    if not cls.is_integer():
        raise LabelLineError("class-id", f"class {fields[0]} is not a whole number", "check names/nc or the label")
    if not 0 <= cls < nc:
        raise LabelLineError("class-id", f"class {fields[0]} is not in 0..{nc - 1}", "check names/nc or the label")
    if len(fields) == 5:
        cx, cy, w, h = coords
    else:  # a polygon: ultralytics turns it into its bounding box
        xs, ys = coords[0::2], coords[1::2]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        cx, cy = min(xs) + w / 2, min(ys) + h / 2
    low, high = -COORDINATE_TOLERANCE, 1 + COORDINATE_TOLERANCE
    if not all(low <= v <= high for v in coords) or min(w, h) < 0:
        raise LabelLineError("out-of-range", f"coordinates outside [0, 1]: {text!r}", "labels are normalised to 0..1")
    if w <= 0 or h <= 0:
        raise LabelLineError("zero-area", f"box of zero area: {text!r}", "remove the line or fix width/height")
    return LabelRow(int(cls), cx, cy, w, h)


def read_label_lines(label: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a label file with their 1-based numbers; none for a missing file.

    Read as ultralytics reads it (UTF-8, a byte-order mark allowed); bytes that are not UTF-8
    become U+FFFD, so their line fails :func:`parse_label_line` instead of the whole read.
    """
    if not label.is_file():
        return []
    text = label.read_text(encoding="utf-8-sig", errors="replace")
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def label_classes(label: Path, *, nc: int) -> list[int]:
    """The class of every box of a label file that training takes; refused lines are left out.

    ``data check`` reports the refused lines; counts (``data stats``, a round's record,
    oversampling) leave them out, as training does.
    """
    classes = []
    for _, text in read_label_lines(label):
        try:
            row = parse_label_line(text, nc=nc)
        except LabelLineError:
            continue
        if row is not None:
            classes.append(row.cls)
    return classes


def class_names(data: dict[str, Any]) -> list[str]:
    """Class names in id order, from a list or an ``{id: name}`` mapping."""
    names = data["names"]
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names]


def resolve_entry(root: Path, entry: str) -> Path:
    """One train/val/test entry as ultralytics finds it (Roboflow's ``../`` retried without it)."""
    path = Path(entry)
    if not path.is_absolute():
        path = (root / entry).resolve()
        if not path.exists() and entry.startswith("../"):
            path = (root / entry[3:]).resolve()
    return path


def resolve_splits(data_yaml: Path, *, dataset: str = "") -> dict[str, list[Path]]:
    """Return the image folders or list files of each split, resolved as ultralytics does.

    The root is ``path:`` when given (relative to the data.yaml's folder here: we do not depend on
    the current directory), else the data.yaml's folder.
    """
    data_yaml = Path(data_yaml).resolve()
    data = read_data_yaml(data_yaml, dataset=dataset)
    root = Path(data["path"]) if data.get("path") else data_yaml.parent
    if not root.is_absolute():
        root = (data_yaml.parent / root).resolve()
    splits: dict[str, list[Path]] = {}
    for split in SPLITS:
        value = data.get(split)
        if not value:
            continue
        entries = value if isinstance(value, list) else [value]
        splits[split] = [resolve_entry(root, str(e)) for e in entries]
    for split in ("train", "val"):
        if split not in splits:
            raise DatasetError(f"{data_yaml}: no '{split}:' entry", fix=f"add '{split}: <images folder>'")
        for folder in splits[split]:
            if not folder.exists():
                raise DatasetError(
                    f"{data_yaml}: {split} images not found at {folder}",
                    fix="check the path in data.yaml (Roboflow exports use '../train/images')",
                )
    return splits


def list_images(entry: Path) -> list[Path]:
    """Images of a split entry: a folder (recursively) or a ``.txt`` list of image paths."""
    if entry.is_file() and entry.suffix == ".txt":
        lines = [line.strip() for line in entry.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(entry.parent / line).resolve() if not Path(line).is_absolute() else Path(line) for line in lines]
    return sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def label_path(image: Path) -> Path:
    """The label file of an image, by ultralytics' rule (last ``/images/`` becomes ``/labels/``)."""
    parts = str(image).rsplit(f"{Path('/images/')}", 1)
    text = f"{Path('/labels/')}".join(parts) if len(parts) == 2 else str(image)
    return Path(text).with_suffix(".txt")


def count_dataset(data_yaml: Path, *, dataset: str = "") -> dict[str, Any]:
    """Images and boxes per split and class.

    Returns:
        (dict): ``{"names": [...], "splits": {split: {"images", "backgrounds", "boxes",
        "per_class": {name: {"boxes", "images"}}}}}``.
    """
    names = class_names(read_data_yaml(data_yaml, dataset=dataset))
    result: dict[str, Any] = {"data_yaml": str(data_yaml), "names": names, "splits": {}}
    for split, entries in resolve_splits(data_yaml, dataset=dataset).items():
        boxes: Counter[int] = Counter()
        images_with: Counter[int] = Counter()
        images = backgrounds = 0
        for entry in entries:
            for image in list_images(entry):
                images += 1
                ids = label_classes(label_path(image), nc=len(names))
                if not ids:
                    backgrounds += 1
                boxes.update(ids)
                images_with.update(set(ids))
        result["splits"][split] = {
            "images": images,
            "backgrounds": backgrounds,
            "boxes": sum(boxes.values()),
            "per_class": {
                name: {"boxes": boxes.get(i, 0), "images": images_with.get(i, 0)} for i, name in enumerate(names)
            },
        }
    return result
