"""classroom_video: a synthetic classroom video whose ground truth agrees with its pixels."""

from __future__ import annotations

import configparser
import csv
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from yolo_workbook.core.errors import WorkbookError
from yolo_workbook.data.classroom_video import ClassroomVideo, write_classroom_video

FRAMES = 120  # ci size, long enough for the teacher to walk slowly and cover boxes whole


def _gt(truth: Path) -> list[tuple[int, int, int, int, int, int, int, int, float]]:
    rows = []
    for line in (truth / "gt" / "gt.txt").read_text().splitlines():
        *ints, visibility = line.split(",")
        rows.append((*map(int, ints), float(visibility)))
    return rows


def _frames(video: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, img = capture.read()
        if not ok:
            break
        frames.append(img)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> ClassroomVideo:
    return write_classroom_video(tmp_path_factory.mktemp("video") / "classroom_video.mp4", size="ci", frames=FRAMES)


@pytest.fixture(scope="module")
def gt(written: ClassroomVideo) -> list[tuple[int, int, int, int, int, int, int, int, float]]:
    return _gt(written.truth)


def test_the_video_decodes_to_the_stated_frames_and_size(written):
    frames = _frames(written.video)
    assert (written.frames, written.width, written.height, written.fps) == (FRAMES, 160, 96, 10.0)
    assert len(frames) == FRAMES and {f.shape for f in frames} == {(96, 160, 3)}
    assert written.truth == written.video.parent / "classroom_video.truth"
    info = configparser.ConfigParser()
    info.read(written.truth / "seqinfo.ini")
    assert dict(info["Sequence"]) == {
        "name": "classroom_video",
        "framerate": "10",
        "seqlength": str(FRAMES),
        "imwidth": "160",
        "imheight": "96",
    }
    assert (written.truth / "classes.txt").read_text() == "student\ndesk\nsitae\n"


def test_the_default_sizes(tmp_path):
    ci = write_classroom_video(tmp_path / "ci.mp4", size="ci")
    assert (ci.frames, ci.width, ci.height) == (40, 160, 96)
    assert len(_frames(ci.video)) == 40
    assert len((ci.truth / "counts.csv").read_text().splitlines()) == 41


def test_the_truth_agrees_with_the_pixels(written, gt):
    frames = _frames(written.video)
    checked = Counter()
    for frame, _, left, top, width, height, _, cls, visibility in gt:
        if 0.0 < visibility < 1.0:
            continue
        blue, _, red = frames[frame - 1][top + height // 2, left + width // 2].astype(int)
        if visibility == 0.0:  # behind the teacher or ducking: grey, no class colour
            assert abs(blue - red) < 40, (frame, left, top, cls)
            checked["hidden"] += 1
        elif cls == 2:  # a desk is orange (BGR), a student and a sitae blue
            assert red - blue > 60, (frame, left, top, cls, blue, red)
            checked["desk"] += 1
        else:
            assert blue - red > 60, (frame, left, top, cls, blue, red)
            checked[cls] += 1
    assert min(checked.values()) > 0 and len(checked) == 4, checked


def test_counts_are_the_rows_of_each_frame(written, gt):
    with (written.truth / "counts.csv").open() as file:
        counts = list(csv.reader(file))
    assert counts[0] == ["frame", "student", "desk", "sitae"]
    per_frame = Counter((frame, cls) for frame, _, _, _, _, _, _, cls, _ in gt)
    assert [int(row[0]) for row in counts[1:]] == list(range(1, FRAMES + 1))
    for row in counts[1:]:
        assert [int(v) for v in row[1:]] == [per_frame[(int(row[0]), cls)] for cls in (1, 2, 3)], row


def test_ids_persist_with_their_box_and_class(written, gt):
    by_id = defaultdict(list)
    for frame, ident, left, top, width, height, conf, cls, visibility in gt:
        assert conf == (1 if visibility >= 0.4 else 0)
        by_id[ident].append((frame, left, top, width, height, cls))
    for ident, rows in by_id.items():
        frames = [r[0] for r in rows]
        assert frames == list(range(frames[0], frames[-1] + 1)), ident  # present without gaps
        assert len({r[2:] for r in rows}) == 1, ident  # same class, size and height
        assert max(r[1] for r in rows) - min(r[1] for r in rows) <= 2, ident  # a sway, no jump
    names = {1: "student", 2: "desk", 3: "sitae"}
    assert written.objects == {name: len({i for i, r in by_id.items() if r[0][5] == c}) for c, name in names.items()}


def test_objects_never_overlap(gt):
    by_frame = defaultdict(list)
    for frame, _, left, top, width, height, *_ in gt:
        by_frame[frame].append((left, top, left + width, top + height))
    for frame, boxes in by_frame.items():
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (frame, a, b)


def test_the_events_that_make_raw_counts_wrong_happen(gt):
    present, visible, first, last = Counter(), Counter(), {}, {}
    for frame, ident, *_, conf, cls, _ in gt:
        present[frame] += 1
        visible[frame] += conf
        if cls == 1:  # students
            first.setdefault(ident, frame)
            last[ident] = frame
    assert any(visible[f] < present[f] for f in present)  # occluded or ducking
    assert any(0.0 < row[-1] < 1.0 for row in gt)  # the teacher covers part of a box
    assert sum(f > 1 for f in first.values()) >= 2  # students coming in late
    assert any(f < FRAMES for f in last.values())  # a student leaving early
    classes = Counter(row[7] for row in gt)
    assert 0 < classes[3] < FRAMES * 3  # a sitae, part of the time
    desks = sorted((top, width * height) for _, _, _, top, width, height, _, cls, _ in gt if cls == 2)
    assert desks[0][1] < desks[-1][1] / 2  # the far row is small, the near row large


def test_the_same_seed_writes_identical_truth(tmp_path):
    names = ("gt/gt.txt", "counts.csv", "classes.txt", "seqinfo.ini")
    a = write_classroom_video(tmp_path / "a" / "v.mp4", size="ci", frames=30)
    b = write_classroom_video(tmp_path / "b" / "v.mp4", size="ci", frames=30)
    c = write_classroom_video(tmp_path / "c" / "v.mp4", size="ci", frames=30, seed=8)
    assert all((a.truth / n).read_bytes() == (b.truth / n).read_bytes() for n in names)
    assert a.video.read_bytes() == b.video.read_bytes()  # OpenCV's mp4v writer is deterministic too
    assert (a.truth / "gt/gt.txt").read_bytes() != (c.truth / "gt/gt.txt").read_bytes()


@pytest.mark.parametrize(("size", "frames"), [("huge", None), ("ci", 0)])
def test_bad_options_are_refused(tmp_path, size, frames):
    with pytest.raises(WorkbookError, match="size|frames"):
        write_classroom_video(tmp_path / "v.mp4", size=size, frames=frames)
    assert not list(tmp_path.iterdir())
