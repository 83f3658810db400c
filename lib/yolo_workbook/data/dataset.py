"""Datasets: resolve a data.yaml the way ultralytics does, count it, and combine several."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.core.errors import DatasetError

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".dng", ".mpo", ".heic"}


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
        data = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DatasetError(f"{data_yaml}{named}: not valid YAML ({exc})", fix="repair the file") from None
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{data_yaml}{named}: no 'names' list", fix="add 'names: [class0, class1, ...]'")
    return data


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
                label = label_path(image)
                ids = []
                if label.is_file():
                    for line in label.read_text(encoding="utf-8").splitlines():
                        fields = line.split()
                        if fields and fields[0].isdigit():
                            ids.append(int(fields[0]))
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
