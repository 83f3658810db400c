"""predict: the diary's JSON shape, true frame ids, and no JSON on bad input."""

from __future__ import annotations

import json

import jsonschema
import pytest

from yolo_workbook.config import params
from yolo_workbook.core import paths
from yolo_workbook.core.errors import PredictError
from yolo_workbook.prediction import predict

SCHEMA = json.loads((paths.SCHEMAS_DIR / "detections.schema.json").read_text())


def _predict_round(**overrides):
    rnd = params.load_round("p01_video", profile="ci", use_local=False)
    rnd.predict.update(overrides)
    return rnd


@pytest.mark.parametrize("conf", [1.5, -0.1, "0.5"])
def test_conf_outside_unit_interval_is_refused(conf):
    with pytest.raises(PredictError, match="predict.conf"):
        predict.check_predict_args(_predict_round(conf=conf))


def test_missing_source_writes_nothing(outputs, monkeypatch, tmp_path):
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"")
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: str(weights))
    rnd = _predict_round(source="outputs/nowhere/video.mp4")
    with pytest.raises(PredictError, match="predict.source not found"):
        predict.predict_to_json(rnd)
    assert not (outputs / "ci" / "p01_video" / "detections.json").exists()


def test_undecodable_video_is_refused(outputs, monkeypatch, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: "unused.pt")
    with pytest.raises(PredictError, match="cannot (open|decode) the video"):
        predict.predict_to_json(_predict_round(source=str(broken)))
    assert not (outputs / "ci" / "p01_video" / "detections.json").exists()


def _counting_video(path, frames: int) -> None:
    """A video whose frame i is flat gray 10 * i: its index can be read back from the pixels."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 64))
    for index in range(frames):
        writer.write(np.full((64, 64, 3), 10 * index, dtype=np.uint8))
    writer.release()


@pytest.mark.slow
@pytest.mark.parametrize("stride", [1, 3])
def test_frame_ids_are_the_source_frames_ultralytics_decodes(stride, outputs, monkeypatch, tmp_path):
    from ultralytics import YOLO

    video = tmp_path / "counting.mp4"
    _counting_video(video, 20)  # 20 is not a multiple of 3: ultralytics skips the tail
    weights = outputs / "untrained.pt"
    weights.parent.mkdir(parents=True)
    YOLO("yolov8n.yaml").save(weights)  # random weights: detections may be empty, frames must not be
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: str(weights))
    decoded = {}  # frame_id -> the source frame index read from the pixels of the frame it was given
    detections = predict.frame_detections

    def spy(result, frame_id, time_s, **options):
        decoded[frame_id] = round(float(result.orig_img.mean()) / 10)
        return detections(result, frame_id, time_s, **options)

    monkeypatch.setattr(predict, "frame_detections", spy)
    result = predict.predict_to_json(_predict_round(source=str(video), vid_stride=stride, conf=0.0001))
    frames = json.loads(result.json_path.read_text())
    jsonschema.validate(frames, SCHEMA)
    expected = list(range(20)) if stride == 1 else [2, 5, 8, 11, 14, 17]  # counted by hand, not by the code
    assert [f["frame_id"] for f in frames] == expected
    assert decoded == {i: i for i in expected}  # each id is the frame whose pixels it carries
    assert [f["time_s"] for f in frames] == pytest.approx([i / 10 for i in expected])
    lines = result.jsonl_path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == frames
    assert result.summary["frames"] == len(expected)


def test_class_summary_from_a_histogram():
    from collections import Counter

    summary = predict.class_summary(Counter({0: 5, 1: 3, 4: 1}))  # 9 frames
    assert summary == {"detections": 7, "frames_with": 4, "most_at_once": 4, "median_per_frame": 0.0}
    assert predict.class_summary(Counter({1: 2, 2: 2}))["median_per_frame"] == 1.5


def test_json_array_is_streamed_from_the_lines(tmp_path):
    lines = tmp_path / "d.jsonl"
    frames = [{"frame_id": i, "detections": [], "time_s": None} for i in range(5)]
    lines.write_text("".join(json.dumps(f) + "\n" for f in frames))
    out = predict.write_json_array_from_lines(lines, tmp_path / "d.json")
    assert json.loads(out.read_text()) == frames


def _long_video(path, frames: int, ci_data) -> str:
    import cv2

    images = sorted((ci_data["first"].parent / "test" / "images").glob("*.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 160))
    for i in range(frames):
        writer.write(cv2.imread(str(images[i % len(images)])))
    writer.release()
    return str(path)


@pytest.mark.slow
def test_predict_cli_killed_mid_video_keeps_finished_frames_and_no_partial_json(ci_data, outputs, tmp_path):
    import signal
    import subprocess
    import time

    from conftest import BIN, ROOT, child_environment
    from ultralytics import YOLO

    weights = tmp_path / "untrained.pt"
    YOLO("yolov8n.yaml").save(weights)
    video = _long_video(tmp_path / "long.mp4", 900, ci_data)
    folder = outputs / "ci" / "p01_video"
    folder.mkdir(parents=True)
    (folder / "detections.json").write_text('[{"frame_id": 0, "detections": []}]\n')  # an earlier result
    command = [str(BIN / "yolo-workbook"), "predict", "--profile", "ci", "--source", video, "--weights", str(weights)]
    env = child_environment({"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = folder / "detections.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not lines.exists() or lines.read_text().count("\n") < 30):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    text = lines.read_text()
    complete = [json.loads(line) for line in text.split("\n")[:-1]]  # every finished frame is a whole line
    assert 30 <= len(complete) < 900
    assert [f["frame_id"] for f in complete] == list(range(len(complete)))
    assert not (folder / "detections.json").exists()  # no final JSON from a cut-short run...
    assert list((folder / "history").glob("*/detections.json"))  # ...and the earlier one is kept

    done = subprocess.run([*command, "--vid-stride", "3"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    frames = json.loads((folder / "detections.json").read_text())
    jsonschema.validate(frames, SCHEMA)
    assert [f["frame_id"] for f in frames] == list(range(2, 900, 3))  # the last of every 3: 2, 5, 8, ...
    assert frames[1]["time_s"] == pytest.approx(5 / 25)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["frames"] == 300 and summary["vid_stride"] == 3
