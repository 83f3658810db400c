"""counts: stable counts, counts.csv and tracks.csv of a hand-written job folder, minutes and counted tracks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yolo_workbook.attendance.counts import (
    FrameCounts,
    Track,
    alive_counts,
    class_summary,
    counted_tracks,
    frame_counts,
    passing,
    per_minute,
    stable_counts,
    track_table,
    window_frames,
    with_window,
    write_counts_csv,
    write_tracks_csv,
)
from yolo_workbook.attendance.truth import read_mot

STUDENTS = [2, 2, 0, 2, 2, 1]  # raw student count of frames 0..5 (a student hidden in frame 2)


def write_job(folder: Path, *, fps: float | None = 2.0, students=STUDENTS, extra: dict | None = None) -> Path:
    """A prediction's folder as predict_to_json leaves it: summary, classes and detections (one desk a frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"source": "clip.mp4", "fps": fps, "vid_stride": 1, "frames": len(students), **(extra or {})}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "classes.txt").write_text("student\ndesk\n", encoding="utf-8")
    lines = []
    for frame_id, count in enumerate(students):
        boxes = [{"class": "student", "confidence": 0.9, "bbox": [0, 0, 1, 1], "class_id": 0, "track_id": 1}] * count
        boxes.append({"class": "desk", "confidence": 0.8, "bbox": [0, 0, 2, 2], "class_id": 1, "track_id": None})
        time_s = None if fps is None else frame_id / fps
        lines.append(json.dumps({"frame_id": frame_id, "detections": boxes, "time_s": time_s}) + "\n")
    (folder / "detections.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("raw", "window", "stable"),
    [
        ([3, 0, 2], 1, [3, 0, 2]),  # a window of one frame is the raw count
        ([3, 3, 0, 3, 3, 2, 2], 3, [3, 3, 3, 3, 3, 2, 2]),  # a one-frame dip is smoothed away
        ([0, 4, 4], 3, [0, 4, 4]),  # frame 0 sees [0, 4] only: the lower middle, 0, not 2
        ([1, 5, 2, 8, 3], 5, [2, 2, 3, 3, 3]),  # ends shrink: [1,5,2], [1,5,2,8], all, [5,2,8,3], [2,8,3]
        ([], 3, []),
    ],
)
def test_stable_counts_by_hand(raw, window, stable):
    assert stable_counts(raw, window=window) == stable


@pytest.mark.parametrize(
    ("window_s", "fps", "stride", "frames"),
    [
        (2.0, 10.0, 1, 21),  # 20 frames, made odd
        (2.0, 10.0, 2, 11),  # 10 processed frames
        (1.0, 3.0, 1, 3),
        (0.1, 10.0, 1, 1),
        (0.01, 10.0, 1, 1),  # never below one frame
        (2.0, None, 1, 61),  # images: taken as 30 a second, as the tracker's buffer takes them
    ],
)
def test_window_frames_is_odd_and_at_least_one(window_s, fps, stride, frames):
    assert window_frames(window_s, fps=fps, vid_stride=stride) == frames


def test_frame_counts_and_counts_csv_of_a_job(tmp_path):
    job = write_job(tmp_path / "job")
    counts = frame_counts(job, window_s=1.5)  # 1.5 s at 2 fps: 3 frames
    assert (counts.classes, counts.frame_ids, counts.window_frames) == (("student", "desk"), [0, 1, 2, 3, 4, 5], 3)
    assert counts.raw == {"student": STUDENTS, "desk": [1] * 6}
    assert counts.stable == {"student": [2, 2, 2, 2, 2, 1], "desk": [1] * 6}
    write_counts_csv(counts, job / "counts.csv")
    assert (job / "counts.csv").read_text(encoding="utf-8") == (
        "frame_id,time_s,student_raw,student_stable,desk_raw,desk_stable\n"
        "0,0.0,2,2,1,1\n"
        "1,0.5,2,2,1,1\n"
        "2,1.0,0,2,1,1\n"
        "3,1.5,2,2,1,1\n"
        "4,2.0,2,2,1,1\n"
        "5,2.5,1,1,1,1\n"
    )


def test_counts_csv_of_images_leaves_the_time_empty(tmp_path):
    job = write_job(tmp_path / "job", fps=None, students=[1, 0])
    counts = frame_counts(job, window_s=1.0)
    write_counts_csv(counts, job / "counts.csv")
    # 1 s of images at 30 a second covers both: the student's median_low of [1, 0] is 0
    assert (job / "counts.csv").read_text(encoding="utf-8").splitlines()[1:] == ["0,,1,0,1,1", "1,,0,0,1,1"]


def test_tracks_alive_count_a_track_from_its_first_to_its_last_frame(tmp_path):
    tracks = [
        Track(1, "student", 0, 9, 4),  # seen in 4 frames only, alive in all ten
        Track(2, "student", 3, 5, 3),
        Track(3, "desk", 6, 6, 1),
        Track(4, "sitae", 0, 9, 10),  # a class the job does not count
    ]
    frame_ids = [0, 2, 4, 6, 8]  # vid_stride 2: frames between the read ones count where they fall
    assert alive_counts(tracks, ("student", "desk"), frame_ids) == {
        "student": [1, 1, 2, 1, 1],
        "desk": [0, 0, 0, 1, 0],
    }


def test_with_tracks_the_stable_count_is_the_median_of_the_tracks_alive_and_the_csv_shows_them(tmp_path):
    job = write_job(tmp_path / "job")  # raw students [2, 2, 0, 2, 2, 1], one desk a frame
    tracks = [Track(1, "student", 0, 5, 5), Track(2, "student", 0, 4, 4), Track(3, "desk", 0, 5, 6)]
    counts = frame_counts(job, window_s=0.5, tracks=tracks)  # one frame: stable = tracks alive
    assert counts.tracked == {"student": [2, 2, 2, 2, 2, 1], "desk": [1] * 6}
    assert counts.stable == counts.tracked and counts.raw["student"] == STUDENTS
    write_counts_csv(counts, job / "counts.csv")
    lines = (job / "counts.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "frame_id,time_s,student_raw,student_tracks,student_stable,desk_raw,desk_tracks,desk_stable"
    assert lines[3] == "2,1.0,0,2,2,1,1,1"


def test_with_window_keeps_the_raw_counts(tmp_path):
    counts = frame_counts(write_job(tmp_path / "job"), window_s=1.5)
    narrow = with_window(counts, 0.5, fps=2.0, vid_stride=1)  # one frame
    assert (narrow.window_frames, narrow.raw, narrow.stable) == (1, counts.raw, counts.raw)
    assert counts.stable["student"] == [2, 2, 2, 2, 2, 1]  # the original is unchanged


MOT = (
    "1,1,0,0,10,10,0.9,1,-1\n"  # student 1: frames 1, 2 and 4 (frame_id 0, 1, 3), mean confidence 0.6
    "2,1,0,0,10,10,0.3,1,-1\n"
    "4,1,2,0,10,10,0.6,1,-1\n"  # moved 2 px: its last box
    "1,2,20,0,10,10,0.8,2,-1\n"  # desk 2: frame 1 only
    "5,3,40,0,10,10,0.7,1,-1\n"  # student 3: frame 5 only
)


def _tracks(tmp_path: Path) -> list[Track]:
    path = tmp_path / "tracks.mot.txt"
    path.write_text(MOT, encoding="utf-8")
    return track_table(read_mot(path, ("student", "desk")))


def test_track_table_and_tracks_csv_from_a_mot_file(tmp_path):
    tracks = _tracks(tmp_path)
    box = (0.0, 0.0, 10.0, 10.0)
    assert tracks == [
        Track(1, "student", 0, 3, 3, 0.6, box, (2.0, 0.0, 12.0, 10.0)),  # (0.9 + 0.3 + 0.6) / 3
        Track(2, "desk", 0, 0, 1, 0.8, (20.0, 0.0, 30.0, 10.0), (20.0, 0.0, 30.0, 10.0)),
        Track(3, "student", 4, 4, 1, 0.7, (40.0, 0.0, 50.0, 10.0), (40.0, 0.0, 50.0, 10.0)),
    ]
    write_tracks_csv(tracks, tmp_path / "tracks.csv", fps=2.0, vid_stride=1, min_seen_s=1.0)
    assert (tmp_path / "tracks.csv").read_text(encoding="utf-8") == (
        "track_id,class,first_frame_id,last_frame_id,first_s,last_s,seen_s,frames_seen,confidence,counted\n"
        "1,student,0,3,0.0,1.5,1.5,3,0.6,True\n"  # seen 3 frames of 0.5 s (the gap does not count)
        "2,desk,0,0,0.0,0.0,0.5,1,0.8,False\n"
        "3,student,4,4,2.0,2.0,0.5,1,0.7,False\n"
    )
    # A student operating point of 0.65: track 1 (mean 0.6) is seen long enough but not counted.
    write_tracks_csv(tracks, tmp_path / "tracks.csv", fps=2.0, vid_stride=1, min_seen_s=1.0, conf={"student": 0.65})
    assert (tmp_path / "tracks.csv").read_text(encoding="utf-8").splitlines()[
        1
    ] == "1,student,0,3,0.0,1.5,1.5,3,0.6,False"


def test_the_operating_point_counts_tracks_by_their_mean_confidence_per_class():
    tracks = [
        Track(1, "student", 0, 9, 10, confidence=0.40),
        Track(2, "student", 0, 9, 10, confidence=0.20),
        Track(3, "desk", 0, 9, 10, confidence=0.30),
    ]
    assert [t.track_id for t in passing(tracks, 0.3)] == [1, 3]  # one number for every class
    assert [t.track_id for t in passing(tracks, {"student": 0.2})] == [1, 2, 3]  # desk: 0.25, the default
    assert [t.track_id for t in passing(tracks, {"student": 0.5, "desk": 0.35})] == []
    assert [t.track_id for t in passing(tracks, None)] == [1, 3]  # unset: ultralytics' 0.25


@pytest.mark.parametrize(
    ("min_seen_s", "stride", "students", "desks"),
    [(1.5, 1, 1, 0), (1.51, 1, 0, 0), (0.5, 1, 2, 1), (0.0, 1, 2, 1), (3.0, 2, 1, 0), (1.0, 2, 2, 1)],
)
def test_counted_tracks_at_the_min_seen_boundary(tmp_path, min_seen_s, stride, students, desks):
    # at 2 fps a processed frame is 0.5 s, with vid_stride 2 it is 1 s:
    # track 1 is seen 1.5 s (3 s), the others 0.5 s (1 s)
    tracks = _tracks(tmp_path)
    timing = {"fps": 2.0, "vid_stride": stride, "min_seen_s": min_seen_s}
    assert (counted_tracks(tracks, "student", **timing), counted_tracks(tracks, "desk", **timing)) == (students, desks)


def _counts(frame_ids: list[int], students: list[int]) -> FrameCounts:
    return FrameCounts(
        ("student",), frame_ids, [None] * len(frame_ids), {"student": students}, 1, {"student": students}
    )


def test_per_minute_splits_the_frames_by_the_minute_they_fall_in():
    counts = _counts([0, 30, 59, 60, 90, 119], [3, 3, 1, 2, 2, 5])
    assert per_minute(counts, "student", fps=1.0) == [3, 2]  # minute 0: [3, 3, 1]; minute 1: [2, 2, 5]
    assert per_minute(counts, "student", fps=2.0) == [2]  # all within 60 s: lower middle of [1,2,2,3,3,5]
    # at 0.5 fps the frames fall at 0, 60, 118, 120, 180, 238 s: [3], [3, 1], [2], [2, 5]
    assert per_minute(counts, "student", fps=0.5) == [3, 1, 2, 2]


def test_class_summary_of_a_job(tmp_path):
    counts = frame_counts(write_job(tmp_path / "job"), window_s=1.5)
    timing = {"fps": 2.0, "vid_stride": 1, "min_seen_s": 1.0}
    assert class_summary(counts, "student", _tracks(tmp_path), **timing) == {
        "stable_count": 2,  # lower middle of [0, 1, 2, 2, 2, 2]
        "per_minute": [2],
        "peak_stable": 2,
        "counted_tracks": 1,
    }
    assert class_summary(counts, "desk", None, **timing) == {
        "stable_count": 1,
        "per_minute": [1],
        "peak_stable": 1,
        "counted_tracks": None,
    }
