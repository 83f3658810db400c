"""Bad attendance input on the command line: one short message naming the file, line or key, before the video is
read and before anything earlier moves."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from conftest import cli


def _earlier_prediction(outputs: Path) -> Path:
    """A p01_video folder as an earlier run left it: a bad new run must leave it as it is."""
    folder = outputs / "ci" / "p01_video"
    folder.mkdir(parents=True)
    (folder / "detections.json").write_text('[{"frame_id": 0, "detections": []}]\n', encoding="utf-8")
    return folder


def _truth_with_a_bad_line(ci_data: dict[str, Path], tmp_path: Path) -> Path:
    truth = tmp_path / "clip.truth"
    shutil.copytree(ci_data["video"].with_suffix(".truth"), truth)
    lines = (truth / "gt" / "gt.txt").read_text(encoding="utf-8").splitlines()
    lines[2] = "1,2,10,10,twenty,20,1,1,1.0"  # line 3: a width that is not a number
    (truth / "gt" / "gt.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return truth


def test_a_ground_truth_line_that_is_not_a_number_stops_before_the_video_is_read(ci_data, outputs, tmp_path):
    earlier = _earlier_prediction(outputs)
    truth = _truth_with_a_bad_line(ci_data, tmp_path)
    done = cli("predict", "--profile", "ci", "--truth", str(truth), env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "gt/gt.txt:3:" in done.stderr and "fix:" in done.stderr, done.stderr  # file:line
    assert len(done.stderr.splitlines()) <= 6, done.stderr  # one screen
    assert "predict:" not in done.stderr + done.stdout  # no frame was read
    assert sorted(p.name for p in earlier.iterdir()) == ["detections.json"]  # nothing moved to history/


def test_an_unknown_tracker_gets_a_suggestion_before_anything_runs(ci_data, outputs):
    earlier = _earlier_prediction(outputs)
    done = cli("predict", "--profile", "ci", "--tracker", "bytetrak", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "--tracker" in done.stderr and "did you mean 'bytetrack'?" in done.stderr, done.stderr
    assert sorted(p.name for p in earlier.iterdir()) == ["detections.json"]


def test_a_window_of_zero_seconds_is_refused_naming_the_key(ci_data, outputs):
    done = cli("predict", "--profile", "ci", "--window", "0", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "command line: error: --window:" in done.stderr, done.stderr
    assert not (outputs / "ci" / "p01_video").exists()


def test_a_truth_shorter_than_the_video_names_both_lengths(ci_data, outputs, tmp_path):
    truth = tmp_path / "short.truth"
    truth.mkdir()
    (truth / "classes.txt").write_text("student\ndesk\nsitae\n", encoding="utf-8")
    (truth / "counts.csv").write_text("frame,student,desk,sitae\n1,1,1,0\n2,1,1,0\n", encoding="utf-8")
    done = cli("predict", "--profile", "ci", "--truth", str(truth), env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "frames out of range: the video has 40 frames" in done.stderr and "covers 2" in done.stderr, done.stderr


def test_score_video_without_a_prediction_says_to_predict_first(outputs):
    done = cli("score-video", "--profile", "ci", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "no prediction here" in done.stderr and "yolo-workbook predict" in done.stderr


def test_another_source_is_not_scored_against_the_profiles_truth(ci_data, outputs, tmp_path):
    """--source replaces the video: the profile's ground truth (of its own video) does not apply to it."""
    from ultralytics import YOLO

    weights = tmp_path / "untrained.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    video = tmp_path / "other.mp4"
    shutil.copy(ci_data["video"], video)
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs)}
    done = cli("predict", "--profile", "ci", "--source", str(video), "--weights", str(weights), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((outputs / "ci" / "p01_video" / "attendance.json").read_text(encoding="utf-8"))
    assert (doc["truth"], doc["score"]) == (None, None)
    assert "no ground truth" in done.stdout


def test_predicting_again_moves_every_file_of_the_earlier_result_to_history(ci_data, outputs, tmp_path):
    """The earlier headcount is never lost, and the live folder never mixes two runs (issue 24)."""
    from ultralytics import YOLO

    weights = tmp_path / "untrained.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs)}
    done = cli("predict", "--profile", "ci", "--weights", str(weights), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    folder = outputs / "ci" / "p01_video"
    (folder / "05_predict_json.ipynb").write_text('{"cells": []}\n', encoding="utf-8")  # a notebook run's, beside it
    first = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert {"attendance.json", "counts.csv", "detections.json", "summary.json", "05_predict_json.ipynb"} <= set(first)
    assert {"operating_point.yaml", "tuning/attendance.json", "tuning/detections.json"} <= set(first)  # tuning clip
    started = time.time()
    done = cli("predict", "--profile", "ci", "--weights", str(weights), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    (history,) = (folder / "history").iterdir()
    kept = {p.relative_to(history).as_posix(): p.read_bytes() for p in sorted(history.rglob("*")) if p.is_file()}
    assert kept == first  # every file of the first result, byte for byte, in one folder
    live = [p for p in folder.rglob("*") if p.is_file() and "history" not in p.relative_to(folder).parts]
    assert {p.name for p in live} >= {"attendance.json", "counts.csv", "detections.json"}
    assert all(p.stat().st_mtime >= started for p in live), [p.name for p in live if p.stat().st_mtime < started]
