"""predict: weights trained at one image size, predicted at another, are named with both sizes (issue 25)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from yolo_workbook.config import params
from yolo_workbook.prediction import predict


@pytest.fixture(scope="module")
def trained_at_160(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained YOLOv8n whose checkpoint records ``train_args.imgsz: 160``, as ultralytics' trainer writes it."""
    import torch
    from ultralytics import YOLO

    weights = tmp_path_factory.mktemp("weights") / "best.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    checkpoint["train_args"] = {"imgsz": 160, "epochs": 1}
    torch.save(checkpoint, weights)
    return weights


@pytest.fixture(scope="module")
def one_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 96x64 frame: a prediction of one frame costs well under a second."""
    import cv2
    import numpy as np

    image = tmp_path_factory.mktemp("source") / "frame.png"
    cv2.imwrite(str(image), np.full((64, 96, 3), 128, dtype=np.uint8))
    return image


def _predict(
    weights: Path, source: Path, *, video_score: bool = False, **predict_args: object
) -> predict.PredictResult:
    """A prediction with ``model.from: <weights>`` (as ``predict --weights`` makes it), or a video score's (weights
    given by the workbook, the profile's settings)."""
    injected = {} if video_score else {"model": {"from": str(weights)}}
    rnd = params.load_round("p01_video", profile="ci", use_local=False, injected=injected)  # predict.imgsz 64 (ci)
    rnd.predict.pop("tracker", None)
    rnd.predict.update(source=str(source), **predict_args)
    if rnd.predict.get("imgsz") is None:
        rnd.predict.pop("imgsz")
    return predict.predict_to_json(rnd, weights=weights if video_score else None)


def _size_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "imgsz" in r.getMessage()]


def test_predicting_at_another_size_than_training_is_a_warning_naming_both(trained_at_160, one_image, outputs, caplog):
    with caplog.at_level(logging.WARNING, logger="yolo_workbook"):
        result = _predict(trained_at_160, one_image)
    (warning,) = _size_warnings(caplog)
    assert "predict.imgsz is 64" in warning and "trained at imgsz 160" in warning, warning
    assert "--imgsz 160" in warning and str(trained_at_160) in warning, warning
    assert result.summary["train_imgsz"] == 160


@pytest.mark.parametrize("imgsz", [160, None])  # None: ultralytics predicts a .pt at its train_args imgsz
def test_predicting_at_the_training_size_says_nothing(imgsz, trained_at_160, one_image, outputs, caplog):
    with caplog.at_level(logging.WARNING, logger="yolo_workbook"):
        result = _predict(trained_at_160, one_image, imgsz=imgsz)
    assert _size_warnings(caplog) == []
    assert result.summary["train_imgsz"] == 160


def test_a_video_score_at_the_profiles_size_says_it_once_quietly(trained_at_160, one_image, outputs, caplog):
    """Every round's video score uses the profile's predict settings: the size is an info line, not a warning."""
    with caplog.at_level(logging.INFO, logger="yolo_workbook"):
        _predict(trained_at_160, one_image, video_score=True)
    assert _size_warnings(caplog) == []
    assert [r.levelno for r in caplog.records if "trained at imgsz 160" in r.getMessage()] == [logging.INFO]
