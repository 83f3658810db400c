"""Detections: one frame's typed detections; what goes to disk and back is the diary's shape, byte for byte."""

from __future__ import annotations

import json

import numpy as np

from yolo_workbook.prediction.detections import NO_TRACK, Detections, add_track_classes, read_detections

TRACKED = (
    '{"frame_id": 5, "detections": [{"class": "학생", "confidence": 0.91234, "bbox": [10.5, 20.25, 60.0, 110.75],'
    ' "class_id": 0, "track_id": 3}, {"class": "sitae", "confidence": 0.4, "bbox": [1.0, 2.0, 3.0, 4.0],'
    ' "class_id": 2, "track_id": null}], "time_s": 0.5, "source": "교실.mp4", "width": 320, "height": 240}'
)
PLAIN = (
    '{"frame_id": 0, "detections": [{"class": "desk", "confidence": 0.5, "bbox": [0.0, 0.0, 8.0, 8.0],'
    ' "class_id": 1}], "time_s": null, "source": "a.jpg", "width": 64, "height": 48}'
)
EMPTY = '{"frame_id": 1, "detections": [], "time_s": 0.1, "source": "clip.mp4", "width": 64, "height": 48}'


def test_a_frame_read_and_written_again_is_the_same_bytes(tmp_path):
    path = tmp_path / "detections.jsonl"
    path.write_text(f"{TRACKED}\n{PLAIN}\n{EMPTY}\n", encoding="utf-8")
    frames = list(read_detections(path))
    assert [json.dumps(f.to_record(), ensure_ascii=False) for f in frames] == [TRACKED, PLAIN, EMPTY]
    tracked, plain, empty = frames
    assert tracked.track_ids() == [3, None] and plain.tracker_id is None and len(empty) == 0
    assert tracked.counts() == {"학생": 1, "sitae": 1}


def test_a_mask_keeps_every_column_of_the_boxes_it_selects():
    frame = Detections.from_record(json.loads(TRACKED))
    sure = frame[frame.confidence > 0.5]
    assert sure.class_name == ("학생",) and sure.class_id.tolist() == [0] and sure.tracker_id.tolist() == [3]
    assert sure.xyxy.tolist() == [[10.5, 20.25, 60.0, 110.75]] and (sure.frame_id, sure.source) == (5, "교실.mp4")
    none = frame[frame.confidence > 0.95]
    assert len(none) == 0 and none.xyxy.shape == (0, 4)
    assert none.to_record()["detections"] == []
    assert frame[np.array([False, True])].tracker_id.tolist() == [NO_TRACK]


CLASSED = (
    '{"frame_id": 6, "detections": [{"class": "student", "confidence": 0.6, "bbox": [1.0, 2.0, 3.0, 4.0],'
    ' "class_id": 0, "track_id": 3, "track_class": "sitae"}, {"class": "desk", "confidence": 0.3, "bbox":'
    ' [5.0, 6.0, 7.0, 8.0], "class_id": 1, "track_id": null, "track_class": null}], "time_s": 0.6, "source":'
    ' "clip.mp4", "width": 64, "height": 48}'
)


def test_the_track_class_column_is_read_kept_by_a_mask_and_written_back(tmp_path):
    path = tmp_path / "detections.jsonl"
    path.write_text(f"{CLASSED}\n{TRACKED}\n", encoding="utf-8")
    classed, tracked = read_detections(path)
    assert classed.track_class == ("sitae", None) and tracked.track_class is None  # no field: no column
    assert [json.dumps(f.to_record(), ensure_ascii=False) for f in (classed, tracked)] == [CLASSED, TRACKED]
    assert classed[classed.confidence < 0.5].track_class == (None,)
    assert classed[np.array([True, False])].to_record()["detections"][0]["track_class"] == "sitae"


def test_add_track_classes_names_each_tracked_detections_track(tmp_path):
    path = tmp_path / "detections.jsonl"
    tracked = {
        "frame_id": 0,
        "detections": [
            {"class": "student", "confidence": 0.6, "bbox": [1.0, 2.0, 3.0, 4.0], "class_id": 0, "track_id": 4},
            {"class": "desk", "confidence": 0.3, "bbox": [5.0, 6.0, 7.0, 8.0], "class_id": 1, "track_id": None},
        ],
        "time_s": 0.0,
        "source": "clip.mp4",
        "width": 64,
        "height": 48,
    }
    empty = {"frame_id": 1, "detections": [], "time_s": 0.1, "source": "clip.mp4", "width": 64, "height": 48}
    plain_line = json.dumps(empty, ensure_ascii=False)
    path.write_text(json.dumps(tracked, ensure_ascii=False) + "\n" + plain_line + "\n", encoding="utf-8")
    assert add_track_classes(path, {4: "sitae"}) == (1, 1)  # the student of track 4 is a sitae by vote
    first, second = path.read_text(encoding="utf-8").splitlines()
    assert [(d["track_id"], d["track_class"]) for d in json.loads(first)["detections"]] == [(4, "sitae"), (None, None)]
    assert second == plain_line  # a frame without detections is written back byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detections.jsonl"]
