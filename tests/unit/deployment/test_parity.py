"""parity: the gate's comparison of an export with its .pt model, on numbers written out by hand."""

from __future__ import annotations

import pytest

from yolo_workbook.deployment.parity import box_agreement, compare_val, iou

BOX = [10.0, 10.0, 110.0, 110.0]  # 100 x 100


def _val(map50_95: float, **per_class: float | None) -> dict:
    return {"mAP50-95": map50_95, "per_class": per_class}


def test_equal_validations_pass_with_zero_deltas():
    gate = compare_val(_val(0.5, student=0.8, desk=0.6), _val(0.5, student=0.8, desk=0.6))
    assert gate["reasons"] == [] and gate["delta_map50_95"] == 0.0
    assert gate["worst_class"] == {"name": "student", "delta": 0.0}


@pytest.mark.parametrize(
    ("export_map", "fails"),
    [(0.5045, False), (0.4955, False), (0.5055, True), (0.4940, True)],  # tolerance 0.005 either way
)
def test_map50_95_tolerance_is_0_005_either_way(export_map, fails):
    reasons = compare_val(_val(0.5, student=0.8), _val(export_map, student=0.8))["reasons"]
    assert bool(reasons) is fails
    if fails:
        assert "mAP50-95 differs by" in reasons[0] and "tolerance 0.005" in reasons[0]


def test_a_class_that_lost_ap50_is_named_and_is_the_worst():
    gate = compare_val(_val(0.5, student=0.8, sitae=0.40, desk=0.6), _val(0.5, student=0.805, sitae=0.37, desk=0.6))
    assert gate["worst_class"] == {"name": "sitae", "delta": pytest.approx(-0.03)}
    assert len(gate["reasons"]) == 1
    assert "sitae -0.0300" in gate["reasons"][0] and "student" not in gate["reasons"][0]


def test_a_class_absent_from_val_is_not_compared():
    gate = compare_val(_val(0.5, student=0.8, sitae=None), _val(0.5, student=0.8, sitae=0.9))
    assert gate["reasons"] == [] and gate["worst_class"]["name"] == "student"


def test_iou_of_boxes_worked_out_by_hand():
    assert iou(BOX, BOX) == 1.0
    assert iou(BOX, [60.0, 10.0, 160.0, 110.0]) == pytest.approx(5000 / 15000)
    assert iou(BOX, [200.0, 200.0, 210.0, 210.0]) == 0.0


def _shift(box: list[float], dx: float) -> list[float]:
    return [box[0] + dx, box[1], box[2] + dx, box[3]]


def test_identical_boxes_agree():
    frames = {0: [(0, 0.9, BOX), (1, 0.5, _shift(BOX, 200))], 1: []}
    result = box_agreement(frames, frames)
    assert result == {
        "frames": 2, "boxes": 2, "agreeing": 2, "share": 1.0, "differing_frames": [], "reasons": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("export_box", "why"),
    [
        ((1, 0.9, BOX), "another class"),
        ((0, 0.9, _shift(BOX, 3)), "IoU 0.942 < 0.95"),  # 97 x 100 overlap of 103 x 100 union
        ((0, 0.885, BOX), "confidence 0.015 lower"),
    ],
)
def test_a_box_of_another_class_place_or_confidence_disagrees(export_box, why):
    result = box_agreement({5: [(0, 0.9, BOX)]}, {5: [export_box]})
    assert result["agreeing"] == 0 and result["boxes"] >= 1 and result["differing_frames"] == [5], why
    assert result["share"] == 0.0 and "frame(s): 5" in result["reasons"][0]


def test_small_shift_and_confidence_within_tolerance_agree():
    export = {5: [(0, 0.905, _shift(BOX, 2))]}  # IoU 98/102 = 0.961, |delta conf| 0.005
    assert box_agreement({5: [(0, 0.9, BOX)]}, export)["agreeing"] == 1


def test_a_box_only_the_export_sees_counts_against_it():
    result = box_agreement({3: []}, {3: [(0, 0.6, BOX)]})
    assert (result["boxes"], result["agreeing"], result["differing_frames"]) == (1, 0, [3])


def test_boxes_near_the_threshold_meet_their_partner():
    """A .pt box at 0.255 and the export's at 0.248: the same box, just under 0.25 in one model."""
    result = box_agreement({0: [(0, 0.255, BOX)]}, {0: [(0, 0.248, BOX)]})
    assert (result["boxes"], result["agreeing"]) == (1, 1)
    # the export's box under 0.26 that no .pt box took is not counted as its own either
    assert box_agreement({0: [(0, 0.245, BOX)]}, {0: [(0, 0.255, BOX)]})["boxes"] == 0


def test_share_threshold_is_99_percent_and_at_most_ten_frames_are_listed():
    pt = {frame: [(0, 0.9, BOX)] for frame in range(200)}
    export = {frame: [(0, 0.9, BOX)] for frame in range(200)}
    export[7] = []
    assert box_agreement(pt, export)["reasons"] == []  # 199 / 200 = 99.5%
    for frame in range(20, 40):
        export[frame] = []
    result = box_agreement(pt, export)
    assert result["share"] == pytest.approx(179 / 200) and len(result["reasons"]) == 1
    assert result["differing_frames"] == [7, *range(20, 29)]


def test_no_box_in_either_model_is_agreement():
    assert box_agreement({0: [], 1: []}, {0: [], 1: []})["share"] == 1.0
