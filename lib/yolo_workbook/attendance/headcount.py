"""The headcount: one number per class a school can write down ("present: 14"), for the video and each minute.

A tracker gives a student hidden behind the teacher a new track id when they reappear, so counting tracks counts
some students twice. :func:`relink` joins such fragments into one identity, then :func:`headcount` counts the
identities seen long enough. The rule:

- **Re-linking**: a track continues an ended track (a fragment) of the same class when it starts after that
  fragment's last frame, at most ``lost_s`` seconds later (``(first_frame - last_frame) / fps``; frame ids are
  source frames, so ``vid_stride`` does not enter), and near it. **Near** is the seat hint: the centre of the new
  track's first box lies inside the old fragment's last box widened by half its width on the left and on the
  right and by half its height above and below (a box twice as wide and twice as high, same centre).
- When several ended fragments qualify, the one whose last box centre is closest to the new first box centre
  wins (ties: the one that ended last, then the lower identity number). Tracks are taken in order of their first
  frame (then track id); a fragment is continued at most once, so an identity is a sequence of fragments, never
  two tracks alive at once.
- **Present**: an identity whose fragments together were seen at least ``min_seen_s`` seconds
  (:func:`~yolo_workbook.attendance.counts.seconds_seen`, summed over its fragments).
- **Per minute**: the present identities whose span (first frame of the first fragment to last frame of the
  last, the hidden seconds between fragments included) overlaps the minute; minute ``m`` holds the frames
  whose time (``frame_id / fps``) lies in ``[60 m, 60 (m + 1))`` seconds, as the stable count's per minute.

The caller passes the tracks that pass its operating point (confidence is filtered before, not here).

Examples:
    >>> from yolo_workbook.attendance.counts import Track
    >>> seat = (100.0, 100.0, 140.0, 180.0)
    >>> before = Track(1, "student", 0, 99, 100, first_box=seat, last_box=seat)
    >>> after = Track(2, "student", 114, 299, 186, first_box=seat, last_box=seat)  # hidden 1.5 s at 10 fps
    >>> count = headcount([before, after], lost_s=2.0, fps=10.0, vid_stride=1, min_seen_s=2.0, classes=["student"])
    >>> count.classes["student"].present, count.classes["student"].relinked
    (1, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yolo_workbook.attendance.counts import MINUTE_S, Track, passing, seconds_seen
from yolo_workbook.prediction.track import DEFAULT_FPS

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Identity:
    """One person (or object) over the video: the track fragments :func:`relink` joined, in order.

    Attributes:
        number (int): 1, 2, ... in order of first appearance (over all classes).
        class_name (str): The class of every fragment.
        fragments (tuple[Track, ...]): Its tracks, each starting after the previous one's last frame.
    """

    number: int
    class_name: str
    fragments: tuple[Track, ...]

    @property
    def first_frame(self) -> int:
        """The first matched frame of the first fragment (0-based frame id)."""
        return self.fragments[0].first_frame

    @property
    def last_frame(self) -> int:
        """The last matched frame of the last fragment (0-based frame id)."""
        return self.fragments[-1].last_frame

    @property
    def track_ids(self) -> tuple[int, ...]:
        """The fragments' track ids, in order."""
        return tuple(track.track_id for track in self.fragments)

    def seen_s(self, *, fps: float | None, vid_stride: int) -> float:
        """Seconds seen, summed over the fragments (the hidden seconds between them are not seen)."""
        return sum(seconds_seen(track, fps=fps, vid_stride=vid_stride) for track in self.fragments)


@dataclass(frozen=True)
class ClassHeadcount:
    """The headcount of one class.

    Attributes:
        present (int): Identities seen at least ``min_seen_s`` seconds over the whole video.
        per_minute (list[int]): For each minute of the video, the present identities whose span overlaps it.
        fragments (int): The tracks of the class passed in (after the caller's operating point), before re-linking.
        relinked (int): Links made: ``fragments - relinked`` identities, of which ``present`` were seen long enough.
    """

    present: int
    per_minute: list[int]
    fragments: int
    relinked: int


@dataclass(frozen=True)
class Headcount:
    """What :func:`headcount` counted.

    Attributes:
        classes (dict[str, ClassHeadcount]): Per class, in the order asked for (a class with no track: zeros).
        identities (tuple[Identity, ...]): Every identity, present or not, by number.
        present (tuple[Identity, ...]): The identities counted as present.
        minutes (int): Minutes of video, the length of each ``per_minute``.
    """

    classes: dict[str, ClassHeadcount]
    identities: tuple[Identity, ...]
    present: tuple[Identity, ...]
    minutes: int

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Per class ``present``, ``per_minute``, ``fragments``, ``relinked``: plain values, for a JSON file."""
        return {
            name: {
                "present": c.present,
                "per_minute": list(c.per_minute),
                "fragments": c.fragments,
                "relinked": c.relinked,
            }
            for name, c in self.classes.items()
        }


def centre(box: Box) -> tuple[float, float]:
    """The centre ``(x, y)`` of an ``x1, y1, x2, y2`` box."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def near_seat(old_box: Box, point: tuple[float, float]) -> bool:
    """Whether ``point`` lies in ``old_box`` widened by half its width and height on each side (edges included)."""
    x1, y1, x2, y2 = old_box
    half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2
    return x1 - half_w <= point[0] <= x2 + half_w and y1 - half_h <= point[1] <= y2 + half_h


def relink(tracks: list[Track], *, lost_s: float, fps: float | None) -> list[Identity]:
    """Join track fragments of one person: a track that starts near where a lost one of its class ended.

    The rule is the module's (:mod:`yolo_workbook.attendance.headcount`): same class, starting after the old
    fragment's last frame and at most ``lost_s`` seconds later, its first box centre inside the old last box
    widened by half its width and height on each side; the closest centre wins; a fragment is continued once.

    Args:
        tracks (list[Track]): The tracks to join (any order); their boxes are in pixels.
        lost_s (float): The longest gap, in seconds, between a fragment's last frame and the next one's first.
        fps (float | None): The video's frame rate; None (images) counts ``DEFAULT_FPS`` frames a second.

    Returns:
        (list[Identity]): One per person, numbered 1, 2, ... in order of first appearance.

    Examples:
        >>> from yolo_workbook.attendance.counts import Track
        >>> seat, door = (100.0, 100.0, 140.0, 180.0), (600.0, 100.0, 640.0, 180.0)
        >>> tracks = [
        ...     Track(1, "student", 0, 99, 100, first_box=seat, last_box=seat),
        ...     Track(2, "student", 114, 299, 186, first_box=seat, last_box=seat),  # 1.5 s later, same seat
        ...     Track(3, "student", 120, 299, 180, first_box=door, last_box=door),  # another seat
        ... ]
        >>> [identity.track_ids for identity in relink(tracks, lost_s=2.0, fps=10.0)]
        [(1, 2), (3,)]
    """
    rate = fps or DEFAULT_FPS
    chains: list[list[Track]] = []
    for track in sorted(tracks, key=lambda t: (t.first_frame, t.track_id)):
        here = centre(track.first_box)
        best: tuple[float, int, int] | None = None  # (distance, -last frame, chain index): the smallest wins
        for index, chain in enumerate(chains):
            old = chain[-1]  # only a chain's last fragment has not been continued yet
            if old.class_name != track.class_name or track.first_frame <= old.last_frame:
                continue
            if (track.first_frame - old.last_frame) / rate > lost_s or not near_seat(old.last_box, here):
                continue
            key = (math.dist(here, centre(old.last_box)), -old.last_frame, index)
            best = key if best is None or key < best else best
        if best is None:
            chains.append([track])
        else:
            chains[best[2]].append(track)
    return [Identity(number, chain[0].class_name, tuple(chain)) for number, chain in enumerate(chains, start=1)]


def counted_spans(tracks: list[Track], conf: Any, *, lost_s: float, fps: float | None) -> list[Track]:
    """What the stable count counts, frame by frame: each identity of the tracks that pass the operating point
    (``conf``, :func:`~yolo_workbook.attendance.counts.passing`), alive from its first to its last frame.

    A student hidden for longer than the tracker waits comes back as a new track; re-linked, they count in the
    frames between too. Each span is one :class:`Track` (the identity's number, its frames seen summed, its mean
    confidence over them).

    Examples:
        >>> from yolo_workbook.attendance.counts import Track
        >>> seat = (100.0, 100.0, 140.0, 180.0)
        >>> before = Track(1, "student", 0, 99, 100, 0.5, seat, seat)
        >>> after = Track(2, "student", 114, 299, 186, 0.8, seat, seat)  # back 1.5 s later, at the seat
        >>> [(t.first_frame, t.last_frame) for t in counted_spans([before, after], 0.3, lost_s=2.0, fps=10.0)]
        [(0, 299)]
    """
    spans = []
    for identity in relink(passing(tracks, conf), lost_s=lost_s, fps=fps):
        first, last = identity.fragments[0], identity.fragments[-1]
        seen = sum(t.frames_seen for t in identity.fragments)
        mean = sum(t.confidence * t.frames_seen for t in identity.fragments) / max(1, seen)
        spans.append(
            Track(
                identity.number,
                identity.class_name,
                first.first_frame,
                last.last_frame,
                seen,
                mean,
                first.first_box,
                last.last_box,
            )  # fmt: skip
        )
    return spans


def minute_of(frame_id: int, *, fps: float | None) -> int:
    """The minute of the video (0, 1, ...) a source frame id falls in, as the stable count's per minute counts."""
    return int(frame_id / (fps or DEFAULT_FPS) // MINUTE_S)


def headcount(
    tracks: list[Track],
    *,
    lost_s: float,
    fps: float | None,
    vid_stride: int,
    min_seen_s: float,
    classes: Sequence[str],
    frames_total: int | None = None,
) -> Headcount:
    """The headcount per class: identities (re-linked fragments) seen at least ``min_seen_s`` seconds.

    Args:
        tracks (list[Track]): The tracks that pass the operating point (the caller filters by confidence).
        lost_s (float): ``attendance.lost_s``: the longest gap a fragment is continued across (:func:`relink`).
        fps (float | None): The video's frame rate; None (images) counts ``DEFAULT_FPS`` frames a second.
        vid_stride (int): Source frames per processed frame: each matched frame stands for this many.
        min_seen_s (float): ``attendance.min_seen_s``: an identity seen this long in total is present.
        classes (Sequence[str]): The classes to count, in order (``classes.txt``).
        frames_total (int | None): Source frames of the video (frame ids ``0 .. frames_total - 1``): sets the
            number of minutes. ``counts.frame_ids[-1] + 1`` gives the minutes of the stable count's per minute.
            None: up to the last frame of any track.

    Returns:
        (Headcount): Per class ``present``, ``per_minute``, ``fragments`` and ``relinked``, and the identities.

    Raises:
        ValueError: A track of a class not in ``classes``, or one ending at or after ``frames_total``.

    Examples:
        >>> from yolo_workbook.attendance.counts import Track
        >>> seat = (100.0, 100.0, 140.0, 180.0)
        >>> blip = Track(1, "student", 0, 4, 5, first_box=seat, last_box=seat)  # seen 0.5 s
        >>> count = headcount([blip], lost_s=2.0, fps=10.0, vid_stride=1, min_seen_s=2.0, classes=["student", "desk"])
        >>> count.classes["student"]
        ClassHeadcount(present=0, per_minute=[0], fragments=1, relinked=0)
        >>> count.to_dict()["desk"]
        {'present': 0, 'per_minute': [0], 'fragments': 0, 'relinked': 0}
    """
    for track in tracks:
        if track.class_name not in classes:
            raise ValueError(
                f"headcount: track {track.track_id} is a {track.class_name!r}, not one of {list(classes)}: "
                "pass the classes of the prediction's classes.txt"
            )
        if frames_total is not None and track.last_frame >= frames_total:
            raise ValueError(
                f"headcount: track {track.track_id} ends at frame id {track.last_frame}, after the video's "
                f"{frames_total} frames: pass the source frame count (frame ids are source frames, whatever vid_stride)"
            )
    identities = relink(tracks, lost_s=lost_s, fps=fps)
    present = tuple(i for i in identities if i.seen_s(fps=fps, vid_stride=vid_stride) >= min_seen_s)
    last_frame = frames_total - 1 if frames_total is not None else max((t.last_frame for t in tracks), default=-1)
    minutes = minute_of(last_frame, fps=fps) + 1 if last_frame >= 0 else 0
    per_minute = {name: [0] * minutes for name in classes}
    for identity in present:
        first, last = minute_of(identity.first_frame, fps=fps), minute_of(identity.last_frame, fps=fps)
        for minute in range(first, last + 1):  # the span: a student hidden between fragments is in the room
            per_minute[identity.class_name][minute] += 1
    per_class = {}
    for name in classes:
        mine = [i for i in identities if i.class_name == name]
        per_class[name] = ClassHeadcount(
            present=sum(1 for i in present if i.class_name == name),
            per_minute=per_minute[name],
            fragments=sum(len(i.fragments) for i in mine),
            relinked=sum(len(i.fragments) - 1 for i in mine),
        )
    return Headcount(per_class, tuple(identities), present, minutes)
