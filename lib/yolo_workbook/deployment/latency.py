"""How fast a round's weights predict on this machine: PyTorch, ONNX Runtime and OpenVINO side by side.

Each backend runs in this process, one after another, on the same frames: 10 warm-up frames, then
``frames`` timed ones (batch 1), each timed around ``predict`` alone (decoding the video is not
counted). The figures hold for this CPU and thread count only: ``threads`` says which.

Examples:
    >>> from pathlib import Path
    >>> from yolo_workbook.deployment.latency import format_latency, measure_latency
    >>> latency = measure_latency(  # doctest: +SKIP
    ...     {"pytorch": Path("best.pt"), "openvino": Path("best_openvino_model")}, "video.mp4", imgsz=640
    ... )
    >>> print(format_latency(latency))  # doctest: +SKIP
    latency: 200 frames at imgsz 640, batch 1, 4 thread(s)
      backend   p50 ms p95 ms  fps vs pytorch
      pytorch    141.2  150.3  7.0      1.00x
      openvino    61.0   64.8 16.3      2.33x
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yolo_workbook.core.errors import PredictError, WeightsError
from yolo_workbook.core.text import table

BACKENDS = ("pytorch", "onnxruntime", "openvino")
WARMUP = 10
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _video_frames(source: Path) -> Iterator[Any]:
    """The video's frames, from the start again at its end (a short video serves any count)."""
    import cv2

    while True:
        capture = cv2.VideoCapture(str(source))
        read = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                read += 1
                yield frame
        finally:
            capture.release()
        if not read:
            raise PredictError(
                f"{source}: no frame could be read from this video",
                fix="give a video that OpenCV reads (mp4, avi, mkv), or a folder of images",
            )


def _image_frames(folder: Path) -> Iterator[Any]:
    """A folder's images in name order, again and again."""
    import cv2

    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise PredictError(
            f"{folder}: no image ({', '.join(IMAGE_SUFFIXES)}) in this folder", fix="give a video or a folder of images"
        )
    while True:
        for image in images:
            yield cv2.imread(str(image))


def frames_of(source: str | Path) -> Iterator[Any]:
    """Endless BGR frames of a video file or an image folder (looping when it is shorter than asked).

    Args:
        source (str | Path): A video file or a folder of images.

    Returns:
        (Iterator[numpy.ndarray]): Frames as OpenCV reads them.
    """
    path = Path(source)
    if path.is_dir():
        return _image_frames(path)
    if not path.is_file():
        raise PredictError(f"{path}: no such video or image folder", fix="give the path of a video that exists")
    return _video_frames(path)


def _time_backend(
    weights: Path, source: str | Path, *, imgsz: int, frames: int, predict_args: dict[str, Any]
) -> dict[str, float]:
    import numpy as np
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    stream = frames_of(source)
    for _ in range(WARMUP):
        model.predict(next(stream), imgsz=imgsz, verbose=False, **predict_args)
    times = []
    for _ in range(frames):
        frame = next(stream)
        started = time.perf_counter()
        model.predict(frame, imgsz=imgsz, verbose=False, **predict_args)
        times.append(time.perf_counter() - started)
    p50, p95 = np.percentile(np.array(times) * 1000.0, [50, 95])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "fps": round(frames / sum(times), 2)}


def measure_latency(
    weights: dict[str, Path],
    source: str,
    *,
    imgsz: int,
    frames: int = 200,
    predict_args: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Time prediction per backend: p50 / p95 milliseconds per frame and frames per second.

    Args:
        weights (dict[str, Path]): Backend name (one of ``BACKENDS``) -> its weights: the ``.pt`` file for
            ``pytorch``, the ``.onnx`` file for ``onnxruntime``, the ``*_openvino_model/`` folder for ``openvino``.
        source (str): A video (or a folder of images) to take the frames from.
        imgsz (int): Inference size; an export's own size (a non-dynamic export is fixed to it).
        frames (int): Timed frames per backend, after 10 warm-up frames.
        predict_args (dict[str, Any] | None): More ultralytics ``predict`` arguments for every backend; say
            ``{"rect": False}`` to time PyTorch on the same square input as a fixed-size export (by default
            PyTorch letterboxes a 16:9 frame to 640x384, an export always to 640x640).

    Returns:
        (dict[str, Any]): export.json's ``latency``: ``{"threads", "frames", "imgsz", "backends": {name:
            {"p50_ms", "p95_ms", "fps"}}}``, backends in ``BACKENDS`` order.
    """
    import torch

    unknown = sorted(set(weights) - set(BACKENDS))
    if unknown:
        raise WeightsError(f"unknown backend(s) {', '.join(unknown)}", fix=f"use one of {', '.join(BACKENDS)}")
    if frames < 1:
        raise PredictError(f"frames is {frames}: at least one frame must be timed", fix="give frames >= 1")
    for name, path in weights.items():
        if not Path(path).exists():
            raise WeightsError(
                f"{path}: the {name} weights do not exist",
                fix="export the round first: yolo-workbook export ROUND --format onnx openvino",
            )
    backends = {
        name: _time_backend(Path(weights[name]), source, imgsz=imgsz, frames=frames, predict_args=predict_args or {})
        for name in BACKENDS
        if name in weights
    }
    return {"threads": torch.get_num_threads(), "frames": frames, "imgsz": imgsz, "backends": backends}


def format_latency(latency: dict[str, Any]) -> str:
    """The latency as an aligned table, with each backend's speed against PyTorch's when PyTorch was timed.

    Args:
        latency (dict[str, Any]): What :func:`measure_latency` returns (export.json's ``latency``).

    Returns:
        (str): A header line (frames, size, threads) and one row per backend.
    """
    backends = latency.get("backends") or {}
    reference = (backends.get("pytorch") or {}).get("fps")
    rows = [["backend", "p50 ms", "p95 ms", "fps", "vs pytorch"]]
    for name, figures in backends.items():
        speedup = f"{figures['fps'] / reference:.2f}x" if reference else "–"
        rows.append([name, f"{figures['p50_ms']:.1f}", f"{figures['p95_ms']:.1f}", f"{figures['fps']:.1f}", speedup])
    head = (
        f"latency: {latency.get('frames')} frames at imgsz {latency.get('imgsz')}, batch 1,"
        f" {latency.get('threads')} thread(s)"
    )
    return head + "\n" + table(rows, align="<>>>>", indent="  ")
