"""predict: the diary's JSON shape, true frame ids, and no JSON on bad input."""

from __future__ import annotations

import json

import jsonschema
import pytest

from yolo_workbook import params, predict
from yolo_workbook.errors import PredictError

SCHEMA = json.loads((predict.Path(predict.__file__).with_name("schemas") / "detections.schema.json").read_text())


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


@pytest.mark.slow
@pytest.mark.parametrize("stride", [1, 3])
def test_frame_ids_follow_the_source_with_vid_stride(stride, ci_data, outputs, monkeypatch):
    from ultralytics import YOLO

    weights = outputs / "untrained.pt"
    weights.parent.mkdir(parents=True)
    YOLO("yolov8n.yaml").save(weights)  # random weights: detections may be empty, frames must not be
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: str(weights))
    result = predict.predict_to_json(_predict_round(vid_stride=stride, conf=0.0001))
    frames = json.loads(result.json_path.read_text())
    jsonschema.validate(frames, SCHEMA)
    total = 24  # 6 test images x 4 frames in the ci video
    assert [f["frame_id"] for f in frames] == list(range(0, total, stride))
    assert frames[1]["time_s"] == pytest.approx(stride / 10)
    lines = result.jsonl_path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == frames
    assert result.summary["frames"] == len(frames)
    for frame in frames:
        for det in frame["detections"]:
            assert set(det) >= {"class", "confidence", "bbox"} and len(det["bbox"]) == 4
