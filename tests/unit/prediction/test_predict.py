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


# One class per track, and a per-class operating point. The detector is a stand-in that yields the same hand-made
# boxes whatever it is given (and records what it was given); the trackers are ultralytics' own.
NAMES = {0: "student", 1: "desk", 2: "sitae"}
SEAT = [10.0, 10.0, 50.0, 90.0]
DESK = [200.0, 10.0, 240.0, 90.0]


class _Detector:
    """Yields one ``Results`` per frame of ``frames`` (rows ``[x1, y1, x2, y2, conf, cls]``), ignoring the video."""

    names = NAMES

    def __init__(self, frames: list[list[list[float]]]) -> None:
        self.frames, self.given = frames, {}

    def predict(self, **args):
        import numpy as np
        import torch
        from ultralytics.engine.results import Results

        self.given = args
        for rows in self.frames:
            boxes = torch.tensor(rows, dtype=torch.float32).reshape(-1, 6)
            yield Results(np.zeros((120, 320, 3), dtype=np.uint8), path=args["source"], names=NAMES, boxes=boxes)


def _stand_in(monkeypatch, tmp_path, frames: list[list[list[float]]], **predict_args):
    import cv2
    import numpy as np

    video = tmp_path / "clip.mp4"  # read for its frame rate and length only
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 64))
    for _ in frames:
        writer.write(np.zeros((64, 64, 3), dtype=np.uint8))
    writer.release()
    detector = _Detector(frames)
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: "stand-in.pt")
    monkeypatch.setattr(predict, "load_model", lambda weights, where: detector)
    rnd = _predict_round(source=str(video), save=False, **predict_args)
    return rnd, detector


# A seat holds a student for 12 frames (conf 0.6), then a sitae for 8 (conf 0.95); a desk stays at 0.9.
# Summed by hand: student 12 x 0.6 = 7.2, sitae 8 x 0.95 = 7.6: the seat's track is a sitae.
FLIP = [[[*SEAT, 0.6, 0], [*DESK, 0.9, 1]]] * 12 + [[[*SEAT, 0.95, 2], [*DESK, 0.9, 1]]] * 8


def _read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _mot(path) -> list[tuple[int, int, int]]:
    return [(int(r[0]), int(r[1]), int(r[7])) for r in (line.split(",") for line in path.read_text().splitlines())]


def test_vote_gives_a_class_flip_one_track_of_the_voted_class(outputs, monkeypatch, tmp_path):
    rnd, _ = _stand_in(monkeypatch, tmp_path, FLIP, conf=0.5, tracker="bytetrack")
    result = predict.predict_to_json(rnd)
    folder = result.folder
    # every row of the seat's track (id 1) has the voted class, sitae (1-based 3); the desk's (id 2), desk (2)
    assert _mot(folder / "tracks.mot.txt") == [row for f in range(1, 21) for row in ((f, 1, 3), (f, 2, 2))]
    frames = _read_lines(result.jsonl_path)
    seat = [f["detections"][0] for f in frames]
    assert [d["class"] for d in seat] == ["student"] * 12 + ["sitae"] * 8  # what the detector said stays
    assert {(d["track_id"], d["track_class"]) for d in seat} == {(1, "sitae")}
    assert {(f["detections"][1]["track_id"], f["detections"][1]["track_class"]) for f in frames} == {(2, "desk")}
    assert list(seat[0]) == ["class", "confidence", "bbox", "class_id", "track_id", "track_class"]
    written = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert written == frames
    jsonschema.validate(written, SCHEMA)
    assert (result.summary["track_class"], result.summary["tracks"]) == ("vote", 2)
    assert result.summary["reclassed"] == {"detections": 12, "tracks": 1}  # the 12 student frames of track 1
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_per_class_trackers_count_a_class_flip_as_two_tracks(outputs, monkeypatch, tmp_path):
    rnd, _ = _stand_in(monkeypatch, tmp_path, FLIP, conf=0.5, tracker="bytetrack")
    rnd.attendance["track_class"] = "per_class"
    result = predict.predict_to_json(rnd)
    rows = _mot(result.folder / "tracks.mot.txt")
    # the student (id 1) and the desk (id 2) from frame 1; the sitae is new to its tracker: id 3 from its 2nd frame
    assert {(track, cls) for _, track, cls in rows} == {(1, 1), (2, 2), (3, 3)}
    assert sorted(f for f, track, _ in rows if track == 3) == list(range(14, 21))
    seat = [f["detections"][0] for f in _read_lines(result.jsonl_path)]
    assert [(d["track_id"], d["track_class"]) for d in seat] == [(1, "student")] * 12 + [(None, None)] + [
        (3, "sitae")
    ] * 7
    jsonschema.validate(json.loads(result.json_path.read_text(encoding="utf-8")), SCHEMA)
    assert (result.summary["track_class"], result.summary["tracks"]) == ("per_class", 3)
    assert result.summary["reclassed"] == {"detections": 0, "tracks": 0}


# conf per class: student 0.7, sitae 0.5, desk not named (0.25, ultralytics' default): the lowest is 0.25.
PER_CLASS = {"student": 0.7, "sitae": 0.5}
MIXED = [[[*SEAT, 0.65, 0], [*DESK, 0.3, 1], [100.0, 10.0, 140.0, 90.0, 0.55, 2], [260.0, 10.0, 300.0, 90.0, 0.2, 1]]]
MIXED += [[[*SEAT, 0.75, 0], [*DESK, 0.3, 1], [100.0, 10.0, 140.0, 90.0, 0.45, 2], [260.0, 10.0, 300.0, 90.0, 0.2, 1]]]


@pytest.mark.parametrize(("tracker", "given_conf"), [("none", 0.25), ("bytetrack", 0.1)])
def test_a_per_class_conf_keeps_each_detection_above_its_own_class(tracker, given_conf, outputs, monkeypatch, tmp_path):
    rnd, detector = _stand_in(monkeypatch, tmp_path, MIXED, conf=PER_CLASS, tracker=tracker)
    result = predict.predict_to_json(rnd)
    assert detector.given["conf"] == given_conf  # one number: the lowest class value, or the trackers' input
    kept = [[(d["class"], d["confidence"]) for d in f["detections"]] for f in _read_lines(result.jsonl_path)]
    # student 0.65 < 0.7 and sitae 0.45 < 0.5 go; desk 0.3 > 0.25 stays, desk 0.2 goes
    assert kept == [[("desk", 0.3), ("sitae", 0.55)], [("student", 0.75), ("desk", 0.3)]]
    assert result.summary["parameters"]["conf"] == PER_CLASS  # as given


def test_a_per_class_conf_names_every_class_the_lowest_goes_to_ultralytics(outputs, monkeypatch, tmp_path):
    rnd, detector = _stand_in(
        monkeypatch, tmp_path, MIXED, conf={"student": 0.7, "desk": 0.4, "sitae": 0.5}, tracker="none"
    )
    result = predict.predict_to_json(rnd)
    assert detector.given["conf"] == 0.4
    kept = [[(d["class"], d["confidence"]) for d in f["detections"]] for f in _read_lines(result.jsonl_path)]
    assert kept == [[("sitae", 0.55)], [("student", 0.75)]]


def test_a_per_class_conf_is_checked(outputs):
    assert predict.check_predict_args(_predict_round(conf={"student": 0.3}))["conf"] == {"student": 0.3}
    rnd = _predict_round(conf={"student": 1.5})
    with pytest.raises(PredictError, match=r"predict\.conf gives class 'student' the confidence 1\.5") as caught:
        predict.check_predict_args(rnd)
    assert str(caught.value).startswith(rnd.where("predict", "conf"))


def test_a_conf_class_the_model_lacks_stops_before_anything_moves(outputs, tmp_path, monkeypatch):
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")  # untrained: only its class names are read before the check
    model.model.names = dict(NAMES)
    weights = tmp_path / "three.pt"
    model.save(weights)
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: str(weights))
    video = tmp_path / "still.mp4"
    _counting_video(video, 3)
    folder = outputs / "ci" / "p01_video"
    folder.mkdir(parents=True)
    (folder / "detections.json").write_text("[]\n")  # an earlier result
    rnd = _predict_round(source=str(video), conf={"student": 0.4, "sitea": 0.2}, tracker="bytetrack")
    with pytest.raises(PredictError, match="class 'sitea'") as caught:
        predict.predict_to_json(rnd)
    assert str(caught.value).startswith(rnd.where("predict", "conf"))
    assert "its classes: student, desk, sitae" in str(caught.value)
    assert caught.value.fix == "did you mean 'sitae'?"
    assert sorted(p.name for p in folder.iterdir()) == ["detections.json"]  # nothing archived, nothing written
