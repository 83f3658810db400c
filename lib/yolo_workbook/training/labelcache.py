"""What ultralytics left out of a training, read from its own label caches.

ultralytics checks every image and label file before it trains (``ultralytics/data/dataset.py``,
``YOLODataset.cache_labels``) and trains on the rest: an unreadable image, a label line with class id >= nc or
coordinates outside [0, 1] drop the image with one log line ("ignoring corrupt image/label") and nothing else.
It keeps what it found in ``labels.cache`` beside the split's first label folder: ``results`` (found, missing,
empty, corrupt, total), ``labels`` (one per image kept) and ``msgs`` (the log lines). The round's record says
what was dropped and why (``data_dropped`` in ``metrics.json``); the journal and the round's result show it.

Examples:
    >>> dropped_lines({"train": {"images": 4, "of": 40, "reasons": ["a.jpg: ignoring corrupt image/label: x"]}})
    ['ultralytics left out 4 of 40 train images, e.g. a.jpg: ignoring corrupt image/label: x']
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from yolo_workbook.data import dataset

REASONS_KEPT = 5  # the first log lines of the dropped images, per split: the record stays small
DROPPED = "ignoring corrupt image/label"  # ultralytics' words for an image it leaves out (data/utils.py)
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # the prefix of each line is coloured (colorstr)
TRAINED_SPLITS = ("train", "val")


def data_dropped(data_yaml: Path) -> dict[str, dict[str, Any]] | None:
    """Per split trained on (train, val): the images ultralytics dropped, of how many, and its first reasons.

    A split is left out when its cache cannot be read, or is not the cache of this data.yaml's images (another
    round rewrote it since, or ``fraction`` trained on part of them).

    Args:
        data_yaml (Path): The data.yaml the round trained on.

    Returns:
        (dict | None): ``{split: {images, of, reasons}}``; None when no split's cache could be read.
    """
    try:
        splits = dataset.resolve_splits(data_yaml)
    except Exception:  # moved or broken since: the record is still written
        return None
    found = {}
    for split in TRAINED_SPLITS:
        images = sorted(str(image) for entry in splits.get(split, []) for image in dataset.list_images(entry))
        facts = _split_dropped(images) if images else None
        if facts is not None:
            found[split] = facts
    return found or None


def _split_dropped(images: list[str]) -> dict[str, Any] | None:
    """What the cache of one split's images (sorted, as ultralytics sorts them) says was dropped."""
    import numpy as np

    cache_path = dataset.label_path(Path(images[0])).parent.with_suffix(".cache")  # ultralytics' get_labels
    try:
        cache = np.load(str(cache_path), allow_pickle=True).item()  # as ultralytics reads it (load_dataset_cache_file)
        total = int(cache["results"][4])
        kept = [os.path.normpath(str(label["im_file"])) for label in cache["labels"]]
        messages = [_COLOUR.sub("", str(message)) for message in cache["msgs"]]
    except Exception:  # no cache (an unwritable folder), or one another version wrote
        return None
    listed = {os.path.normpath(image) for image in images}
    if total != len(images) or not listed.issuperset(kept):
        return None  # the cache of another image list
    reasons = [_without_prefix(message) for message in messages if DROPPED in message]
    return {"images": total - len(kept), "of": total, "reasons": reasons[:REASONS_KEPT]}


def _without_prefix(message: str) -> str:
    """A log line without ultralytics' ``train: `` / ``val: `` prefix."""
    head, _, rest = message.partition(": ")
    return rest if rest and " " not in head and head.isalpha() else message


def dropped_lines(dropped: dict[str, dict[str, Any]] | None) -> list[str]:
    """One warning line per split from which ultralytics dropped images (none when it dropped nothing)."""
    lines = []
    for split, facts in (dropped or {}).items():
        if facts.get("images"):
            reasons = facts.get("reasons") or []
            example = f", e.g. {reasons[0]}" if reasons else ""
            lines.append(f"ultralytics left out {facts['images']} of {facts['of']} {split} images{example}")
    return lines
