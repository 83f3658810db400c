"""Counts a school can use, from a prediction job's files: per class and frame, per track, per video.

A raw count (detections of a class in a frame) dips whenever a student is hidden for a moment or a
box flickers around the threshold. The stable count is a median over a window of ``attendance.window_s``
seconds centred on the frame: of the tracks alive in each frame when the prediction has a tracker, else of
the raw count. The headcount of the video is the number of distinct tracks seen for at least
``attendance.min_seen_s`` seconds.

Written next to the detections:

- ``counts.csv``: ``frame_id,time_s,<class>_raw,[<class>_tracks,]<class>_stable,...`` (opens in a spreadsheet;
  ``_tracks``, the tracks alive, with a tracker);
- ``tracks.csv``: one row per track: class, first and last frame and second, seconds seen, counted;
- ``attendance.json`` (``schemas/attendance.schema.json``): the settings, per class the whole video's
  and each minute's stable count and the counted tracks, and the score when ground truth is known.

Examples:
    >>> stable_counts([3, 3, 0, 3, 3, 2, 2], window=3)
    [3, 3, 3, 3, 3, 2, 2]
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yolo_workbook.attendance.truth import MotRows, read_classes
from yolo_workbook.core.files import read_json, write_atomic
from yolo_workbook.prediction.detections import read_detections
from yolo_workbook.prediction.track import DEFAULT_FPS

MINUTE_S = 60.0  # the summary's stable count per minute of video
DEFAULT_CONF = 0.25  # ultralytics' predictor uses 0.25 when conf is not given; a class a mapping does not name too


@dataclass(frozen=True)
class FrameCounts:
    """The counts of one prediction job, per class, aligned with ``frame_ids``.

    Attributes:
        raw (dict[str, list[int]]): Detections of the class in the frame.
        tracked (dict[str, list[int]] | None): With a tracker, the class's tracks alive in the frame (between
            their first and their last matched frame: a hidden student whose track lives on is counted).
        stable (dict[str, list[int]]): The median of ``tracked`` (else ``raw``) over ``window_frames`` frames.
    """

    classes: tuple[str, ...]
    frame_ids: list[int]
    times: list[float | None]
    raw: dict[str, list[int]]
    window_frames: int
    stable: dict[str, list[int]]
    tracked: dict[str, list[int]] | None = None

    @property
    def basis(self) -> dict[str, list[int]]:
        """What the stable count is the median of: the tracks alive when there are tracks, else the raw count."""
        return self.tracked if self.tracked is not None else self.raw


def window_frames(window_s: float, *, fps: float | None, vid_stride: int) -> int:
    """Processed frames in a window of ``window_s`` seconds: odd (centred), at least 1.

    A source without a frame rate (images) is taken at ``DEFAULT_FPS``, as the tracker's buffer is.
    """
    frames = round(window_s * (fps or DEFAULT_FPS) / max(1, vid_stride))
    return max(1, frames if frames % 2 else frames + 1)


def stable_counts(raw: list[int], *, window: int) -> list[int]:
    """The median of ``raw`` over ``window`` frames centred on each frame (fewer at the ends), rounded down."""
    half = window // 2
    return [int(statistics.median_low(raw[max(0, i - half) : i + half + 1])) for i in range(len(raw))]


def frame_counts(job_dir: Path, *, window_s: float, tracks: list[Track] | None = None) -> FrameCounts:
    """Read ``detections.jsonl`` once: the raw count per class and frame, the tracks alive, the stable count."""
    summary = read_json(job_dir / "summary.json")
    classes = read_classes(job_dir / "classes.txt")
    frame_ids: list[int] = []
    times: list[float | None] = []
    raw: dict[str, list[int]] = {name: [] for name in classes}
    for frame in read_detections(job_dir / "detections.jsonl"):
        frame_ids.append(frame.frame_id)
        times.append(frame.time_s)
        counts = frame.counts()
        for name in classes:
            raw[name].append(counts.get(name, 0))
    tracked = alive_counts(tracks, classes, frame_ids) if tracks is not None else None
    counts = FrameCounts(classes, frame_ids, times, raw, 1, raw, tracked)
    fps, stride = summary.get("fps"), int(summary.get("vid_stride") or 1)
    return with_window(counts, window_s, fps=fps, vid_stride=stride)


def alive_counts(tracks: list[Track], classes: tuple[str, ...], frame_ids: list[int]) -> dict[str, list[int]]:
    """Per class and frame: the tracks whose life (first to last matched frame) covers the frame."""
    frames = np.asarray(frame_ids, dtype=np.int64)
    alive = {name: np.zeros(len(frames) + 1, dtype=np.int64) for name in classes}
    for track in tracks:
        if track.class_name in alive:
            start = int(np.searchsorted(frames, track.first_frame, side="left"))
            end = int(np.searchsorted(frames, track.last_frame, side="right"))
            alive[track.class_name][start] += 1
            alive[track.class_name][end] -= 1
    return {name: np.cumsum(steps[:-1]).tolist() for name, steps in alive.items()}


def with_window(counts: FrameCounts, window_s: float, *, fps: float | None, vid_stride: int) -> FrameCounts:
    """The same counts with the stable count over another window."""
    window = window_frames(window_s, fps=fps, vid_stride=vid_stride)
    stable = {name: stable_counts(values, window=window) for name, values in counts.basis.items()}
    return FrameCounts(counts.classes, counts.frame_ids, counts.times, counts.raw, window, stable, counts.tracked)


def write_counts_csv(counts: FrameCounts, path: Path) -> Path:
    """``counts.csv``: one row per frame, per class a raw, (with a tracker) a tracks-alive and a stable column."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    kinds = ("raw", "tracks", "stable") if counts.tracked is not None else ("raw", "stable")
    writer.writerow(["frame_id", "time_s", *(f"{name}_{kind}" for name in counts.classes for kind in kinds)])
    columns = {"raw": counts.raw, "tracks": counts.tracked or {}, "stable": counts.stable}
    for row, frame_id in enumerate(counts.frame_ids):
        values = [columns[kind][name][row] for name in counts.classes for kind in kinds]
        writer.writerow([frame_id, "" if counts.times[row] is None else counts.times[row], *values])
    return write_atomic(path, text.getvalue())


@dataclass(frozen=True)
class Track:
    """One confirmed track: its class, where it starts and ends, how long it was seen and how sure the detector was.

    Attributes:
        track_id (int): The track's id in ``tracks.mot.txt``.
        class_name (str): The track's class (one per track: the vote over its frames, or its tracker's class).
        first_frame (int): The first matched frame (0-based frame_id).
        last_frame (int): The last matched frame (0-based frame_id).
        frames_seen (int): Frames the tracker matched it in.
        confidence (float): The mean detection confidence over its matched frames: what a per-class operating
            point (``predict.conf``) compares with, to count the track or not.
        first_box (tuple[float, float, float, float]): Its box (``x1, y1, x2, y2``) in the first matched frame.
        last_box (tuple[float, float, float, float]): Its box in the last matched frame.
    """

    track_id: int
    class_name: str
    first_frame: int
    last_frame: int
    frames_seen: int
    confidence: float = 1.0
    first_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    last_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def conf_of(conf: Any, name: str) -> float:
    """The operating point of class ``name`` under ``predict.conf`` (a number, a class -> number mapping, or unset).

    Examples:
        >>> conf_of(0.5, "desk"), conf_of({"student": 0.3}, "desk"), conf_of(None, "desk")
        (0.5, 0.25, 0.25)
    """
    if isinstance(conf, dict):
        return float(conf.get(name, DEFAULT_CONF))
    return DEFAULT_CONF if conf is None else float(conf)


def passing(tracks: list[Track], conf: Any) -> list[Track]:
    """The tracks the operating point counts: mean confidence at least their class's ``conf`` (:mod:`.operating`).

    Examples:
        >>> tracks = [Track(1, "student", 0, 9, 10, confidence=0.8), Track(2, "student", 0, 9, 10, confidence=0.2)]
        >>> [t.track_id for t in passing(tracks, {"student": 0.5})]
        [1]
    """
    return [t for t in tracks if t.confidence >= conf_of(conf, t.class_name) - 1e-9]


def track_table(rows: MotRows) -> list[Track]:
    """One :class:`Track` per id of a prediction's ``tracks.mot.txt`` (a track has one class)."""
    tracks = []
    for track_id in np.unique(rows.track_id).tolist():
        mine = np.flatnonzero(rows.track_id == track_id)
        mine = mine[np.argsort(rows.frame[mine], kind="stable")]
        seen = rows.frame[mine]
        name = rows.classes[int(rows.class_index[mine[0]])]
        tracks.append(
            Track(
                int(track_id),
                name,
                int(seen[0]) - 1,
                int(seen[-1]) - 1,
                len(mine),
                float(rows.conf[mine].mean()),
                tuple(float(v) for v in rows.box[mine[0]]),
                tuple(float(v) for v in rows.box[mine[-1]]),
            )
        )
    return tracks


def seconds_seen(track: Track, *, fps: float | None, vid_stride: int) -> float:
    """How long a track was seen: frames matched times the time between processed frames."""
    return track.frames_seen * max(1, vid_stride) / (fps or DEFAULT_FPS)


def write_tracks_csv(
    tracks: list[Track], path: Path, *, fps: float | None, vid_stride: int, min_seen_s: float, conf: Any = None
) -> Path:
    """``tracks.csv``: one row per track; ``counted`` when seen at least ``min_seen_s`` seconds with a mean
    ``confidence`` that reaches its class's operating point (``conf``: ``predict.conf``, see :mod:`.operating`)."""

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(
        [
            "track_id",
            "class",
            "first_frame_id",
            "last_frame_id",
            "first_s",
            "last_s",
            "seen_s",
            "frames_seen",
            "confidence",
            "counted",
        ]
    )
    rate = fps or DEFAULT_FPS
    for track in tracks:
        seen = seconds_seen(track, fps=fps, vid_stride=vid_stride)
        writer.writerow(
            [
                track.track_id,
                track.class_name,
                track.first_frame,
                track.last_frame,
                round(track.first_frame / rate, 3),
                round(track.last_frame / rate, 3),
                round(seen, 3),
                track.frames_seen,
                round(track.confidence, 4),
                seen >= min_seen_s and track.confidence >= conf_of(conf, track.class_name) - 1e-9,
            ]
        )
    return write_atomic(path, text.getvalue())


def per_minute(counts: FrameCounts, name: str, *, fps: float | None) -> list[int]:
    """The stable count of ``name`` over each minute of the video: the median there of what the stable count is
    the median of (the tracks alive with a tracker, else the raw count)."""
    minutes: dict[int, list[int]] = {}
    for frame_id, value in zip(counts.frame_ids, counts.basis[name], strict=True):
        minutes.setdefault(int(frame_id / (fps or DEFAULT_FPS) // MINUTE_S), []).append(value)
    return [int(statistics.median_low(minutes[m])) for m in sorted(minutes)]


def counted_tracks(tracks: list[Track], name: str, *, fps: float | None, vid_stride: int, min_seen_s: float) -> int:
    """Tracks of class ``name`` seen at least ``min_seen_s`` seconds: the distinct objects of the video."""
    return sum(
        1 for t in tracks if t.class_name == name and seconds_seen(t, fps=fps, vid_stride=vid_stride) >= min_seen_s
    )


def class_summary(counts: FrameCounts, name: str, tracks: list[Track] | None, **timing: Any) -> dict[str, Any]:
    """Per class: the whole video's stable count, each minute's, the peak, and the counted tracks.

    ``timing``: ``fps``, ``vid_stride`` and ``min_seen_s``.
    """
    basis = counts.basis[name]
    return {
        "stable_count": int(statistics.median_low(basis)) if basis else 0,
        "per_minute": per_minute(counts, name, fps=timing["fps"]),
        "peak_stable": max(counts.stable[name], default=0),
        "counted_tracks": None if tracks is None else counted_tracks(tracks, name, **timing),
    }
