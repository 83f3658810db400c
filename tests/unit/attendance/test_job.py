"""job: a hand-made prediction folder and truth give counts.csv, tracks.csv and attendance.json, scored by hand."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
from test_counts import STUDENTS, write_job

from yolo_workbook.attendance.job import check_truth, count_attendance, format_attendance, windows_of
from yolo_workbook.config import params
from yolo_workbook.core import paths
from yolo_workbook.core.errors import TruthError

SCHEMA = json.loads((paths.SCHEMAS_DIR / "attendance.schema.json").read_text(encoding="utf-8"))
S1, S2, DESK = "0,0,10,20", "30,0,10,20", "60,0,20,10"  # left,top,width,height
FRAMES = 6


def _mot(rows: list[tuple[int, int, str, int]], conf: float = 1.0, visibility: float = 1.0) -> str:
    return "".join(f"{frame},{track_id},{box},{conf},{cls},{visibility}\n" for frame, track_id, box, cls in rows)


def _truth(tmp_path: Path, frames: int = FRAMES) -> Path:
    """Two students (ids 1, 2) and a desk (id 3) in every frame; classes in another order than the model's."""
    folder = tmp_path / "clip.truth"
    (folder / "gt").mkdir(parents=True)
    (folder / "classes.txt").write_text("desk\nstudent\n", encoding="utf-8")
    rows = [(f, i, box, cls) for f in range(1, frames + 1) for i, box, cls in ((1, S1, 2), (2, S2, 2), (3, DESK, 1))]
    (folder / "gt" / "gt.txt").write_text(_mot(rows), encoding="utf-8")
    counts = "frame,desk,student\n" + "".join(f"{f},1,2\n" for f in range(1, frames + 1))
    (folder / "counts.csv").write_text(counts, encoding="utf-8")
    return folder


def _tracks(*, switch_at: int | None) -> str:
    """Model-order classes (student 1, desk 2): students 1 and 2, desk 3; student 2 becomes id 4 at ``switch_at``."""
    rows = []
    for f in range(1, FRAMES + 1):
        second = 4 if switch_at is not None and f >= switch_at else 2
        rows += [(f, 1, S1, 1), (f, second, S2, 1), (f, 3, DESK, 2)]
    return _mot(rows, conf=0.9, visibility=-1)


def _job(tmp_path: Path, trackers: list[str] | None) -> Path:
    """The first tracker switches an id (tracks.mot.txt); the second (tracks.bytetrack.mot.txt) is perfect."""
    extra = {"trackers": trackers, "track_buffer": 4} if trackers else {}
    job = write_job(tmp_path / "job", extra=extra)
    if trackers:
        (job / "tracks.mot.txt").write_text(_tracks(switch_at=4), encoding="utf-8")
        (job / "tracks.bytetrack.mot.txt").write_text(_tracks(switch_at=None), encoding="utf-8")
    return job


def _round(attendance: dict, trackers: list[str] | None = None) -> params.Round:
    rnd = params.load_round("p01_video", profile="ci", use_local=False)
    predict = {**rnd.predict, "tracker": trackers or "none"}
    return dataclasses.replace(rnd, attendance=attendance, predict=predict)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_scored_job_writes_three_files_with_hand_computed_scores(tmp_path):
    truth = _truth(tmp_path)
    job = _job(tmp_path, ["botsort", "bytetrack"])
    settings = {"window_s": [0.5, 1.5], "lost_s": 2, "min_seen_s": 1.0, "truth": str(truth)}
    result = count_attendance(job, _round(settings, ["botsort", "bytetrack"]))

    doc = json.loads((job / "attendance.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc == result.summary
    # the first window (0.5 s at 2 fps: one frame) is written: stable = the tracks alive in each frame.
    # botsort's students: track 1 in frames 0-5, track 2 in 0-2, track 4 in 3-5: two alive in every frame,
    # so the student hidden in frame 2 (raw 0) and the one missed in frame 5 (raw 1) are still counted.
    assert (doc["window_s"], doc["window_frames"], doc["tracker"], doc["track_buffer"]) == (0.5, 1, "botsort", 4)
    assert doc["stable_from"] == "tracks"
    rows = _read_csv(job / "counts.csv")
    assert [int(r["student_raw"]) for r in rows] == STUDENTS
    assert [int(r["student_tracks"]) for r in rows] == [2] * 6
    assert [int(r["student_stable"]) for r in rows] == [2] * 6
    assert [r["track_id"] for r in _read_csv(job / "tracks.csv")] == ["1", "2", "3", "4"]

    score = doc["score"]
    student, desk = score["classes"]["student"], score["classes"]["desk"]
    # student: true 2 in each frame, raw [2, 2, 0, 2, 2, 1]: errors 0, 0, 2, 0, 0, 1; stable 2 everywhere
    assert (student["count_mae_raw"], student["count_mae_stable"]) == (0.5, 0.0)
    assert (student["exact_raw"], student["exact_stable"]) == (0.6667, 1.0)
    assert (desk["count_mae_raw"], desk["exact_stable"]) == (0.0, 1.0)
    assert (student["true_present"], desk["true_present"]) == (2, 1)
    # botsort's tracks seen >= 1 s (2 frames at 2 fps): students 1 (6 frames), 2 and 4 (3 each); the desk
    assert (student["counted_tracks"], desk["counted_tracks"]) == (3, 1)
    # the headcount re-links track 4 to track 2: it starts one frame (0.5 s <= lost_s 2) after 2 ends, at its seat
    assert (doc["classes"]["student"]["headcount"], doc["classes"]["student"]["relinked"]) == (2, 1)
    assert doc["classes"]["student"]["headcount_per_minute"] == [2]
    assert (student["headcount"], student["headcount_err"], desk["headcount_err"]) == (2, 0, 0)  # 2 - 2, 1 - 1
    # student 2 is tracked as 2 then 4: IDTP 6 + 3, IDFP = IDFN = 3 -> 9 / (9 + 1.5 + 1.5); one switch
    assert (student["idf1"], student["id_switches"], student["mota"]) == (0.75, 1, round(11 / 12, 4))
    assert (desk["idf1"], desk["hota"], desk["mota"], desk["id_switches"]) == (1.0, 1.0, 1.0, 0)
    overall = score["overall"]
    assert (overall["count_mae_raw"], overall["count_mae_stable"], overall["exact_stable"]) == (0.25, 0.0, 1.0)
    assert (overall["idf1"], overall["id_switches"]) == (round(15 / 18, 4), 1)  # IDTP 15, IDFP 3, IDFN 3

    choices = doc["choices"]
    # the tracks alive are 2 in every frame: every window is exact; the first of equals is named
    assert choices["windows"] == [
        {"window_s": 0.5, "count_mae_stable": 0.0, "exact_stable": 1.0},
        {"window_s": 1.5, "count_mae_stable": 0.0, "exact_stable": 1.0},
    ]
    assert (choices["best_window_s"], choices["best_tracker"]) == (0.5, "bytetrack")
    by_name = {row["tracker"]: row for row in choices["trackers"]}
    assert (by_name["botsort"]["idf1"], by_name["bytetrack"]["idf1"]) == (0.8333, 1.0)
    assert (by_name["botsort"]["counted_tracks"], by_name["bytetrack"]["counted_tracks"]) == (4, 3)

    text = format_attendance(result)
    for expected in ("student", "desk", "window 0.5 s: count err 0.000 <- best", "tracker bytetrack: IDF1 1.000"):
        assert expected in text, text
    assert "tracker botsort: IDF1 0.833, 4 tracks counted\n" in text + "\n"


def test_without_a_tracker_the_stable_count_is_the_median_of_the_raw_count_and_the_best_window_is_named(tmp_path):
    truth = _truth(tmp_path)
    job = _job(tmp_path, None)
    settings = {"window_s": [0.5, 1.5], "min_seen_s": 1.0, "truth": str(truth)}
    doc = count_attendance(job, _round(settings)).summary
    assert (doc["stable_from"], doc["tracker"]) == ("raw", None)
    # 0.5 s (1 frame): stable = raw [2, 2, 0, 2, 2, 1], student error 3/6, desk 0: mean 0.25; every class
    # exact in frames 0, 1, 3, 4. 1.5 s (3 frames): student median_low [2, 2, 2, 2, 2, 1], error 1/6: mean 1/12
    assert doc["choices"]["windows"] == [
        {"window_s": 0.5, "count_mae_stable": 0.25, "exact_stable": 0.6667},
        {"window_s": 1.5, "count_mae_stable": 0.0833, "exact_stable": 0.8333},
    ]
    assert (doc["choices"]["best_window_s"], doc["choices"]["trackers"]) == (1.5, [])
    assert doc["score"]["classes"]["student"]["idf1"] is None


def test_without_truth_there_is_no_score(tmp_path):
    job = _job(tmp_path, None)
    result = count_attendance(job, _round({"window_s": 1.5, "min_seen_s": 0}))
    doc = json.loads((job / "attendance.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert (doc["score"], doc["choices"], doc["truth"], doc["tracker"]) == (None, None, None, None)
    assert doc["classes"]["student"] == {
        "stable_count": 2,
        "per_minute": [2],
        "peak_stable": 2,
        "counted_tracks": None,
        "headcount": None,  # no tracker: no headcount
        "headcount_per_minute": None,
        "relinked": None,
    }
    assert (job / "counts.csv").is_file() and not (job / "tracks.csv").exists()
    text = format_attendance(result)
    assert "student" in text and "desk" in text and "no ground truth" in text


def test_windows_of_takes_a_number_or_a_list():
    assert windows_of(_round({"window_s": 3})) == [3.0]
    assert windows_of(_round({"window_s": [2, 1]})) == [2.0, 1.0]
    assert windows_of(_round({})) == [2.0]  # the schema's default


def test_check_truth_refuses_a_truth_shorter_than_the_video(tmp_path):
    rnd = _round({"truth": str(_truth(tmp_path))})
    assert check_truth(rnd, frames=FRAMES).frames == FRAMES
    with pytest.raises(TruthError, match=r"the video has 7 frames.* covers 6") as raised:
        check_truth(rnd, frames=7)
    assert "attendance.truth" in raised.value.fix
    assert check_truth(_round({"truth": None}), frames=7) is None
