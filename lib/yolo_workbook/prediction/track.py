"""Track detections across frames with ultralytics' trackers: one tracker per class, fed low-confidence boxes.

``model.track()`` has three traps for counting a classroom (``shared/notes/tracking.md``): it matches
boxes by IoU whatever their class (a student's box continues a desk's track when the two overlap), it
takes ``conf`` as the tracker's input threshold (the user's 0.5 starves ByteTrack's second association,
which uses boxes from 0.1) and it replaces the detections by the confirmed tracks' boxes. So the
workbook predicts once with a low threshold, gives each class its own tracker (a track never changes
class), writes the detections that pass the user's ``conf`` with the detector's own boxes and a
``track_id`` (null until the tracker confirms the object), and writes every confirmed track's boxes
in MOTChallenge rows for scoring. ``track_buffer`` comes from seconds: ultralytics counts processed
frames, so ``vid_stride`` and the video's fps are taken into account.

Examples:
    >>> buffer_frames(2.0, fps=10.0, vid_stride=2)
    10
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from yolo_workbook.config.trackers import TrackerConfig, resolve_tracker

DEFAULT_FPS = 30.0  # for a source without a frame rate (an image folder): its frames are taken as a video's


def buffer_frames(lost_s: float, *, fps: float | None, vid_stride: int) -> int:
    """``track_buffer`` (processed frames) that keeps a lost track ``lost_s`` seconds."""
    return max(1, round(lost_s * (fps or DEFAULT_FPS) / max(1, vid_stride)))


def input_conf(trackers: list[TrackerConfig], output_conf: float) -> float:
    """The detector's threshold when tracking: low enough for every tracker's second association."""
    return min([output_conf, *(float(t.args.get("track_low_thresh", output_conf)) for t in trackers)])


@dataclass
class ClassTrackers:
    """One tracker configuration, run as one ultralytics tracker per class, with ids unique across classes.

    Ids are numbered 1, 2, ... in the order the tracker confirms objects, over all classes.

    Args:
        config (TrackerConfig): The tracker (``predict.tracker``), ``track_buffer`` set (:func:`open_trackers`).
        mot (IO[str] | None): Where to write the confirmed tracks as MOTChallenge rows (class: 1-based id).
    """

    config: TrackerConfig
    mot: IO[str] | None = None
    _trackers: dict[int, Any] = field(default_factory=dict)
    _ids: dict[tuple[int, int], int] = field(default_factory=dict)
    _frames: int = 0  # frames fed so far

    def _tracker(self, cls: int) -> Any:
        if cls not in self._trackers:
            from ultralytics.trackers.track import TRACKER_MAP
            from ultralytics.utils import IterableSimpleNamespace

            args = {**self.config.args, "device": "cpu"}  # no ReID encoder runs (with_reid is refused)
            tracker = TRACKER_MAP[self.config.tracker_type](args=IterableSimpleNamespace(**args))
            # A class first seen later starts at the video's frame: ultralytics confirms new tracks at once only
            # on a tracker's frame 1, so without this an object of a new class would skip the confirmation frame.
            tracker.frame_id = self._frames
            self._trackers[cls] = tracker
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
            for x1, y1, x2, y2, local, score, _cls, idx in rows.tolist() if len(rows) else ():
                track_id = self._ids.setdefault((cls, int(local)), len(self._ids) + 1)
                ids[int(where[int(idx)])] = track_id
                if self.mot is not None:
                    self.mot.write(
                        f"{frame_id + 1},{track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                        f"{score:.4f},{cls + 1},-1\n"
                    )
        self._frames += 1
        return ids


def open_trackers(names: list[str], *, lost_s: float, fps: float | None, vid_stride: int) -> list[TrackerConfig]:
    """The round's trackers, resolved (``none`` dropped), with ``track_buffer`` set from seconds."""
    configs = [resolve_tracker(name) for name in names if name != "none"]
    frames = buffer_frames(lost_s, fps=fps, vid_stride=vid_stride)
    return [TrackerConfig(c.name, c.tracker_type, c.path, {**c.args, "track_buffer": frames}) for c in configs]


def mot_name(config: TrackerConfig) -> str:
    """The file of a compared tracker's rows: ``tracks.<name>.mot.txt`` (a path's stem for a YAML)."""
    return f"tracks.{Path(config.name).stem}.mot.txt"
