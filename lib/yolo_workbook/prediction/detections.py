"""One frame's detections as one typed object, in the spirit of supervision's ``Detections``.

Prediction yields a :class:`Detections` per frame; counting, the figures and the frame browser read
them back from ``detections.jsonl`` with :func:`read_detections`; once a tracked video ends,
:func:`add_track_classes` gives each detection its track's class. On disk a frame stays the diary's
shape, byte for byte (:meth:`Detections.to_record`)::

    {"frame_id": 7, "detections": [{"class": "student", "confidence": 0.91234, "bbox": [x1, y1, x2, y2],
     "class_id": 0, "track_id": 3, "track_class": "sitae"}], "time_s": 0.7, "source": "clip.mp4", "width": 320,
     "height": 240}

``class`` is what the detector said of the box in this frame; ``track_class`` (with a tracker, once the video
has ended) is the class of its track, one per track (:mod:`yolo_workbook.prediction.track`), ``null`` for a box
without a track id.

Examples:
    >>> frame = Detections.from_record({"frame_id": 2, "detections": [
    ...     {"class": "학생", "confidence": 0.9, "bbox": [1, 2, 30, 40], "class_id": 0},
    ...     {"class": "desk", "confidence": 0.3, "bbox": [5, 6, 50, 60], "class_id": 1}]})
    >>> len(frame), frame.counts()
    (2, Counter({'학생': 1, 'desk': 1}))
    >>> frame[frame.confidence > 0.5].class_name
    ('학생',)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from yolo_workbook.core.files import atomic_output

NO_TRACK = -1  # tracker_id of a box that is not (yet) a confirmed track: ``"track_id": null`` on disk


def _empty(columns: int | None = None, dtype: Any = np.float64) -> np.ndarray:
    return np.zeros((0, columns) if columns else (0,), dtype=dtype)


@dataclass(frozen=True)
class Detections:
    """The detections of one frame (or image), column by column.

    Attributes:
        frame_id (int): The source frame (0-based; with ``vid_stride`` the frame ultralytics decoded).
        xyxy (np.ndarray): ``(n, 4)`` boxes in pixels, ``x1, y1, x2, y2``.
        confidence (np.ndarray): ``(n,)`` scores.
        class_id (np.ndarray): ``(n,)`` the model's class indices.
        class_name (tuple[str, ...]): ``n`` class names.
        tracker_id (np.ndarray | None): ``(n,)`` track ids (:data:`NO_TRACK` for a box that is not a confirmed
            track); None without a tracker.
        track_class (tuple[str | None, ...] | None): ``n`` class names of the boxes' tracks (None for a box
            without a track id); None without a tracker, or before the video ended (the class is a vote over the
            track's frames).
        time_s (float | None): The frame's time in the video (None for images or an unknown frame rate).
        source (str): The file the frame came from (its name).
        width (int): The frame's width in pixels.
        height (int): The frame's height in pixels.
    """

    frame_id: int
    xyxy: np.ndarray = field(default_factory=lambda: _empty(4))
    confidence: np.ndarray = field(default_factory=_empty)
    class_id: np.ndarray = field(default_factory=lambda: _empty(dtype=np.int64))
    class_name: tuple[str, ...] = ()
    tracker_id: np.ndarray | None = None
    time_s: float | None = None
    source: str = ""
    width: int = 0
    height: int = 0
    track_class: tuple[str | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.class_name)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        """The detections a boolean mask, a slice or indices select (``frame[frame.confidence > 0.5]``)."""
        picked = np.arange(len(self))[index]
        return Detections(
            self.frame_id,
            self.xyxy[picked].reshape(-1, 4),
            self.confidence[picked],
            self.class_id[picked],
            tuple(self.class_name[i] for i in picked),
            None if self.tracker_id is None else self.tracker_id[picked],
            self.time_s,
            self.source,
            self.width,
            self.height,
            None if self.track_class is None else tuple(self.track_class[i] for i in picked),
        )

    def counts(self) -> Counter[str]:
        """Detections per class name in this frame (the raw count)."""
        return Counter(self.class_name)

    def track_ids(self) -> list[int | None]:
        """Each detection's track id, None where it has none."""
        if self.tracker_id is None:
            return [None] * len(self)
        return [None if value == NO_TRACK else int(value) for value in self.tracker_id]

    @classmethod
    def from_ultralytics(
        cls, result: Any, frame_id: int, time_s: float | None = None, *, track_ids: list[int | None] | None = None
    ) -> Detections:
        """The detections of one ultralytics ``Results``, with the track id of each box when tracked."""
        boxes = result.boxes
        height, width = result.orig_shape[:2]
        facts = {"time_s": time_s, "source": Path(str(result.path)).name, "width": int(width), "height": int(height)}
        if boxes is None or not len(boxes):
            return cls(frame_id, tracker_id=None if track_ids is None else _empty(dtype=np.int64), **facts)
        class_id = np.asarray(boxes.cls.tolist(), dtype=np.int64)
        return cls(
            frame_id,
            np.asarray(boxes.xyxy.tolist(), dtype=np.float64).reshape(-1, 4),
            np.asarray(boxes.conf.tolist(), dtype=np.float64),
            class_id,
            tuple(str(result.names[int(c)]) for c in class_id),
            None if track_ids is None else np.asarray([NO_TRACK if t is None else t for t in track_ids], np.int64),
            **facts,
        )

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Detections:
        """A frame as ``detections.json(l)`` holds it."""
        found = record.get("detections") or []
        tracked = any("track_id" in d for d in found)
        classed = any("track_class" in d for d in found)
        return cls(
            int(record["frame_id"]),
            np.asarray([d["bbox"] for d in found], dtype=np.float64).reshape(-1, 4),
            np.asarray([d["confidence"] for d in found], dtype=np.float64),
            np.asarray([d.get("class_id", -1) for d in found], dtype=np.int64),
            tuple(str(d["class"]) for d in found),
            np.asarray([NO_TRACK if d.get("track_id") is None else d["track_id"] for d in found], np.int64)
            if tracked
            else None,
            record.get("time_s"),
            str(record.get("source", "")),
            int(record.get("width", 0)),
            int(record.get("height", 0)),
            tuple(d.get("track_class") for d in found) if classed else None,
        )

    def to_record(self) -> dict[str, Any]:
        """The frame in the diary's shape (``frame_id``, ``detections``: ``class``, ``confidence``, ``bbox``), with the
        added fields ``class_id``, ``track_id`` (with a tracker), ``track_class`` (with a track class), ``time_s``,
        ``source``, ``width`` and ``height``."""
        detections = []
        for index, track_id in enumerate(self.track_ids()):
            detection = {
                "class": self.class_name[index],
                "confidence": round(float(self.confidence[index]), 5),
                "bbox": [round(float(v), 2) for v in self.xyxy[index]],
                "class_id": int(self.class_id[index]),
            }
            if self.tracker_id is not None:
                detection["track_id"] = track_id
            if self.track_class is not None:
                detection["track_class"] = self.track_class[index]
            detections.append(detection)
        return {
            "frame_id": self.frame_id,
            "detections": detections,
            "time_s": None if self.time_s is None else round(self.time_s, 4),
            "source": self.source,
            "width": self.width,
            "height": self.height,
        }


def read_detections(path: Path) -> Iterator[Detections]:
    """The frames of a prediction, one at a time: ``detections.jsonl`` (streamed) or ``detections.json``."""
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield Detections.from_record(json.loads(line))
        return
    for record in json.loads(path.read_text(encoding="utf-8")):
        yield Detections.from_record(record)


def add_track_classes(jsonl_path: Path, track_classes: dict[int, str]) -> tuple[int, int]:
    """Give each detection of a tracked ``detections.jsonl`` its track's class name (``track_class``), streaming
    (constant memory), complete or not at all.

    ``track_classes`` maps each track id to its class name; a detection without a track id gets ``null``. A frame
    without a tracker is written back unchanged.

    Returns:
        (tuple[int, int]): What the track's class changed: detections whose class (the detector's) differs from
            their track's, and the tracks they belong to.
    """
    changed, tracks = 0, set()
    with (
        atomic_output(jsonl_path) as partial,
        partial.open("w", encoding="utf-8") as out,
        jsonl_path.open(encoding="utf-8") as lines,
    ):
        for line in lines:
            if not line.strip():
                continue
            frame = Detections.from_record(json.loads(line))
            if frame.tracker_id is not None:
                named = tuple(None if t is None else track_classes.get(t) for t in frame.track_ids())
                frame = replace(frame, track_class=named)
                for track_id, detected, voted in zip(frame.track_ids(), frame.class_name, named, strict=True):
                    if voted is not None and voted != detected:
                        changed, tracks = changed + 1, tracks | {track_id}
            out.write(json.dumps(frame.to_record(), ensure_ascii=False) + "\n")
    return changed, len(tracks)
