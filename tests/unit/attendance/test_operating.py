"""operating: per-class thresholds chosen on one clip's tracks and reported on another's, worked out by hand."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from yolo_workbook.attendance.counts import Track
from yolo_workbook.attendance.operating import Curve, check_tuning_clip, choose, curves, exact_all, fragment
from yolo_workbook.attendance.truth import Truth
from yolo_workbook.config import params
from yolo_workbook.core.errors import TruthError

FRAMES = list(range(10))


def _truth(**counts: list[int]) -> Truth:
    return Truth(Path("clip.truth"), tuple(counts), 10, 10.0, {k: np.asarray(v) for k, v in counts.items()}, None)


def _track(track_id: int, name: str, confidence: float, first: int = 0, last: int = 9) -> Track:
    return Track(track_id, name, first, last, last - first + 1, confidence)


def test_best_is_the_lowest_error_then_the_most_exact_then_the_middle_of_a_tie():
    assert Curve("s", (0.1, 0.2, 0.3), (0.5, 0.1, 0.1), (0.5, 0.7, 0.9)).best() == 0.3  # same error: more exact
    # four thresholds tie on both: the middle one, rounded down (index 1 of 0..3)
    assert Curve("s", (0.1, 0.2, 0.3, 0.4, 0.5), (0.9, 0.2, 0.2, 0.2, 0.2), (0, 0.5, 0.5, 0.5, 0.5)).best() == 0.3
    assert Curve("s", (0.1, 0.2), (0.0, 0.3), (1.0, 0.0)).best() == 0.1


def test_curves_recount_the_tracks_at_each_threshold():
    # Two students present in all ten frames; the tracker has them (0.8, 0.6) and a false one (0.3).
    tracks = [_track(1, "student", 0.8), _track(2, "student", 0.6), _track(3, "student", 0.3), _track(4, "desk", 0.9)]
    truth = _truth(student=[2] * 10, desk=[1] * 10)
    found = curves(
        tracks, truth, frame_ids=FRAMES, window=1, classes=["student"], lost_s=2, fps=10.0, grid=(0.2, 0.4, 0.7, 0.9)
    )
    assert list(found) == ["student"]
    # 0.2: 3 counted (error 1 in every frame); 0.4: 2 (exact); 0.7: 1 (error 1); 0.9: 0 (error 2)
    assert found["student"].count_mae == (1.0, 0.0, 1.0, 2.0)
    assert found["student"].exact == (0.0, 1.0, 0.0, 0.0)
    assert found["student"].best() == 0.4


def test_a_track_alive_part_of_the_clip_counts_in_those_frames_only():
    tracks = [_track(1, "sitae", 0.5, first=0, last=4)]  # the truth has it in frames 0-5
    truth = _truth(sitae=[1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    found = curves(tracks, truth, frame_ids=FRAMES, window=1, classes=["sitae"], lost_s=2, fps=10.0, grid=(0.4, 0.6))
    assert found["sitae"].count_mae == (0.1, 0.6)  # 0.4: frame 5 missed; 0.6: frames 0-5 missed
    assert found["sitae"].exact == (0.9, 0.4)


def test_the_point_is_chosen_on_the_tuning_clip_only_and_carried_to_the_scoring_clip():
    grid = (0.2, 0.4, 0.7)
    tuning = {"student": Curve("student", grid, (1.0, 0.0, 1.0), (0.0, 1.0, 0.0))}  # best at 0.4
    scoring = {"student": Curve("student", grid, (0.5, 0.5, 0.0), (0.5, 0.5, 1.0))}  # would be 0.7: not chosen
    point = choose(tuning, scoring, tuning_clip="tune.mp4", scoring_clip="score.mp4")
    assert point.conf == {"student": 0.4}
    summary = point.summary()
    assert (summary["chosen_on"], summary["scored_on"]) == ("tune.mp4", "score.mp4")
    assert (summary["tuning"]["student"]["exact"], summary["scoring"]["student"]["exact"]) == (1.0, 0.5)
    rnd = params.load_round("p01_video", profile="ci", use_local=False)
    text = fragment(point, rnd)
    assert text.endswith("predict:\n  conf: {student: 0.4}\n")
    assert "chosen per class on the tuning clip" in text and "score.mp4" in text


def test_exact_all_needs_every_class_exact_in_the_same_frame():
    tracks = [_track(1, "student", 0.8, 0, 4), _track(2, "desk", 0.8, 3, 9)]
    truth = _truth(student=[1] * 5 + [0] * 5, desk=[1] * 10)
    # student right in every frame; desk wrong in frames 0-2: 7 of 10 frames all exact
    assert (
        exact_all(tracks, truth, frame_ids=FRAMES, window=1, classes=["student", "desk"], conf=0.5, lost_s=2, fps=10.0)
        == 0.7
    )
    # at 0.9 no track counts: student right in frames 5-9 only, desk never
    assert (
        exact_all(tracks, truth, frame_ids=FRAMES, window=1, classes=["student", "desk"], conf=0.9, lost_s=2, fps=10.0)
        == 0.0
    )


def _clip_round(tmp_path: Path, clip: Path, truth: Path | None = None) -> params.Round:
    rnd = params.load_round("p01_video", profile="ci", use_local=False)
    video = tmp_path / "lesson.mp4"
    video.write_bytes(b"a scored video")
    attendance = {"truth": str(tmp_path / "lesson.truth"), "tuning_clip": str(clip)}
    if truth is not None:
        attendance["tuning_truth"] = str(truth)
    return dataclasses.replace(rnd, predict={**rnd.predict, "source": str(video)}, attendance=attendance)


def test_a_tuning_clip_that_is_the_scored_video_is_refused(tmp_path):
    with pytest.raises(TruthError, match="is the scored video") as caught:
        check_tuning_clip(_clip_round(tmp_path, tmp_path / "lesson.mp4"))
    assert "scored on the frames they were chosen on" in str(caught.value)
    assert "record another clip" in caught.value.fix


def test_a_copy_of_the_scored_video_is_refused_too(tmp_path):
    rnd = _clip_round(tmp_path, tmp_path / "copy.mp4")
    shutil.copy(tmp_path / "lesson.mp4", tmp_path / "copy.mp4")
    with pytest.raises(TruthError, match="is the scored video"):
        check_tuning_clip(rnd)


def test_a_tuning_clip_with_the_scored_videos_truth_is_refused(tmp_path):
    (tmp_path / "other.mp4").write_bytes(b"another lesson")
    rnd = _clip_round(tmp_path, tmp_path / "other.mp4", truth=tmp_path / "lesson.truth")
    with pytest.raises(TruthError, match="has the scored video's truth"):
        check_tuning_clip(rnd)


def test_a_missing_tuning_clip_is_named(tmp_path):
    with pytest.raises(TruthError, match="attendance.tuning_clip not found: .*nowhere.mp4"):
        check_tuning_clip(_clip_round(tmp_path, tmp_path / "nowhere.mp4"))


def test_another_clip_passes_with_its_truth_beside_it(tmp_path):
    (tmp_path / "other.mp4").write_bytes(b"another lesson")
    assert check_tuning_clip(_clip_round(tmp_path, tmp_path / "other.mp4")) == (
        tmp_path / "other.mp4",
        tmp_path / "other.truth",
    )
