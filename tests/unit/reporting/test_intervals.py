"""intervals: the bootstrap AP equals ultralytics' ap_per_class, the calls, unpaired rounds, changed images; and
the verdict's intervals (compare)."""

from __future__ import annotations

import json
import time

import jsonschema
import numpy as np
import pytest
from ultralytics.utils.metrics import ap_per_class

from yolo_workbook.reporting import compare, intervals
from yolo_workbook.training import metrics
from yolo_workbook.training.valstats import ValStats, save_val_stats

NAMES = ["student", "desk", "sitae"]


def _stats(seed: int, *, images: int = 50, quality: float = 0.6, names=NAMES, prefix: str = "v", gt_classes=3):
    """A synthetic validation: random labels, predictions whose TP flags grow likelier with ``quality`` and conf."""
    rng = np.random.default_rng(seed)
    gt_img = np.repeat(np.arange(images), rng.integers(0, 6, images))
    gt_cls = rng.integers(0, gt_classes, len(gt_img))
    pred_img = np.repeat(np.arange(images), rng.integers(0, 12, images))
    pred_cls = rng.integers(0, len(names), len(pred_img))
    conf = rng.random(len(pred_img)).astype(np.float32)
    first = rng.random(len(pred_img)) < quality * conf
    tp = np.cumprod(np.stack([first & (rng.random(len(first)) < 1 - k / 12) for k in range(10)], 1), 1).astype(bool)
    return ValStats(
        images=np.array([f"/val/{prefix}{i:03d}.jpg" for i in range(images)]),
        names=np.array(names),
        pred_img=pred_img,
        pred_cls=pred_cls,
        pred_conf=conf,
        pred_box=np.zeros((len(pred_img), 4), np.float32),
        pred_tp=tp,
        gt_img=gt_img,
        gt_cls=gt_cls,
        gt_box=np.zeros((len(gt_img), 4), np.float32),
    )


def _ultralytics_ap(stats: ValStats, images: np.ndarray) -> dict[int, np.ndarray]:
    """ap_per_class on the predictions and labels of ``images`` (an image listed twice counts twice)."""
    preds = np.concatenate([np.flatnonzero(stats.pred_img == i) for i in images]).astype(int)
    labels = np.concatenate([np.flatnonzero(stats.gt_img == i) for i in images]).astype(int)
    result = ap_per_class(stats.pred_tp[preds], stats.pred_conf[preds], stats.pred_cls[preds], stats.gt_cls[labels])
    return {int(c): result[5][i] for i, c in enumerate(result[6])}


def test_ap_of_all_images_once_equals_ultralytics_ap_per_class():
    stats = _stats(1, names=[*NAMES, "ghost"])  # ghost: predicted, never labelled
    mine = intervals.resampled_ap(stats, np.ones((1, len(stats.images)), int))[0]
    expected = _ultralytics_ap(stats, np.arange(len(stats.images)))
    assert set(expected) == {0, 1, 2} and np.isnan(mine[3]).all()
    for cid, ap in expected.items():
        assert np.abs(mine[cid] - ap).max() < 1e-9
    assert intervals.point_ap(stats).keys() == expected.keys()


def test_ap_of_a_resample_equals_ap_per_class_on_the_drawn_images_duplicated():
    stats = _stats(2)
    rng = np.random.default_rng(7)
    draws = rng.integers(0, len(stats.images), size=(4, len(stats.images)))
    weights = np.stack([np.bincount(d, minlength=len(stats.images)) for d in draws])
    mine = intervals.resampled_ap(stats, weights)
    for row, drawn in enumerate(draws):
        for cid, ap in _ultralytics_ap(stats, np.sort(drawn)).items():
            assert np.abs(mine[row, cid] - ap).max() < 1e-9, (row, cid)


def test_identical_rounds_give_an_interval_of_zero_within_noise():
    stats = _stats(3)
    found = intervals.compare_stats(stats, stats, against="r03_merge")
    assert found.paired and set(found.intervals) == {"mAP50", "mAP50-95", *(f"{n} AP50" for n in NAMES)}
    for interval in found.intervals.values():
        assert (interval.delta, interval.low, interval.high, interval.call) == (0.0, 0.0, 0.0, "within noise")


def test_a_clearly_better_round_is_better_and_the_point_estimate_is_ultralytics():
    weak, strong = _stats(4, quality=0.15), _stats(4, quality=1.0)  # same labels and predictions, more TPs
    found = intervals.compare_stats(strong, weak, against="r01_base")
    expected = {
        key: np.mean([ap[0] for ap in _ultralytics_ap(s, np.arange(50)).values()])
        for key, s in (("s", strong), ("w", weak))
    }
    assert found.intervals["mAP50"].delta == pytest.approx(expected["s"] - expected["w"], abs=1e-12)
    for name in ("mAP50", "mAP50-95", "sitae AP50"):
        interval = found.intervals[name]
        assert 0 < interval.low <= interval.delta <= interval.high and interval.call == "better"
    assert intervals.compare_stats(weak, strong, against="r02").intervals["mAP50"].call == "worse"
    assert found.intervals["sitae AP50"].text().endswith("better") and "[+" in found.intervals["sitae AP50"].text()


def test_the_same_inputs_give_the_same_interval_and_one_comparison_is_fast():
    strong, weak = _stats(5, quality=0.8), _stats(6, quality=0.5)
    started = time.perf_counter()
    first = intervals.compare_stats(strong, weak, against="r01")
    took = time.perf_counter() - started
    again = intervals.compare_stats(strong, weak, against="r01")  # the seed is fixed
    assert first.intervals == again.intervals
    assert took < 3.0  # well under a second on a quiet machine (see the report); shared CI cores are noisy


def test_rounds_on_different_images_are_compared_unpaired():
    a, b = _stats(7, prefix="a"), _stats(7, prefix="b")  # same content, other image names
    found = intervals.compare_stats(a, b, against="r02")
    assert not found.paired and found.as_record()["paired"] is False
    assert found.intervals["mAP50"].delta == 0.0 and found.intervals["mAP50"].low < 0 < found.intervals["mAP50"].high


def test_a_class_absent_from_val_gets_no_interval():
    a, b = _stats(8, names=[*NAMES, "ghost"]), _stats(9, names=[*NAMES, "ghost"])
    ghost = intervals.compare_stats(a, b, against="r03").intervals["ghost AP50"]
    assert (ghost.delta, ghost.low, ghost.high) == (None, None, None)
    assert ghost.text() == "(absent from val: no interval)"


@pytest.mark.parametrize(
    ("low", "high", "call"), [(0.01, 0.2, "better"), (-0.2, -0.01, "worse"), (-0.1, 0.1, "within noise")]
)
def test_call_of_an_interval(low, high, call):
    assert intervals.call_of(low, high) == call


@pytest.mark.parametrize(
    ("delta", "low", "high", "band", "call"),
    [
        (0.008, 0.001, 0.014, 0.043, "within noise"),  # above 0 on the val images, inside the training noise
        (0.084, 0.06, 0.10, 0.019, "better"),  # beyond both
        (-0.084, -0.10, -0.06, 0.019, "worse"),  # beyond both
        (-0.013, -0.03, -0.001, 0.104, "within noise"),  # below 0 on the val images, inside the training noise
        (0.2, -0.05, 0.4, 0.141, "within noise"),  # beyond the training noise, the interval spans 0
        (0.019, 0.01, 0.03, 0.019, "within noise"),  # on the band's edge: inside
    ],
)
def test_with_training_noise_the_call_is_better_or_worse_only_beyond_both(delta, low, high, band, call):
    assert intervals.call_of(low, high, delta=delta, band=band) == call


def _boxes_stats(found_in: list[int], conf: float = 0.9, prefix: str = "v") -> ValStats:
    """Three images with one sitae box each; a prediction of it (at ``conf``) on the images ``found_in``."""
    box = [10.0, 10.0, 50.0, 50.0]
    return ValStats(
        images=np.array([f"/val/{prefix}{i}.jpg" for i in range(3)]),
        names=np.array(NAMES),
        pred_img=np.array(found_in, dtype=int),
        pred_cls=np.full(len(found_in), 2),
        pred_conf=np.full(len(found_in), conf, np.float32),
        pred_box=np.array([[12.0, 11.0, 52.0, 50.0]] * len(found_in)).reshape(-1, 4),
        pred_tp=np.ones((len(found_in), 10), bool),
        gt_img=np.arange(3),
        gt_cls=np.full(3, 2),
        gt_box=np.array([box] * 3),
    )


def test_changed_images_lists_the_images_found_now_and_missed_now():
    before, after = _boxes_stats([0, 1]), _boxes_stats([1, 2])
    moved = intervals.changed_images(before, after, "sitae")
    assert (moved.now_found, moved.now_missed, moved.paired) == (["/val/v2.jpg"], ["/val/v0.jpg"], True)
    unsure = _boxes_stats([0, 1, 2], conf=0.2)  # under 0.25: not found
    assert intervals.changed_images(before, unsure, "sitae").now_missed == ["/val/v0.jpg", "/val/v1.jpg"]
    assert intervals.changed_images(before, after, "desk").now_found == []


def _record(rid: str, base: str, ap50: float, profile: str = "ci") -> dict:
    per_class = {n: {"in_val": True, "AP50": ap50, "AP50-95": ap50 / 2, "train_share": 0.3} for n in NAMES}
    overall = {"mAP50": ap50, "mAP50-95": ap50 / 2, "precision": 0.5, "recall": 0.5}
    return {
        "round_id": rid,
        "base": base,
        "profile": profile,
        "status": "ok",
        "overall": overall,
        "per_class": per_class,
    }


def test_verdict_carries_intervals_when_both_rounds_kept_val_stats(outputs):
    weak, strong = _stats(4, quality=0.15), _stats(4, quality=1.0)
    save_val_stats(weak, outputs / "ci" / "r03_merge" / "val_stats.npz")
    save_val_stats(strong, outputs / "ci" / "r04_lr_cos" / "val_stats.npz")
    base, record = _record("r03_merge", "", 0.3), _record("r04_lr_cos", "r03_merge", 0.6)
    record["per_class"]["sitae"]["AP50"] = 0.2  # the weakest class
    line = compare.verdict(record, base)
    found = intervals.compare_stats(strong, weak, against="r03_merge")
    sitae = found.intervals["sitae AP50"]
    assert line.startswith(f"mAP50-95 {found.intervals['mAP50-95'].text()} vs r03_merge; sitae AP50 {sitae.text()}")
    assert "better" in line and "no interval" not in line


def test_verdict_says_why_there_is_no_interval(outputs):
    save_val_stats(_stats(4), outputs / "ci" / "r04_lr_cos" / "val_stats.npz")
    line = compare.verdict(_record("r04_lr_cos", "r03_merge", 0.6), _record("r03_merge", "", 0.3))
    assert "mAP50-95 +0.150 vs r03_merge" in line
    assert "(no interval: r03_merge was trained before val_stats were kept)" in line


def test_the_comparison_is_written_into_metrics_json_and_fits_the_schema(outputs):
    save_val_stats(_stats(4, quality=0.15), outputs / "ci" / "r03_merge" / "val_stats.npz")
    save_val_stats(_stats(4, quality=1.0), outputs / "ci" / "r04_lr_cos" / "val_stats.npz")
    base, record = _record("r03_merge", "", 0.3), _record("r04_lr_cos", "r03_merge", 0.6)
    for r in (base, record):
        (outputs / "ci" / r["round_id"] / "metrics.json").write_text(json.dumps(r), encoding="utf-8")
    field = compare.record_comparison(record, profile="ci")
    written = json.loads((outputs / "ci" / "r04_lr_cos" / "metrics.json").read_text(encoding="utf-8"))
    assert written["comparison"] == field and field["against"] == "r03_merge" and field["paired"] is True
    assert field["metrics"]["mAP50"]["call"] == "better"
    jsonschema.validate(field, metrics.schema()["properties"]["comparison"])
    assert compare.record_comparison(base, profile="ci") is None  # a root round: nothing written
    assert "comparison" not in json.loads((outputs / "ci" / "r03_merge" / "metrics.json").read_text(encoding="utf-8"))


def test_compare_lists_the_images_where_the_weakest_class_changed(outputs):
    save_val_stats(_boxes_stats([0, 1]), outputs / "ci" / "r03_merge" / "val_stats.npz")
    save_val_stats(_boxes_stats([1, 2]), outputs / "ci" / "r04_lr_cos" / "val_stats.npz")
    record = _record("r04_lr_cos", "r03_merge", 0.6)
    record["per_class"]["sitae"]["AP50"] = 0.2
    text = compare.format_comparison([_record("r03_merge", "", 0.3), record], changed=3)
    assert "r04_lr_cos: sitae found now in v2.jpg" in text and "r04_lr_cos: sitae missed now in v0.jpg" in text
    assert compare.changed_images(record, None, "sitae") is None


def test_a_finished_round_shown_in_its_notebook_records_its_comparison(outputs, capsys):
    from yolo_workbook.training.train import TrainResult
    from yolo_workbook.ui import notebook

    save_val_stats(_stats(4, quality=0.15), outputs / "ci" / "r03_merge" / "val_stats.npz")
    save_val_stats(_stats(4, quality=1.0), outputs / "ci" / "r04_lr_cos" / "val_stats.npz")
    base, record = _record("r03_merge", "", 0.3), _record("r04_lr_cos", "r03_merge", 0.6)
    for r in (base, record):
        r.update(best_epoch=1, epochs_run=1, train_seconds=1.0)
        for entry in r["per_class"].values():
            entry.update(precision=0.5, recall=0.5, instances=3)
        (outputs / "ci" / r["round_id"] / "metrics.json").write_text(json.dumps(r), encoding="utf-8")
    folder = outputs / "ci" / "r04_lr_cos"
    notebook.show_result(TrainResult(folder, folder / "best.pt", folder / "metrics.json", record), profile="ci")
    written = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert written["comparison"]["metrics"]["mAP50-95"]["call"] == "better"
    assert "] better vs r03_merge" in capsys.readouterr().out
