"""valstats: the final validation's per-image detail, recorded from ultralytics' validator, saved and loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ultralytics.utils.metrics import ap_per_class

from yolo_workbook.config import params
from yolo_workbook.training import train, valstats


class _Validator:
    """What the recorder uses of ultralytics' DetectionValidator: names, and ``_process_batch`` per image."""

    def __init__(self) -> None:
        self.names = {0: "student", 1: "desk", 2: "sitae"}
        self.calls = 0

    def _process_batch(self, preds, batch):
        self.calls += 1
        return {"tp": np.ones((preds["cls"].shape[0], 10), dtype=bool)}


def _image(name: str, boxes: int, labels: int) -> tuple[dict, dict]:
    preds = {
        "bboxes": torch.tensor([[32.0, 16.0, 64.0, 48.0]] * boxes).reshape(-1, 4),
        "conf": torch.linspace(0.9, 0.5, boxes),
        "cls": torch.full((boxes,), 2.0),
    }
    batch = {  # letterboxed 64x64 of a 128x64 image: ratio 0.5, padded 16 px top and bottom
        "cls": torch.zeros(labels),
        "bboxes": torch.tensor([[0.0, 16.0, 32.0, 48.0]] * labels).reshape(-1, 4),
        "ori_shape": (64, 128),
        "imgsz": torch.Size([64, 64]),
        "ratio_pad": ((0.5, 0.5), (0.0, 16.0)),
        "im_file": f"/val/{name}",
    }
    return preds, batch


def test_the_recorder_keeps_each_image_in_original_pixels_and_only_the_last_validation():
    recorder, validator = valstats.ValStatsRecorder(), _Validator()
    recorder.on_val_start(validator)
    validator._process_batch(*_image("old.jpg", 1, 1))
    recorder.on_val_start(validator)  # the next validation (final_eval) starts over, wrapping once
    for name, boxes, labels in (("a.jpg", 2, 1), ("b.jpg", 0, 0), ("c.jpg", 1, 2)):
        assert validator._process_batch(*_image(name, boxes, labels))["tp"].shape == (boxes, 10)
    stats = recorder.stats()
    assert validator.calls == 4 and list(stats.images) == ["/val/a.jpg", "/val/b.jpg", "/val/c.jpg"]
    assert list(stats.names) == ["student", "desk", "sitae"]
    assert stats.pred_img.tolist() == [0, 0, 2] and stats.pred_cls.tolist() == [2, 2, 2]
    assert stats.pred_tp.shape == (3, 10) and stats.pred_conf.dtype == np.float32
    assert stats.gt_img.tolist() == [0, 2, 2] and stats.gt_cls.tolist() == [0, 0, 0]
    assert np.allclose(stats.pred_box[0], [64.0, 0.0, 128.0, 64.0])  # scaled back as ultralytics' save_json does
    assert np.allclose(stats.gt_box[0], [0.0, 0.0, 64.0, 64.0])


def test_saved_stats_load_back_and_a_round_without_them_gives_none(tmp_path):
    recorder, validator = valstats.ValStatsRecorder(), _Validator()
    assert recorder.save(tmp_path) is None and valstats.load_val_stats(tmp_path) is None  # nothing validated yet
    recorder.on_val_start(validator)
    validator._process_batch(*_image("a.jpg", 2, 1))
    path = recorder.save(tmp_path)
    assert path == tmp_path / "val_stats.npz"
    loaded = valstats.load_val_stats(tmp_path)
    for name in valstats.ValStats.__dataclass_fields__:
        assert np.array_equal(getattr(loaded, name), getattr(recorder.stats(), name)), name
    path.write_bytes(b"cut short")
    assert valstats.load_val_stats(tmp_path) is None


@pytest.mark.slow
def test_a_trained_round_keeps_val_stats_that_give_back_its_metrics(ci_data, outputs, tmp_path):
    result = train.train_round(params.load_round("r01_base", profile="ci", use_local=False))
    stats = valstats.load_val_stats(result.round_dir)
    assert stats is not None and len(stats.images) == len(list(Path(ci_data["first"]).parent.glob("valid/images/*")))
    ap = ap_per_class(stats.pred_tp, stats.pred_conf, stats.pred_cls, stats.gt_cls)[5]
    assert float(ap[:, 0].mean()) == pytest.approx(result.record["overall"]["mAP50"], abs=1e-6)
    instances = np.bincount(stats.gt_cls, minlength=len(stats.names))
    assert {n: c["instances"] for n, c in result.record["per_class"].items()} == dict(
        zip(stats.names.tolist(), instances.tolist(), strict=True)
    )
    assert len(stats.pred_img) > 0 and stats.pred_tp.shape == (len(stats.pred_img), 10)
    # A round that only finishes (validate_trained) records the same validation of the same weights.
    recorder = valstats.ValStatsRecorder()
    det = train.validate_trained(result.best_weights, dict(result.record["train_args"], data=str(ci_data["first"])),
                                 tmp_path, recorder).validator.metrics  # fmt: skip
    again = recorder.stats()
    assert again is not None and list(again.images) == list(stats.images)
    assert float(det.box.map50) == pytest.approx(float(ap[:, 0].mean()), abs=1e-6)
    assert again.gt_cls.tolist() == stats.gt_cls.tolist() and len(again.pred_cls) == len(stats.pred_cls)
