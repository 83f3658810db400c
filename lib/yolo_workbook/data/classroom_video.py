"""A synthetic classroom video with ground truth, for counting and tracking scores.

Rows of seats seen from the front of the room: each seat is a desk with a student just above it, a
far row small and a near row large, drawn like the objects of the demo datasets (same shapes and
colours, from :mod:`.shapes`; same grey background and noise) so that the demo detectors recognise
them. Events make raw per-frame counts wrong: a teacher (a grey shape of no class) walks slowly in
front of the near row and hides what is behind; some students come in late or leave early; students
duck out of sight for a moment while still present. One rare ``sitae`` (sometimes two) is there
part of the time. The truth is written next to the video in the MOTChallenge layout of the design
doc (``<stem>.truth/``: ``classes.txt``, ``gt/gt.txt``, ``counts.csv``, ``seqinfo.ini``),
streaming, frame by frame, so a long video needs no more memory than a short one.

Examples:
    >>> from yolo_workbook.data.classroom_video import write_classroom_video
    >>> written = write_classroom_video("/tmp/classroom_video.mp4", size="ci")  # doctest: +SKIP
    >>> written.frames, written.width, written.height
    (40, 160, 96)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo_workbook.core.errors import WorkbookError
from yolo_workbook.core.files import atomic_output, write_atomic
from yolo_workbook.data.shapes import CLASS_NAMES, draw_object

STUDENT, DESK, SITAE = (CLASS_NAMES.index(name) for name in ("student", "desk", "sitae"))

# size -> (width, height, fps, frames). The scene is laid out at 320 px wide and scaled to the width.
VIDEO_SIZES: dict[str, tuple[int, int, float, int]] = {"demo": (320, 192, 10.0, 240), "ci": (160, 96, 10.0, 40)}

_LAYOUT_WIDTH = 320
# Rows from the back (top of the picture) to the front: seats, student width range, desk width
# range (pixels at the layout width), desk height / width. The demo detectors learned objects of
# 19-48 px; below about 22 px a flat desk is mostly missed, so the far row starts there.
_ROWS = ((6, (21, 24), (25, 28), 0.85), (6, (26, 30), (28, 32), 0.9), (5, (32, 35), (36, 40), 0.9))
_MARGIN, _ROW_GAP, _SEAT_GAP = 3, 3, 3  # pixels at the layout width
_TEACHER_WIDTH, _TEACHER_SPEED = 40, 2.0  # pixels, pixels per frame (at the layout width)
_TEACHER_GREY = (112, 112, 112)  # a mid grey: none of the three class colours
_PASS_FRAMES = 240  # one teacher pass per this many frames
_DUCK_EVERY = 60  # frames per ducking student, on average

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class ClassroomVideo:
    """What :func:`write_classroom_video` wrote.

    Attributes:
        video (Path): The MP4 file.
        truth (Path): Its ground-truth folder, ``<stem>.truth/`` beside it.
        frames (int): Frames in the video.
        fps (float): Frames per second.
        width (int): Frame width in pixels.
        height (int): Frame height in pixels.
        objects (dict[str, int]): Distinct identities per class name (those present in some frame).
    """

    video: Path
    truth: Path
    frames: int
    fps: float
    width: int
    height: int
    objects: dict[str, int]


@dataclass
class _Thing:
    """One object of the scene: where it is, when it is there, when it is out of sight."""

    ident: int
    cls: int
    box: Box  # x1, y1, x2, y2 at rest
    shade: float
    start: int = 0  # first frame present (0-based)
    end: int = 1 << 30  # first frame no longer present
    sway: tuple[float, float, float] = (0.0, 1.0, 0.0)  # amplitude px, period frames, phase
    hidden: tuple[tuple[int, int], ...] = ()  # [start, end) frames ducking: present, not drawn

    def box_at(self, frame: int) -> Box:
        amplitude, period, phase = self.sway
        dx = round(amplitude * math.sin(2 * math.pi * frame / period + phase))
        x1, y1, x2, y2 = self.box
        return x1 + dx, y1, x2 + dx, y2

    def present(self, frame: int) -> bool:
        return self.start <= frame < self.end

    def ducking(self, frame: int) -> bool:
        return any(a <= frame < b for a, b in self.hidden)


@dataclass(frozen=True)
class _Pass:
    """The teacher walking across the picture once, in front of the near row."""

    start: int
    speed: float  # pixels per frame, signed
    x0: float  # left edge at ``start``


def _layout(rng: np.random.Generator, scale: float) -> tuple[list[Box], list[Box], list[Box], list[int]]:
    """Seat the room: per seat a student box, a desk box, a sitae box and the row (0 = far)."""
    students, desks, sitaes, rows = [], [], [], []
    top = _MARGIN
    for row, (seats, student_w, desk_w, desk_aspect) in enumerate(_ROWS):
        widths = [
            (int(rng.integers(student_w[0], student_w[1] + 1)), int(rng.integers(desk_w[0], desk_w[1] + 1)))
            for _ in range(seats)
        ]
        heights = [(round(sw * rng.uniform(0.85, 0.95)), round(dw * desk_aspect)) for sw, dw in widths]
        student_h = max(h for h, _ in heights)
        pitch = _LAYOUT_WIDTH / seats
        for seat, ((sw, dw), (sh, dh)) in enumerate(zip(widths, heights, strict=True)):
            centre = pitch * (seat + 0.5) + rng.uniform(-3, 3)
            sy2 = top + student_h  # students sit on one line, their desks just below it
            student = (centre - sw / 2, sy2 - sh, centre + sw / 2, sy2)
            desk = (centre - dw / 2, sy2 + _SEAT_GAP, centre + dw / 2, sy2 + _SEAT_GAP + dh)
            # A sitae fills the student's line, taller than wide: flat triangles read as students.
            sitae = (centre - student_h / 2.4, top, centre + student_h / 2.4, sy2)
            students.append(tuple(round(v * scale) for v in student))
            desks.append(tuple(round(v * scale) for v in desk))
            sitaes.append(tuple(round(v * scale) for v in sitae))
            rows.append(row)
        top += student_h + _SEAT_GAP + max(h for _, h in heights) + _ROW_GAP
    return students, desks, sitaes, rows


def _scene(rng: np.random.Generator, frames: int, scale: float) -> tuple[list[_Thing], list[_Pass]]:
    """Every object with its schedule, and the teacher's passes; all drawn from ``rng``."""
    students, desks, sitaes, rows = _layout(rng, scale)
    seats = len(desks)
    things = [_Thing(i + 1, DESK, box, float(rng.uniform(0.85, 1.15))) for i, box in enumerate(desks)]
    order = [int(s) for s in rng.permutation(seats)]
    # A sitae sits where a student would, in the near row: the rare class is the hardest to see,
    # and the demo detectors take smaller triangles (below about 27 px) for students.
    sitae_seats = [s for s in order if rows[s] == len(_ROWS) - 1][: int(rng.integers(1, 3))]
    others = [s for s in order if s not in sitae_seats]
    late = others[: int(rng.integers(2, 4))]
    early = others[len(late) :][: int(rng.integers(1, 3))]
    ident = seats
    for seat in range(seats):
        ident += 1
        if seat in sitae_seats:
            index = sitae_seats.index(seat)
            start, end = (round(frames * 0.2), round(frames * 0.75)) if index == 0 else (round(frames * 0.5), frames)
            things.append(_Thing(ident, SITAE, sitaes[seat], float(rng.uniform(0.9, 1.1)), start, end))
            continue
        student = _Thing(ident, STUDENT, students[seat], float(rng.uniform(0.85, 1.15)))
        student.sway = (
            float(rng.integers(1, 3)) * max(scale, 0.5),
            float(rng.uniform(20, 50)),
            float(rng.uniform(0, 2 * math.pi)),
        )
        if seat in late:
            student.start = round(frames * rng.uniform(0.1, 0.45))
        if seat in early:
            student.end = round(frames * rng.uniform(0.6, 0.9))
        things.append(student)
    pupils = [t for t in things if t.cls == STUDENT]
    for _ in range(max(2, frames // _DUCK_EVERY)):  # ducks: out of sight 0.5-2 s, still in the room
        pupil = pupils[int(rng.integers(len(pupils)))]
        first, last = pupil.start, min(pupil.end, frames)
        length = min(int(rng.integers(5, 21)), max(1, (last - first) // 3))
        if last - first > length:
            begin = int(rng.integers(first, last - length))
            pupil.hidden += ((begin, begin + length),)
    passes = []
    count = max(1, frames // _PASS_FRAMES)
    width, teacher = _LAYOUT_WIDTH * scale, _TEACHER_WIDTH * scale
    for k in range(count):
        block = frames / count
        speed = max(_TEACHER_SPEED * scale, (width + teacher) / (0.85 * block))
        start = round(k * block + 0.05 * block)
        passes.append(_Pass(start, speed, -teacher) if k % 2 == 0 else _Pass(start, -speed, width))
    return things, passes


def _teacher_mask(
    passes: list[_Pass], frame: int, scale: float, near_top: int, shape: tuple[int, int]
) -> np.ndarray | None:
    """The teacher's pixels in ``frame`` (a body and a head), or ``None`` when not in the picture."""
    import cv2

    height, width = shape
    body_w = round(_TEACHER_WIDTH * scale)
    for walk in passes:
        left = round(walk.x0 + walk.speed * (frame - walk.start))
        if frame >= walk.start and -body_w < left < width:
            mask = np.zeros(shape, dtype=np.uint8)
            body_top = near_top - round(4 * scale)
            cv2.rectangle(mask, (left, body_top), (left + body_w - 1, height - 1), 1, -1)
            radius = round(11 * scale)
            cv2.circle(mask, (left + body_w // 2, body_top - radius + round(2 * scale)), radius, 1, -1)
            return mask.astype(bool)
    return None


def _frames(
    things: list[_Thing], passes: list[_Pass], *, frames: int, size: tuple[int, int], scale: float, seed: int
) -> Iterator[tuple[np.ndarray, list[tuple[_Thing, Box, float]]]]:
    """Yield each frame's picture and its present objects as ``(thing, box, visibility)``."""
    width, height = size
    noise_rng = np.random.default_rng([seed, 1])
    level = float(np.random.default_rng([seed, 2]).integers(150, 216))
    near_top = min(t.box[1] for t in things if t.cls != DESK and t.box[3] > height * 0.6)
    for frame in range(frames):
        img = np.clip(level + 10.0 * noise_rng.standard_normal((height, width, 3), dtype=np.float32), 0, 255).astype(
            np.uint8
        )
        present = []
        for thing in things:
            if not thing.present(frame):
                continue
            box = thing.box_at(frame)
            ducking = thing.ducking(frame)
            if not ducking:
                draw_object(img, thing.cls, box, shade=thing.shade)
            present.append((thing, box, ducking))
        mask = _teacher_mask(passes, frame, scale, near_top, (height, width))
        if mask is not None:
            img[mask] = _TEACHER_GREY
        shown = []
        for thing, (x1, y1, x2, y2), ducking in present:
            covered = float(mask[y1:y2, x1:x2].mean()) if mask is not None else 0.0
            shown.append((thing, (x1, y1, x2, y2), 0.0 if ducking else 1.0 - covered))
        yield img, shown


def write_classroom_video(
    video_path: str | Path, *, size: str = "demo", frames: int | None = None, seed: int = 7
) -> ClassroomVideo:
    """Write a synthetic classroom video and its ground truth (``<stem>.truth/`` beside it).

    Args:
        video_path (str | Path): The MP4 to write; its folder is created.
        size (str): ``demo`` (320x192 px, 10 fps, 240 frames) or ``ci`` (160x96 px, 40 frames).
        frames (int | None): Frame count instead of the size's own (the scene's events scale with it).
        seed (int): Random seed; the same seed writes the same pictures and identical truth files.

    Returns:
        (ClassroomVideo): The paths written, the video's geometry and the identities per class.

    Raises:
        WorkbookError: An unknown size, a frame count below 1, or OpenCV cannot write MP4.

    Examples:
        >>> written = write_classroom_video("/tmp/v/classroom_video.mp4", size="ci", frames=20)  # doctest: +SKIP
        >>> sorted(p.name for p in written.truth.iterdir())
        ['classes.txt', 'counts.csv', 'gt', 'seqinfo.ini']
    """
    import cv2

    if size not in VIDEO_SIZES:
        raise WorkbookError(f"unknown classroom-video size {size!r}", fix=f"use one of: {', '.join(VIDEO_SIZES)}")
    width, height, fps, default_frames = VIDEO_SIZES[size]
    count = default_frames if frames is None else int(frames)
    if count < 1:
        raise WorkbookError(f"classroom video {video_path}: frames={frames} is below 1", fix="ask for 1 frame or more")
    video = Path(video_path)
    truth = video.with_name(f"{video.stem}.truth")
    scale = width / _LAYOUT_WIDTH
    things, passes = _scene(np.random.default_rng(seed), count, scale)
    seen: dict[int, set[int]] = {cls: set() for cls in range(len(CLASS_NAMES))}
    with ExitStack() as stack:
        partial_video = stack.enter_context(
            atomic_output(video, keep_suffix=True)
        )  # OpenCV picks the container from the suffix
        gt = stack.enter_context(
            open(stack.enter_context(atomic_output(truth / "gt" / "gt.txt")), "w", encoding="utf-8", newline="\n")
        )
        counts = stack.enter_context(
            open(stack.enter_context(atomic_output(truth / "counts.csv")), "w", encoding="utf-8", newline="\n")
        )
        writer = cv2.VideoWriter(str(partial_video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise WorkbookError(f"OpenCV cannot write the video {video}", fix="install opencv-python (with FFmpeg)")
        counts.write("frame," + ",".join(CLASS_NAMES) + "\n")
        try:
            for frame, (img, shown) in enumerate(
                _frames(things, passes, frames=count, size=(width, height), scale=scale, seed=seed), start=1
            ):
                writer.write(img)
                per_class = [0] * len(CLASS_NAMES)
                for thing, (x1, y1, x2, y2), visibility in shown:
                    per_class[thing.cls] += 1
                    seen[thing.cls].add(thing.ident)
                    conf = 1 if visibility >= 0.4 else 0
                    gt.write(
                        f"{frame},{thing.ident},{x1},{y1},{x2 - x1},{y2 - y1},{conf},{thing.cls + 1},{visibility:.3f}\n"
                    )
                counts.write(f"{frame}," + ",".join(map(str, per_class)) + "\n")
        finally:
            writer.release()
    write_atomic(truth / "classes.txt", "".join(f"{name}\n" for name in CLASS_NAMES))
    rate = int(fps) if float(fps).is_integer() else fps
    write_atomic(
        truth / "seqinfo.ini",
        f"[Sequence]\nname={video.stem}\nframeRate={rate}\nseqLength={count}\nimWidth={width}\nimHeight={height}\n",
    )
    objects = {name: len(seen[cls]) for cls, name in enumerate(CLASS_NAMES)}
    return ClassroomVideo(video, truth, count, fps, width, height, objects)
