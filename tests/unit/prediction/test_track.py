"""track: one ultralytics tracker per class or one for all with a class vote, ids unique across classes, the MOT
rows (and their rewrite with the voted class), and the frame record.

Expected ids follow ultralytics' BYTETracker rules, read from its source (``trackers/byte_tracker.py``):
on a tracker's frame 1 every detection of at least ``new_track_thresh`` is confirmed at once; later a new
detection starts an unconfirmed track that is confirmed (and returned) only when it is matched again on
the next frame, and dropped otherwise. A lost track is removed once ``frame - last_seen > track_buffer``,
but ``merge_track_pools`` takes a removed track out of the lost pool only at the end of the next frame,
so it can still be matched on that frame: an object absent for k frames comes back with its id when
k <= track_buffer + 1.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from ultralytics.engine.results import Boxes, Results

from yolo_workbook.config.trackers import resolve_tracker
from yolo_workbook.prediction.predict import frame_detections
from yolo_workbook.prediction.track import (
    ClassTrackers,
    VoteTracker,
    buffer_frames,
    input_conf,
    mot_name,
    open_trackers,
    rewrite_mot_classes,
    voted_class,
)

HEIGHT, WIDTH = 120, 320
IMAGE = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
A = [10.0, 10.0, 50.0, 90.0]  # a student
B = [12.0, 12.0, 52.0, 92.0]  # the desk under it: IoU with A about 0.9
FAR = [200.0, 10.0, 240.0, 90.0]
MIDDLE = [100.0, 10.0, 140.0, 90.0]


def _boxes(*rows: tuple[list[float], int]) -> Boxes:
    """Boxes of ``(xyxy, class)`` pairs, all at confidence 0.9 (above every tracker's thresholds)."""
    data = [[*xyxy, 0.9, cls] for xyxy, cls in rows]
    return Boxes(torch.tensor(data, dtype=torch.float32).reshape(-1, 6), orig_shape=(HEIGHT, WIDTH))


def _tracking(
    name: str = "bytetrack", *, buffer: int = 30, mot: io.StringIO | None = None, kind: type = ClassTrackers
) -> ClassTrackers | VoteTracker:
    # lost_s * fps / stride = buffer frames
    (config,) = open_trackers([name], lost_s=float(buffer), fps=1.0, vid_stride=1)
    assert config.args["track_buffer"] == buffer
    return kind(config, mot)


def _run(tracking: ClassTrackers | VoteTracker, frames: list[list[tuple[list[float], int]]]) -> list[list[int | None]]:
    return [tracking.update(_boxes(*rows), IMAGE, frame_id) for frame_id, rows in enumerate(frames)]


@pytest.mark.parametrize("kind", [ClassTrackers, VoteTracker])
@pytest.mark.parametrize("name", ["bytetrack", "botsort", "ocsort", "fasttrack", "deepocsort"])
def test_overlapping_objects_of_two_classes_keep_their_own_ids(name, kind):
    ids = _run(_tracking(name, kind=kind), [[(A, 0), (B, 1)]] * 5)
    if name == "fasttrack" and kind is VoteTracker:
        # FastTrack starts no track for a box of IoU >= init_iou_suppress (0.7) with another one, whatever its
        # class: over every class at once, a desk under a student (IoU 0.9) is never tracked
        assert ids == [[1, None]] * 5
    else:
        assert ids == [[1, 2]] * 5


def test_a_track_never_changes_class():
    mot = io.StringIO()
    tracking = _tracking(mot=mot)
    # a desk (class 1) on the right; then it is gone and a student (class 0) sits exactly where it was
    frames = [[(A, 0), (FAR, 1)]] * 3 + [[(A, 0), (FAR, 0)]] * 2
    ids = _run(tracking, frames)
    # a class-blind tracker would continue the desk's id 2 on the student; here the student is new:
    # unconfirmed on its first frame, id 3 on its second
    assert ids == [[1, 2], [1, 2], [1, 2], [1, None], [1, 3]]
    classes = {}
    for line in mot.getvalue().splitlines():
        fields = line.split(",")
        classes.setdefault(int(fields[1]), set()).add(int(fields[7]))
    assert classes == {1: {1}, 2: {2}, 3: {1}}


def test_ids_are_numbered_across_classes_in_the_order_objects_are_confirmed():
    frames = [
        [(B, 1), (A, 0)],  # frame 0: both confirmed at once; class 0 first
        [(B, 1), (A, 0)],
        [(B, 1), (A, 0), (FAR, 1)],  # a new desk: waits one frame
        [(B, 1), (A, 0), (FAR, 1), (MIDDLE, 0)],  # a new student
        [(B, 1), (A, 0), (FAR, 1), (MIDDLE, 0), ([260.0, 10.0, 300.0, 90.0], 2)],  # a class never seen before
        [(B, 1), (A, 0), (FAR, 1), (MIDDLE, 0), ([260.0, 10.0, 300.0, 90.0], 2)],
    ]
    assert _run(_tracking(), frames) == [
        [2, 1],
        [2, 1],
        [2, 1, None],
        [2, 1, 3, None],
        [2, 1, 3, 4, None],  # a new class's tracker starts at the video's frame, not at its own frame 1
        [2, 1, 3, 4, 5],
    ]


@pytest.mark.parametrize(("absent", "back"), [(1, [1]), (4, [1]), (5, [None])])
def test_a_hidden_object_keeps_its_id_while_the_buffer_lasts(absent, back):
    frames = [[(A, 0), (FAR, 1)]] * 3 + [[(FAR, 1)]] * absent + [[(A, 0), (FAR, 1)]] * 2
    ids = _run(_tracking(buffer=3), frames)
    assert ids[:3] == [[1, 2]] * 3
    assert ids[3 : 3 + absent] == [[2]] * absent
    # absent for k <= track_buffer + 1 frames: the same id; longer: a new object, confirmed a frame later
    assert ids[3 + absent :] == ([[1, 2], [1, 2]] if back == [1] else [[None, 2], [3, 2]])


def test_a_frame_without_boxes_ages_every_tracker():
    frames = [[(A, 0)]] * 2 + [[]] * 5 + [[(A, 0)]] * 2
    assert _run(_tracking(buffer=3), frames)[2:] == [[]] * 5 + [[None], [2]]


def test_mot_rows_are_one_based_frames_and_classes():
    mot = io.StringIO()
    tracking = _tracking(mot=mot)
    assert tracking.update(_boxes((A, 1)), IMAGE, 7) == [1]
    assert tracking.update(_boxes(), IMAGE, 8) == []
    # frame_id 7 -> frame 8; class 1 -> class 2; box as left, top, width, height; visibility unset
    assert mot.getvalue() == "8,1,10.00,10.00,40.00,80.00,0.9000,2,-1\n"


@pytest.mark.parametrize(
    ("lost_s", "fps", "stride", "frames"),
    [
        (2.0, 10.0, 2, 10),
        (2.0, 30.0, 1, 60),
        (2.0, None, 1, 60),
        (1.0, 25.0, 3, 8),
        (0.01, 10.0, 1, 1),
        (2, 10.0, 0, 20),
    ],
)
def test_buffer_frames_counts_processed_frames(lost_s, fps, stride, frames):
    assert buffer_frames(lost_s, fps=fps, vid_stride=stride) == frames


def test_input_conf_is_the_lowest_second_association_threshold(tmp_path):
    copy = tmp_path / "low.yaml"
    copy.write_text("tracker_type: bytetrack\ntrack_low_thresh: 0.05\n", encoding="utf-8")
    bytetrack, low = resolve_tracker("bytetrack"), resolve_tracker(str(copy))
    assert input_conf([bytetrack], 0.5) == 0.1
    assert input_conf([bytetrack, low], 0.5) == 0.05
    assert input_conf([bytetrack], 0.03) == 0.03  # a user threshold below it stays
    assert input_conf([], 0.5) == 0.5


def test_open_trackers_drops_none_and_sets_the_buffer(tmp_path):
    copy = tmp_path / "mine.yaml"
    copy.write_text("tracker_type: botsort\n", encoding="utf-8")
    configs = open_trackers(["none", "bytetrack", str(copy)], lost_s=2.0, fps=10.0, vid_stride=2)
    assert [(c.tracker_type, c.args["track_buffer"]) for c in configs] == [("bytetrack", 10), ("botsort", 10)]
    assert [mot_name(c) for c in configs] == ["tracks.bytetrack.mot.txt", "tracks.mine.mot.txt"]
    assert resolve_tracker("bytetrack").args["track_buffer"] == 30  # the shipped defaults are not changed


def _result(rows: list[list[float]]) -> Results:
    boxes = torch.tensor(rows, dtype=torch.float32).reshape(-1, 6)
    return Results(
        np.zeros((48, 64, 3), dtype=np.uint8), path="/videos/clip.mp4", names={0: "student", 1: "desk"}, boxes=boxes
    )


ROWS = [[1, 2, 11, 22, 0.9, 0], [3, 4, 13, 24, 0.3, 1], [5, 6, 15, 26, 0.5, 0]]


def test_frame_detections_without_tracks_keeps_the_diary_shape():
    record = frame_detections(_result(ROWS), 4, 0.4).to_record()
    assert record == {
        "frame_id": 4,
        "detections": [
            {"class": "student", "confidence": 0.9, "bbox": [1.0, 2.0, 11.0, 22.0], "class_id": 0},
            {"class": "desk", "confidence": 0.3, "bbox": [3.0, 4.0, 13.0, 24.0], "class_id": 1},
            {"class": "student", "confidence": 0.5, "bbox": [5.0, 6.0, 15.0, 26.0], "class_id": 0},
        ],
        "time_s": 0.4,
        "source": "clip.mp4",
        "width": 64,
        "height": 48,
    }
    assert [list(d) for d in record["detections"]] == [["class", "confidence", "bbox", "class_id"]] * 3


def test_frame_detections_with_tracks_drops_low_boxes_and_adds_their_ids():
    record = frame_detections(_result(ROWS), 4, None, track_ids=[1, 7, None], min_conf=0.5).to_record()
    # ultralytics keeps conf > threshold: a box at exactly 0.5 is not one plain predict would write
    assert [(d["confidence"], d["track_id"]) for d in record["detections"]] == [(0.9, 1)]
    assert list(record["detections"][0]) == ["class", "confidence", "bbox", "class_id", "track_id"]
    assert frame_detections(_result([]), 0, None, track_ids=[], min_conf=0.5).to_record()["detections"] == []


def _still_video(path, frames: int) -> None:
    import cv2

    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[16:48, 8:56] = (40, 160, 220)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 64))
    for _ in range(frames):
        writer.write(image)
    writer.release()


def test_predict_to_json_tracks_and_writes_mot_files(outputs, monkeypatch, tmp_path):
    import json

    from ultralytics import YOLO

    from yolo_workbook.config import params
    from yolo_workbook.prediction import predict

    video = tmp_path / "still.mp4"
    _still_video(video, 6)
    model = YOLO("yolov8n.yaml")  # random weights, made sure of classes 0 and 1: the same boxes every frame
    for branch in model.model.model[-1].cv3:
        branch[-1].bias.data[:] = -10.0
        branch[-1].bias.data[:2] = 5.0
    weights = tmp_path / "sure.pt"
    model.save(weights)
    monkeypatch.setattr(predict, "resolve_start_weights", lambda rnd: str(weights))
    rnd = params.load_round("p01_video", profile="ci", use_local=False)
    rnd.predict.update(source=str(video), imgsz=64, conf=0.5, max_det=8, tracker=["bytetrack", "ocsort"], save=False)
    result = predict.predict_to_json(rnd)

    folder = result.folder
    classes = (folder / "classes.txt").read_text(encoding="utf-8").splitlines()
    assert classes == [str(i) for i in range(80)]  # a model built from yolov8n.yaml names its classes by number
    summary = result.summary
    assert (summary["tracker_input_conf"], summary["trackers"], summary["track_buffer"]) == (
        0.1,
        ["bytetrack", "ocsort"],
        20,
    )
    assert summary["parameters"]["conf"] == 0.5
    frames = json.loads(result.json_path.read_text(encoding="utf-8"))
    detections = [(f["frame_id"], d) for f in frames for d in f["detections"]]
    assert detections and all(d["confidence"] >= 0.5 and "track_id" in d for _, d in detections)
    assert frames[0]["detections"]
    assert all(
        isinstance(d["track_id"], int) for frame_id, d in detections if frame_id == 0
    )  # frame 1: confirmed at once
    rows = {
        (int(r[0]), int(r[1])): int(r[7])
        for r in (line.split(",") for line in (folder / "tracks.mot.txt").read_text(encoding="utf-8").splitlines())
    }
    for frame_id, d in detections:  # each written id is a MOT row of its frame and class
        if d["track_id"] is not None:
            assert rows[(frame_id + 1, d["track_id"])] == d["class_id"] + 1
    assert summary["tracks"] == len({track_id for _, track_id in rows})
    assert (folder / "tracks.ocsort.mot.txt").read_text(encoding="utf-8")


def _flip(student_conf: float, sitae_conf: float) -> list[Boxes]:
    """One object at A: a student (class 0) for 12 frames, then a sitae (class 2) for 8, and a desk at FAR."""
    frames = [[[*A, student_conf, 0], [*FAR, 0.9, 1]]] * 12 + [[[*A, sitae_conf, 2], [*FAR, 0.9, 1]]] * 8
    return [Boxes(torch.tensor(rows, dtype=torch.float32), orig_shape=(HEIGHT, WIDTH)) for rows in frames]


def _mot_classes(text: str) -> dict[int, list[int]]:
    """Track id -> the class column of its rows, in row order."""
    found: dict[int, list[int]] = {}
    for line in text.splitlines():
        fields = line.split(",")
        found.setdefault(int(fields[1]), []).append(int(fields[7]))
    return found


def test_per_class_trackers_turn_a_class_flip_into_a_second_track():
    tracking = _tracking()
    ids = [tracking.update(boxes, IMAGE, frame_id) for frame_id, boxes in enumerate(_flip(0.6, 0.95))]
    # the sitae is new to the sitae tracker: unconfirmed on its first frame, id 3 from its second
    assert ids == [[1, 2]] * 12 + [[None, 2]] + [[3, 2]] * 7
    assert tracking.track_classes() == {1: 0, 2: 1, 3: 2}


# Summed confidences, by hand: student 12 x conf, sitae 8 x conf (every frame is matched, frame 1 confirms at once).
@pytest.mark.parametrize(
    ("student_conf", "sitae_conf", "voted"),
    [
        (0.6, 0.95, 2),  # 7.2 < 7.6: the sitae, though the student has more frames
        (0.6, 0.85, 0),  # 7.2 > 6.8: the student, though the sitae is the latest class
        (0.5, 0.75, 0),  # 6.0 = 6.0 (exact in binary): the tie goes to the lower class index
    ],
)
def test_one_tracker_keeps_a_class_flip_one_track_of_the_voted_class(student_conf, sitae_conf, voted):
    mot = io.StringIO()
    tracking = _tracking(mot=mot, kind=VoteTracker)
    ids = [tracking.update(boxes, IMAGE, frame_id) for frame_id, boxes in enumerate(_flip(student_conf, sitae_conf))]
    assert ids == [[1, 2]] * 20
    assert tracking.track_classes() == {1: voted, 2: 1}
    assert tracking.tracks == 2
    # while streaming, each row has the class the detector gave its box in that frame (1-based)
    assert _mot_classes(mot.getvalue()) == {1: [1] * 12 + [3] * 8, 2: [2] * 20}


def test_voted_class_is_the_most_summed_confidence_ties_to_the_lower_index():
    assert voted_class({0: 1.0, 2: 1.5}) == 2
    assert voted_class({2: 1.0, 0: 1.0, 1: 0.5}) == 0
    assert voted_class({3: 0.2}) == 3


def test_rewrite_mot_classes_sets_each_row_to_its_tracks_class(tmp_path):
    path = tmp_path / "tracks.mot.txt"
    path.write_text(
        "1,1,10.00,10.00,40.00,80.00,0.6000,1,-1\n"
        "1,2,200.00,10.00,40.00,80.00,0.9000,2,-1\n"
        "13,1,10.00,10.00,40.00,80.00,0.9500,3,-1\n"
        "14,4,1.00,2.00,3.00,4.00,0.5000,1,-1\n",
        encoding="utf-8",
    )
    assert rewrite_mot_classes(path, {1: 2, 2: 1}) == path
    # track 1 voted class 2 (1-based 3), track 2 class 1 (2); track 4 has no class given: its rows stay
    assert path.read_text(encoding="utf-8") == (
        "1,1,10.00,10.00,40.00,80.00,0.6000,3,-1\n"
        "1,2,200.00,10.00,40.00,80.00,0.9000,2,-1\n"
        "13,1,10.00,10.00,40.00,80.00,0.9500,3,-1\n"
        "14,4,1.00,2.00,3.00,4.00,0.5000,1,-1\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.mot.txt"]  # no temporary file left
