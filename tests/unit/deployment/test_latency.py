"""latency: p50 / p95 per frame and frames per second per backend, on frames of a video."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo_workbook.core.errors import PredictError, WeightsError
from yolo_workbook.deployment import latency
from yolo_workbook.deployment.latency import format_latency, measure_latency


def write_video(path: Path, frames: int, *, width: int = 64, height: int = 48) -> Path:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (width, height))
    for i in range(frames):
        writer.write(np.full((height, width, 3), (i * 17) % 256, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An untrained YOLOv8n as .pt and as ONNX at imgsz 64, and a 15-frame video."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ultralytics import YOLO
    from ultralytics.utils import checks

    folder = tmp_path_factory.mktemp("latency")
    pt = folder / "untrained.pt"
    YOLO("yolov8n.yaml").save(str(pt))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checks, "AUTOINSTALL", False)  # a missing package fails here instead of being pip-installed
        onnx = Path(YOLO(str(pt)).export(format="onnx", imgsz=64, verbose=False))
    return {"pytorch": pt, "onnxruntime": onnx, "video": write_video(folder / "tiny.mp4", 15)}


def test_real_backends_are_timed_over_the_frames_asked(tiny_export):
    weights = {"pytorch": tiny_export["pytorch"], "onnxruntime": tiny_export["onnxruntime"]}
    measured = measure_latency(weights, str(tiny_export["video"]), imgsz=64, frames=20)  # the video loops

    assert set(measured) == {"threads", "frames", "imgsz", "backends"}
    assert measured["frames"] == 20 and measured["imgsz"] == 64
    assert isinstance(measured["threads"], int) and measured["threads"] >= 1
    assert list(measured["backends"]) == ["pytorch", "onnxruntime"]
    for figures in measured["backends"].values():
        assert set(figures) == {"p50_ms", "p95_ms", "fps"}
        assert 0 < figures["p50_ms"] <= figures["p95_ms"]
        assert figures["fps"] > 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_figures_are_the_percentiles_of_the_timed_frames_only(monkeypatch, tmp_path):
    """Warm-up frames take 1 s each, timed frames 1..20 ms: only the latter count."""
    clock = FakeClock()
    durations = [1.0] * latency.WARMUP + [ms / 1000 for ms in range(1, 21)]
    seen, asked = [], []

    class FakeYOLO:
        def __init__(self, path: str, task: str = "") -> None:
            self.path = path

        def predict(self, frame, **options) -> list:
            seen.append(int(frame[0, 0, 0]))
            asked.append(options)
            clock.now += durations[len(seen) - 1]
            return []

    import ultralytics

    monkeypatch.setattr(ultralytics, "YOLO", FakeYOLO)
    monkeypatch.setattr(latency.time, "perf_counter", clock)
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"")
    video = write_video(tmp_path / "seven.mp4", 7)

    measured = measure_latency({"pytorch": weights}, str(video), imgsz=64, frames=20, predict_args={"rect": False})

    assert len(seen) == latency.WARMUP + 20
    assert all(options == {"imgsz": 64, "verbose": False, "rect": False} for options in asked)
    # seven distinct frames, read again from the start at the end: frame 8 is frame 1
    assert seen[7] == seen[0] and seen[8] == seen[1] and seen[0] != seen[1]
    # p50 of 1..20 ms: between 10 and 11; p95 (linear): 19 + 0.05 * (20 - 19); fps: 20 frames in 0.210 s
    assert measured["backends"]["pytorch"] == {"p50_ms": 10.5, "p95_ms": 19.05, "fps": 95.24}


def test_format_latency_lines_up_each_backend_against_pytorch():
    text = format_latency(
        {
            "threads": 4,
            "frames": 200,
            "imgsz": 640,
            "backends": {
                "pytorch": {"p50_ms": 100.0, "p95_ms": 120.0, "fps": 9.5},
                "openvino": {"p50_ms": 50.0, "p95_ms": 55.5, "fps": 19.0},
            },
        }
    )
    lines = text.splitlines()
    assert lines[0] == "latency: 200 frames at imgsz 640, batch 1, 4 thread(s)"
    assert lines[1].split() == ["backend", "p50", "ms", "p95", "ms", "fps", "vs", "pytorch"]
    assert lines[2].split() == ["pytorch", "100.0", "120.0", "9.5", "1.00x"]
    assert lines[3].split() == ["openvino", "50.0", "55.5", "19.0", "2.00x"]
    assert len({len(line) for line in lines[1:]}) == 1  # right-aligned numbers: every row as long


def test_unknown_backend_missing_weights_and_bad_source_are_named(tmp_path):
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"")
    with pytest.raises(WeightsError, match="tensorrt") as error:
        measure_latency({"tensorrt": weights}, "v.mp4", imgsz=64)
    assert "pytorch, onnxruntime, openvino" in error.value.fix
    with pytest.raises(WeightsError, match="best_openvino_model"):
        measure_latency({"openvino": tmp_path / "best_openvino_model"}, "v.mp4", imgsz=64)
    with pytest.raises(PredictError, match="no such video"):
        next(latency.frames_of(tmp_path / "missing.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(PredictError, match="no frame could be read"):
        next(latency.frames_of(broken))
    with pytest.raises(PredictError, match="no image"):
        next(latency.frames_of(tmp_path))
