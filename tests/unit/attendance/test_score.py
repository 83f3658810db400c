"""score: count errors and motrics' tracking scores against hand-computed values, on the frames predicted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yolo_workbook.attendance.score import score_video
from yolo_workbook.attendance.truth import read_mot, read_truth
from yolo_workbook.core.errors import TruthError

LEFT, RIGHT = (0, 0, 20, 40), (100, 0, 20, 40)  # two students far apart (left, top, width, height)
TRACKING = ("idf1", "hota", "mota", "id_switches")


def _rows(frames, track_id: int, box, cls: int = 1, conf: float = 1, visibility: float = 1) -> list[str]:
    left, top, width, height = box
    return [f"{f},{track_id},{left},{top},{width},{height},{conf},{cls},{visibility}" for f in frames]


def _truth(tmp_path: Path, *, gt: list[str] | None = None, counts: str | None = None, classes="student\nteacher\n"):
    folder = tmp_path / "video.truth"
    folder.mkdir()
    (folder / "classes.txt").write_text(classes)
    if gt is not None:
        (folder / "gt").mkdir()
        (folder / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")
    if counts is not None:
        (folder / "counts.csv").write_text(counts)
    return read_truth(folder)


def _tracks(tmp_path: Path, rows: list[str], classes=("student", "teacher")):
    path = tmp_path / "tracks.mot.txt"
    path.write_text("\n".join(rows) + "\n")
    return read_mot(path, classes)


def test_count_errors_by_hand(tmp_path):
    truth = _truth(tmp_path, counts="frame,student,teacher\n1,2,1\n2,3,1\n3,3,0\n4,1,1\n")
    score = score_video(
        truth,
        frame_ids=[0, 1, 2, 3],
        counts_raw={"student": [2, 3, 4, 1], "teacher": [1, 1, 0, 1]},
        counts_stable={"student": [2, 3, 3, 3], "teacher": [1, 0, 0, 1]},
        tracks=None,
        counted_tracks={"student": 4},
    )
    student, teacher = score["classes"]["student"], score["classes"]["teacher"]
    # student raw errors 0,0,1,0; stable 0,0,0,2; teacher raw none; stable 0,1,0,0
    assert (student["count_mae_raw"], student["exact_raw"]) == (0.25, 0.75)
    assert (student["count_mae_stable"], student["exact_stable"]) == (0.5, 0.75)
    assert (teacher["count_mae_raw"], teacher["exact_raw"]) == (0.0, 1.0)
    assert (teacher["count_mae_stable"], teacher["exact_stable"]) == (0.25, 0.75)
    assert (student["peak_stable"], teacher["peak_stable"]) == (3, 1)
    assert (student["counted_tracks"], teacher["counted_tracks"]) == (4, 0)
    assert student["true_present"] is None  # no gt.txt: no ids
    assert all(student[key] is None for key in TRACKING)
    # both classes' stable counts are exact on frames 1 and 3 only (raw ones on 1, 2, 4)
    assert score["overall"] == {
        "count_mae_raw": 0.125,
        "count_mae_stable": 0.375,
        "exact_stable": 0.5,
        "headcount_abs_err": None,
        "idf1": None,
        "mota": None,
        "hota": None,
        "id_switches": None,
    }
    assert score["frames_scored"] == 4 and score["unscored_classes"] == []


def test_only_the_predicted_frames_and_classes_are_scored(tmp_path):
    truth = _truth(tmp_path, counts="frame,student,teacher\n1,2,1\n2,9,9\n3,3,1\n4,9,9\n5,1,1\n")
    score = score_video(
        truth,
        frame_ids=[0, 2, 4],  # vid_stride 2: frames 1, 3, 5
        counts_raw={"student": [2, 3, 0], "desk": [4, 4, 4]},
        counts_stable={"student": [2, 3, 1], "desk": [4, 4, 4]},
        tracks=None,
    )
    student, teacher = score["classes"]["student"], score["classes"]["teacher"]
    assert (student["count_mae_raw"], student["count_mae_stable"]) == (round(1 / 3, 4), 0.0)
    assert (teacher["count_mae_stable"], teacher["peak_stable"]) == (1.0, 0)  # never predicted: 0 each frame
    assert teacher["counted_tracks"] is None
    assert score["frames_scored"] == 3 and score["unscored_classes"] == ["desk"]
    assert set(score["classes"]) == {"student", "teacher"}


def _two_students(conf_b_late: float = 1) -> list[str]:
    early, late = range(1, 6), range(6, 11)
    return [*_rows(range(1, 11), 1, LEFT), *_rows(early, 2, RIGHT), *_rows(late, 2, RIGHT, conf=conf_b_late)]


def test_a_perfect_tracker(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    tracks = _tracks(tmp_path, [*_rows(range(1, 11), 7, LEFT, visibility=-1), *_rows(range(1, 11), 9, RIGHT)])
    score = score_video(
        truth,
        frame_ids=range(10),
        counts_raw={"student": [2] * 10},
        counts_stable={"student": [2] * 10},
        tracks=tracks,
    )
    student = score["classes"]["student"]
    assert (student["idf1"], student["mota"], student["hota"], student["id_switches"]) == (1.0, 1.0, 1.0, 0)
    assert student["true_present"] == 2
    assert (student["headcount"], student["headcount_err"]) == (None, None)  # no headcount given
    assert score["classes"]["teacher"]["idf1"] is None  # no box on either side: not scored (TrackEval)
    assert (score["overall"]["idf1"], score["overall"]["hota"], score["overall"]["id_switches"]) == (1.0, 1.0, 0)


def test_ids_swapped_halfway(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    early, late = range(1, 6), range(6, 11)
    swapped = [*_rows(early, 1, LEFT), *_rows(early, 2, RIGHT), *_rows(late, 2, LEFT), *_rows(late, 1, RIGHT)]
    student = score_video(
        truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=_tracks(tmp_path, swapped)
    )["classes"]["student"]
    # IDF1: each GT id keeps one predicted id for 5 of its 10 boxes: IDTP 10, IDFP 10, IDFN 10 -> 10 / 20
    assert student["idf1"] == 0.5
    # TrackEval counts a switch per GT trajectory whose matched id changes: both do, once
    assert student["id_switches"] == 2
    assert student["mota"] == 0.9  # (20 - 0 FN - 0 FP - 2 IDSW) / 20
    # HOTA: every box detected (DetA 1); each match's id pair shares 5 of 10 + 10 - 5 boxes: AssA 1/3
    assert student["hota"] == round((1 / 3) ** 0.5, 4)


def test_occluded_ground_truth_is_no_miss(tmp_path):
    truth = _truth(tmp_path, gt=_two_students(conf_b_late=0))  # student 2 is hidden in frames 6-10
    tracks = _tracks(tmp_path, [*_rows(range(1, 11), 1, LEFT), *_rows(range(1, 6), 2, RIGHT)])
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=tracks)
    student = score["classes"]["student"]
    assert (student["idf1"], student["mota"], student["hota"]) == (1.0, 1.0, 1.0)  # 5 misses would give 0.8 MOTA
    assert truth.counts["student"].tolist() == [2] * 10  # still present for the counts


def test_overall_sums_the_classes(tmp_path):
    gt = [*_rows(range(1, 11), 1, LEFT), *_rows(range(1, 11), 2, RIGHT), *_rows(range(1, 6), 3, (300, 0, 20, 40), 2)]
    truth = _truth(tmp_path, gt=gt)
    tracks = _tracks(tmp_path, [*_rows(range(1, 11), 1, LEFT), *_rows(range(1, 11), 2, RIGHT)])
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=tracks)
    assert score["classes"]["teacher"]["idf1"] == 0.0 and score["classes"]["teacher"]["mota"] == 0.0
    assert score["classes"]["teacher"]["true_present"] == 1
    overall = score["overall"]
    assert overall["idf1"] == round(20 / 22.5, 4)  # IDTP 20 / (20 + 0 IDFP / 2 + 5 IDFN / 2), not the mean 0.5
    assert overall["mota"] == 0.8  # (25 GT - 5 FN) / 25
    assert overall["hota"] == 0.5  # mean of 1 and 0
    assert overall["id_switches"] == 0


def test_strided_prediction_scores_its_frames_only(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    frames = range(1, 11, 2)  # frames 1, 3, 5, 7, 9
    tracks = _tracks(tmp_path, [*_rows(frames, 5, LEFT), *_rows(frames, 6, RIGHT)])
    score = score_video(truth, frame_ids=[f - 1 for f in frames], counts_raw={}, counts_stable={}, tracks=tracks)
    assert (score["overall"]["idf1"], score["overall"]["mota"]) == (1.0, 1.0)
    assert score["frames_scored"] == 5


def test_predicted_class_absent_from_truth_is_listed_not_scored(tmp_path):
    truth = _truth(tmp_path, gt=_two_students(), classes="student\n")
    tracks = _tracks(
        tmp_path,
        [*_rows(range(1, 11), 1, LEFT), *_rows(range(1, 11), 2, RIGHT), *_rows(range(1, 11), 3, (50, 50, 9, 9), 2)],
        classes=("student", "desk"),
    )
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=tracks)
    assert score["unscored_classes"] == ["desk"]
    assert score["classes"]["student"]["mota"] == 1.0  # the desk's boxes are no false positives


def test_the_headcount_error_is_against_the_distinct_objects_of_the_truth(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())  # two students (ids 1, 2), no teacher
    heads = {"student": 3, "teacher": 1}
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=None, headcounts=heads)
    student, teacher = score["classes"]["student"], score["classes"]["teacher"]
    assert (student["headcount"], student["true_present"], student["headcount_err"]) == (3, 2, 1)  # 3 - 2
    assert (teacher["headcount"], teacher["true_present"], teacher["headcount_err"]) == (1, 0, 1)  # 1 - 0
    assert score["overall"]["headcount_abs_err"] == 2  # |+1| + |+1|
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=None, headcounts={})
    assert score["classes"]["student"]["headcount_err"] == -2  # a class without a headcount has 0 present
    assert score["overall"]["headcount_abs_err"] == 2


def test_gt_without_tracks_gives_null_tracking(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    score = score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=None)
    assert all(score["classes"]["student"][key] is None for key in TRACKING)
    assert score["classes"]["student"]["true_present"] == 2


def test_frames_out_of_range(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    with pytest.raises(
        TruthError, match=re.escape("frames out of range: the prediction reaches frame_id 10 (frame 11)")
    ):
        score_video(truth, frame_ids=range(11), counts_raw={}, counts_stable={}, tracks=None)
    with pytest.raises(TruthError, match="but the truth covers 10 frames"):
        score_video(truth, frame_ids=[3, 12], counts_raw={}, counts_stable={}, tracks=None)
    tracks = _tracks(tmp_path, _rows([12], 1, LEFT))
    with pytest.raises(TruthError, match="tracks.mot.txt: frames out of range: tracks reach frame 12 .* covers 10"):
        score_video(truth, frame_ids=range(10), counts_raw={}, counts_stable={}, tracks=tracks)


def test_counts_not_aligned_with_frames(tmp_path):
    truth = _truth(tmp_path, gt=_two_students())
    with pytest.raises(TruthError, match="counts_raw of 'student' has 3 values for 10 frames"):
        score_video(truth, frame_ids=range(10), counts_raw={"student": [1, 2, 3]}, counts_stable={}, tracks=None)
