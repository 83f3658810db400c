"""Track detections across frames with ultralytics' trackers, fed low-confidence boxes; one class per track.

``model.track()`` has three traps for counting a classroom (``shared/notes/tracking.md``): a track takes the class
of its latest matched box (a track's class flickers with the detector's), it takes ``conf`` as the tracker's
input threshold (the user's 0.5 starves ByteTrack's second association, which uses boxes from 0.1) and it
replaces the detections by the confirmed tracks' boxes. So the workbook predicts once with a low threshold,
writes the detections that pass the user's ``conf`` with the detector's own boxes and a ``track_id`` (null until
the tracker confirms the object), writes every confirmed track's boxes in MOTChallenge rows for scoring, and gives
each track one class, in one of two ways (``attendance.track_class``):

- ``vote`` (the default, BoxMOT's rule): one tracker matches boxes whatever their class
  (:class:`VoteTracker`), and a track's class is the confidence-weighted vote over its matched frames (class ->
  summed detection confidence; the most, ties to the lower class index). A sitae the detector calls "student"
  for a few frames stays one track, a sitae: associating only within a class fails exactly when the class is
  wrong. While the video streams, a MOT row carries the class the detector gave its box in that frame; once
  it ends, the prediction rewrites every row with its track's voted class (:func:`rewrite_mot_classes`).
- ``per_class``: one tracker per class (:class:`ClassTrackers`): a track never changes class, but a class flip
  starts a second track (the sitae becomes a counted student for a few frames); a student never continues a
  desk's track where the two boxes overlap.

``track_buffer`` comes from seconds: ultralytics counts processed frames, so ``vid_stride`` and the video's fps
are taken into account.

Examples:
    >>> buffer_frames(2.0, fps=10.0, vid_stride=2)
    10
    >>> voted_class({0: 0.9 * 3, 2: 0.8 * 4})
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from yolo_workbook.config.trackers import TrackerConfig, resolve_tracker
from yolo_workbook.core.files import atomic_output

DEFAULT_FPS = 30.0  # for a source without a frame rate (an image folder): its frames are taken as a video's


def buffer_frames(lost_s: float, *, fps: float | None, vid_stride: int) -> int:
    """``track_buffer`` (processed frames) that keeps a lost track ``lost_s`` seconds."""
    return max(1, round(lost_s * (fps or DEFAULT_FPS) / max(1, vid_stride)))


def input_conf(trackers: list[TrackerConfig], output_conf: float) -> float:
    """The detector's threshold when tracking: low enough for every tracker's second association."""
    return min([output_conf, *(float(t.args.get("track_low_thresh", output_conf)) for t in trackers)])


def voted_class(votes: dict[int, float]) -> int:
    """The class with the most summed confidence (``votes``: class index -> sum); a tie goes to the lower index."""
    return min(votes, key=lambda cls: (-votes[cls], cls))


def _new_tracker(config: TrackerConfig, frame: int) -> Any:
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import IterableSimpleNamespace

    args = {**config.args, "device": "cpu"}  # no ReID encoder runs (with_reid is refused)
    tracker = TRACKER_MAP[config.tracker_type](args=IterableSimpleNamespace(**args))
    # A tracker started later starts at the video's frame: ultralytics confirms new tracks at once only on a
    # tracker's frame 1, so without this an object of a class first seen later would skip the confirmation frame.
    tracker.frame_id = frame
    return tracker


@dataclass
class _Tracking:
    """What both ways of tracking share: ids numbered in confirmation order, the MOT rows, the frame count."""

    config: TrackerConfig
    mot: IO[str] | None = None
    _ids: dict[Any, int] = field(default_factory=dict)  # the ultralytics tracker's id -> the workbook's
    _frames: int = 0  # frames fed so far

    relabels: ClassVar[bool] = False  # True: the MOT rows' classes change once the video ends (rewrite_mot_classes)

    @property
    def tracks(self) -> int:
        """Tracks confirmed so far."""
        return len(self._ids)

    def _row(self, frame_id: int, track_id: int, row: list[float], cls: int) -> None:
        if self.mot is not None:
            x1, y1, x2, y2, score = row[0], row[1], row[2], row[3], row[5]
            self.mot.write(
                f"{frame_id + 1},{track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{score:.4f},{cls + 1},-1\n"
            )


@dataclass
class ClassTrackers(_Tracking):
    """One tracker configuration, run as one ultralytics tracker per class, with ids unique across classes
    (``attendance.track_class: per_class``).

    Ids are numbered 1, 2, ... in the order the tracker confirms objects, over all classes.

    Args:
        config (TrackerConfig): The tracker (``predict.tracker``), ``track_buffer`` set (:func:`open_trackers`).
        mot (IO[str] | None): Where to write the confirmed tracks as MOTChallenge rows (class: 1-based id).
    """

    _trackers: dict[int, Any] = field(default_factory=dict)

    def _tracker(self, cls: int) -> Any:
        if cls not in self._trackers:
            self._trackers[cls] = _new_tracker(self.config, self._frames)
        return self._trackers[cls]

    def update(self, boxes: Any, image: np.ndarray, frame_id: int) -> list[int | None]:
        """Feed one frame's detections; return each detection's track id (None: not confirmed, or no match).

        Args:
            boxes (Any): The frame's ``result.boxes`` (any confidence; moved to numpy here).
            image (np.ndarray): The frame (BoT-SORT's motion compensation reads it).
            frame_id (int): The source frame (0-based), for the MOT rows.
        """
        detections = boxes.cpu().numpy()
        ids: list[int | None] = [None] * len(detections)
        classes = detections.cls.astype(int) if len(detections) else np.zeros(0, dtype=int)
        # Every class's tracker sees every frame (an empty one too), so lost tracks age as they should.
        for cls in sorted(set(classes.tolist()) | set(self._trackers)):
            where = np.flatnonzero(classes == cls)
            rows = self._tracker(cls).update(detections[where], image)
            for row in rows.tolist() if len(rows) else ():
                track_id = self._ids.setdefault((cls, int(row[4])), len(self._ids) + 1)
                ids[int(where[int(row[7])])] = track_id
                self._row(frame_id, track_id, row, cls)
        self._frames += 1
        return ids

    def track_classes(self) -> dict[int, int]:
        """Each track's class index: its tracker's class."""
        return {track_id: cls for (cls, _), track_id in self._ids.items()}


@dataclass
class VoteTracker(_Tracking):
    """One tracker configuration, run as one ultralytics tracker over every class; each track's class is the
    confidence-weighted vote over its matched frames (``attendance.track_class: vote``).

    Ids are numbered 1, 2, ... in the order the tracker confirms objects. A MOT row carries the class the
    detector gave the matched box in its frame; :meth:`track_classes` gives the vote, for
    :func:`rewrite_mot_classes` once the video ends.

    Args:
        config (TrackerConfig): The tracker (``predict.tracker``), ``track_buffer`` set (:func:`open_trackers`).
        mot (IO[str] | None): Where to write the confirmed tracks as MOTChallenge rows (class: 1-based id).
    """

    _tracker: Any = None
    _votes: dict[int, dict[int, float]] = field(default_factory=dict)  # track id -> class -> summed confidence

    relabels: ClassVar[bool] = True

    def update(self, boxes: Any, image: np.ndarray, frame_id: int) -> list[int | None]:
        """Feed one frame's detections; return each detection's track id (None: not confirmed, or no match).

        Args:
            boxes (Any): The frame's ``result.boxes`` (any confidence; moved to numpy here).
            image (np.ndarray): The frame (BoT-SORT's motion compensation reads it).
            frame_id (int): The source frame (0-based), for the MOT rows.
        """
        if self._tracker is None:
            self._tracker = _new_tracker(self.config, self._frames)
        detections = boxes.cpu().numpy()
        ids: list[int | None] = [None] * len(detections)
        rows = self._tracker.update(detections, image)
        for row in rows.tolist() if len(rows) else ():
            index = int(row[7])
            track_id = self._ids.setdefault(int(row[4]), len(self._ids) + 1)
            cls = int(detections.cls[index])  # the detector's class of this frame's box, not the track's latest
            votes = self._votes.setdefault(track_id, {})
            votes[cls] = votes.get(cls, 0.0) + float(detections.conf[index])
            ids[index] = track_id
            self._row(frame_id, track_id, row, cls)
        self._frames += 1
        return ids

    def track_classes(self) -> dict[int, int]:
        """Each track's class index: the vote over its frames so far (:func:`voted_class`)."""
        return {track_id: voted_class(votes) for track_id, votes in self._votes.items()}


TRACK_CLASS_MODES: dict[str, type[ClassTrackers] | type[VoteTracker]] = {
    "vote": VoteTracker,
    "per_class": ClassTrackers,
}  # attendance.track_class -> the way of tracking


def rewrite_mot_classes(path: Path, classes: dict[int, int]) -> Path:
    """Set every MOT row's class column to its track's class (``classes``: track id -> 0-based class index).

    Streamed (constant memory) and complete or not at all; a row whose track has no class there keeps its own.
    Every other byte of the file stays as it was.
    """
    with (
        atomic_output(path) as partial,
        path.open(encoding="utf-8") as rows,
        partial.open("w", encoding="utf-8") as out,
    ):
        for line in rows:
            fields = line.rstrip("\n").split(",")
            if len(fields) > 7 and fields[1].isdigit() and int(fields[1]) in classes:
                fields[7] = str(classes[int(fields[1])] + 1)
                line = ",".join(fields) + "\n"
            out.write(line)
    return path


def open_trackers(names: list[str], *, lost_s: float, fps: float | None, vid_stride: int) -> list[TrackerConfig]:
    """The round's trackers, resolved (``none`` dropped), with ``track_buffer`` set from seconds."""
    configs = [resolve_tracker(name) for name in names if name != "none"]
    frames = buffer_frames(lost_s, fps=fps, vid_stride=vid_stride)
    return [TrackerConfig(c.name, c.tracker_type, c.path, {**c.args, "track_buffer": frames}) for c in configs]


def mot_name(config: TrackerConfig) -> str:
    """The file of a compared tracker's rows: ``tracks.<name>.mot.txt`` (a path's stem for a YAML)."""
    return f"tracks.{Path(config.name).stem}.mot.txt"
