"""compare: deltas against the base, the weakest class, and the one-line verdict."""

from __future__ import annotations

from yolo_workbook.reporting import compare, intervals
from yolo_workbook.ui import widgets


def _record(rid: str, base: str, ap50: dict[str, float | None], map5095: float, shares: dict[str, float]) -> dict:
    per_class = {
        name: {
            "in_val": value is not None,
            "AP50": value,
            "AP50-95": None if value is None else value / 2,
            "train_share": shares[name],
        }
        for name, value in ap50.items()
    }
    overall = {"mAP50": 0.8, "mAP50-95": map5095, "precision": 0.7, "recall": 0.7}
    return {"round_id": rid, "base": base, "status": "ok", "overall": overall, "per_class": per_class}


SHARES = {"student": 0.45, "desk": 0.45, "sitae": 0.10}


def test_class_deltas_skip_classes_absent_from_val():
    base = _record("r03_merge", "", {"student": 0.9, "desk": 0.9, "sitae": 0.5}, 0.60, SHARES)
    child = _record("r04_lr_cos", "r03_merge", {"student": 0.95, "desk": 0.92, "sitae": None}, 0.64, SHARES)
    assert compare.class_deltas(child, base) == {"student": 0.05, "desk": 0.02, "sitae": None}


def test_weakest_class_and_its_share():
    record = _record("r01_base", "", {"student": 0.9, "desk": 0.95, "sitae": 0.4}, 0.5, SHARES)
    assert compare.weakest_class(record) == {"name": "sitae", "AP50": 0.4, "train_share": 0.10}


def _all_zero(boxes: dict[str, int], oversampled: list[str] | None) -> dict:
    """A round after one epoch: every AP50 is 0; its data section as the record's inputs keep it."""
    total = sum(boxes.values())
    record = _record(
        "r08_rare_class", "r03_merge", dict.fromkeys(boxes, 0.0), 0.0, {n: b / total for n, b in boxes.items()}
    )
    for name, count in boxes.items():
        record["per_class"][name]["train_boxes"] = count
    data = {"use": ["classroom_v1", "classroom_v2"]}
    if oversampled:
        data["oversample"] = {"classes": oversampled, "target_share": 0.2}
    record["inputs"] = {"params": {"round_id": "r08_rare_class", "data": data}}
    return record


def test_when_every_class_ties_the_weakest_is_the_class_the_round_oversampled():
    # After oversampling, sitae holds 26% of the training boxes and desk fewer: the round is still about sitae.
    record = _all_zero({"student": 50, "desk": 20, "sitae": 25}, ["sitae"])
    assert compare.weakest_class(record)["name"] == "sitae"
    assert compare.verdict(record, None).endswith("| weakest: sitae (AP50 0.000, 26% of training boxes)")


def test_when_every_class_ties_without_oversampling_the_weakest_has_the_fewest_training_boxes():
    record = _all_zero({"student": 29, "desk": 41, "sitae": 7}, None)  # r01 on the ci data after one epoch
    assert compare.weakest_class(record)["name"] == "sitae"
    record = _all_zero({"student": 29, "desk": 41, "sitae": 29}, None)  # two with the fewest: the first of them
    assert compare.weakest_class(record)["name"] == "student"


def test_verdict_names_the_change_and_the_rare_class():
    base = _record("r03_merge", "", {"student": 0.9, "desk": 0.9, "sitae": 0.5}, 0.60, SHARES)
    child = _record("r04_lr_cos", "r03_merge", {"student": 0.97, "desk": 0.91, "sitae": 0.4}, 0.64, SHARES)
    line = compare.verdict(child, base)
    assert line.startswith("mAP50-95 +0.040 vs r03_merge; sitae AP50 -0.100; student AP50 +0.070")
    assert "weakest: sitae (AP50 0.400, 10% of training boxes)" in line


def test_with_training_noise_each_delta_gets_one_word_from_its_interval_and_the_noise(monkeypatch):
    # r03_merge trained with 3 seeds: bands 2 * sqrt(2) * std = 0.043 (mAP50-95), 0.085 (sitae), 0.141 (student)
    base = _record("r03_merge", "", {"student": 0.7, "desk": 0.9, "sitae": 0.5}, 0.600, SHARES)
    spread = {"mAP50-95": 0.0152, "sitae AP50": 0.03, "student AP50": 0.05}
    base["repeats"] = {
        "spread": {m: {"n": 3, "mean": 0.5, "std": s, "min": 0.4, "max": 0.6} for m, s in spread.items()}
    }
    child = _record("r04_lr_cos", "r03_merge", {"student": 0.9, "desk": 0.9, "sitae": 0.55}, 0.608, SHARES)
    found = intervals.Comparison(
        "r03_merge",
        True,
        {
            "mAP50-95": intervals.Interval("mAP50-95", 0.008, 0.001, 0.014, "better"),  # inside the noise
            "sitae AP50": intervals.Interval("sitae AP50", 0.05, 0.01, 0.09, "better"),  # inside the noise
            "student AP50": intervals.Interval("student AP50", 0.2, 0.1, 0.3, "better"),  # beyond both
        },
    )
    monkeypatch.setattr(compare, "comparison", lambda record, base: found)
    assert compare.verdict(child, base) == (
        "mAP50-95 +0.008 [+0.00, +0.01] within noise (training noise ±0.043, 3 seeds of r03_merge) vs r03_merge;"
        " sitae AP50 +0.050 [+0.01, +0.09] within noise (training noise ±0.085, 3 seeds of r03_merge);"
        " student AP50 +0.200 [+0.10, +0.30] better (training noise ±0.141, 3 seeds of r03_merge)"
        " | weakest: sitae (AP50 0.550, 10% of training boxes)"
    )


def test_verdict_of_a_root_and_of_a_failed_round():
    root = _record("r01_base", "", {"student": 0.9, "desk": 0.95, "sitae": 0.4}, 0.5, SHARES)
    assert "no base to compare with" in compare.verdict(root, None)
    failed = {"round_id": "r02_x", "status": "failed", "error": "CUDA out of memory", "overall": None}
    assert compare.verdict(failed, root) == "failed: CUDA out of memory"


def test_headless_outside_a_kernel():
    assert widgets.running_headless()
