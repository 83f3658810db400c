"""cli: what ``yolo-workbook predict`` prints when nothing was detected: words, not a bare ``{}`` (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo_workbook import cli


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh YOLOv8n: at the round's conf 0.5 it detects nothing."""
    from ultralytics import YOLO

    weights = tmp_path_factory.mktemp("weights") / "untrained.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    return weights


def test_a_prediction_without_detections_says_so_in_words(untrained, outputs, capsys):
    code = cli.main(["predict", "--profile", "ci", "--weights", str(untrained), "--tracker", "none"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    lines = captured.out.splitlines()
    assert "{}" not in lines, captured.out
    (frames,) = [line for line in lines if line.startswith("40 frames at ")]  # the ci video: 40 frames
    assert frames.endswith(" frames/s, no detections"), frames
