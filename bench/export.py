"""Benchmark: a round exported to ONNX and OpenVINO, side by side with PyTorch: the same accuracy, how much faster.

In one run, in this process (ultralytics' auto-install off, so nothing is pip-installed behind your back):

1. export: the weights (copied into a temporary folder, so the round's folder stays as it was) to ONNX and
   OpenVINO FP32 at imgsz 640;
2. parity: mAP50-95 and each class's AP50 of the ``.pt`` and of the OpenVINO export on the demo validation set,
   with the same settings (batch 1, rect False, conf 0.001, iou 0.7; goal: |delta mAP50-95| <= 0.005 and every
   class's |delta AP50| <= 0.01), at imgsz 640 and, when the round trained at another size (the demo's 160),
   for an export of that size too: at a size it never saw, a model's mAP is too low for its parity to prove much;
3. throughput: predict on the demo classroom video, batch 1, PyTorch then ONNX Runtime then OpenVINO, 10 warm-up
   frames and ``--frames`` timed ones each (goal: OpenVINO FP32 >= 1.5x PyTorch; ONNX Runtime as measured), and
   PyTorch once more on the exports' square input (PyTorch letterboxes the 5:3 video to 640x384 by default).

    python bench/export.py [--weights path/to/best.pt] [--imgsz 640] [--frames 300]

Weights: the demo's r08_rare_class best.pt when `make demo` has run, else an untrained YOLOv8n (then the
accuracy figures mean nothing, the speeds still do). The figures hold for this CPU and thread count only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from yolo_workbook.core import paths

MAP_TOLERANCE, CLASS_TOLERANCE, SPEEDUP_GOAL = 0.005, 0.01, 1.5


def validate(weights: Path, data: Path, imgsz: int, project: Path) -> dict[str, Any]:
    """mAP50-95 and per-class AP50 with the settings an exported (fixed-shape) model needs."""
    from ultralytics import YOLO

    result = YOLO(str(weights), task="detect").val(
        data=str(data), imgsz=imgsz, batch=1, rect=False, conf=0.001, iou=0.7, plots=False, verbose=False,
        project=str(project), name=weights.stem, device="cpu",
    )  # fmt: skip
    per_class = {
        result.names[int(c)]: float(ap) for c, ap in zip(result.box.ap_class_index, result.box.ap50, strict=True)
    }
    return {"mAP50-95": float(result.box.map), "per_class": per_class}


def parity(pt: Path, export: Path, data: Path, imgsz: int, project: Path) -> str:
    """Validate both, print their per-class AP50 side by side; return the gate's one-line verdict."""
    before, after = validate(pt, data, imgsz, project), validate(export, data, imgsz, project)
    delta = after["mAP50-95"] - before["mAP50-95"]
    print(f"\nparity at imgsz {imgsz} on {data.parent.name} val (batch 1, rect False, conf 0.001, iou 0.7):")
    print(f"  mAP50-95 pytorch {before['mAP50-95']:.4f}  openvino {after['mAP50-95']:.4f}  delta {delta:+.4f}")
    worst = ("", 0.0)
    for name, ap50 in before["per_class"].items():
        change = after["per_class"].get(name, 0.0) - ap50
        print(f"  AP50 {name:<8} pytorch {ap50:.4f}  openvino {after['per_class'].get(name, 0.0):.4f}  {change:+.4f}")
        worst = max(worst, (name, change), key=lambda pair: abs(pair[1]))
    passed = abs(delta) <= MAP_TOLERANCE and abs(worst[1]) <= CLASS_TOLERANCE
    return (
        f"gate at imgsz {imgsz} {'passed' if passed else 'FAILED'}: mAP50-95 {before['mAP50-95']:.4f} ->"
        f" {after['mAP50-95']:.4f}, |delta| {abs(delta):.4f} (goal <= {MAP_TOLERANCE}); worst class"
        f" {worst[0] or '-'} |delta AP50| {abs(worst[1]):.4f} (goal <= {CLASS_TOLERANCE})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a .pt file (default: the demo's r08_rare_class best.pt, else untrained)")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--frames", type=int, default=300, help="timed frames per backend, after 10 warm-up frames")
    args = parser.parse_args()
    os.environ["YOLO_AUTOINSTALL"] = "False"  # read when ultralytics is first imported, below
    os.environ.setdefault("YOLO_VERBOSE", "False")  # no progress bars between the figures
    import torch
    from ultralytics import YOLO

    from yolo_workbook.deployment.latency import format_latency, measure_latency

    demo = paths.outputs_root() / "datasets" / "demo"
    data, video = demo / "classroom.v1i.yolov8" / "data.yaml", demo / "classroom_video.mp4"
    for needed in (data, video):
        if not needed.is_file():
            raise SystemExit(f"{needed} is missing: run `yolo-workbook demo-data` (or `make demo`) first")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        trained = paths.round_dir("r08_rare_class", "demo") / "train" / "weights" / "best.pt"
        source = Path(args.weights) if args.weights else trained if trained.is_file() else None
        pt = tmp / "best.pt"
        if source is None:
            YOLO("yolov8n.yaml").save(str(pt))
            print("weights: an untrained YOLOv8n (no demo round r08_rare_class yet): accuracy figures mean nothing")
        else:
            shutil.copy2(source, pt)
            print(f"weights: {source}")
        onnx = Path(YOLO(str(pt)).export(format="onnx", imgsz=args.imgsz, verbose=False))
        openvino = Path(YOLO(str(pt)).export(format="openvino", imgsz=args.imgsz, verbose=False))
        print(f"exported at imgsz {args.imgsz}: {onnx.name}, {openvino.name}/ (FP32)")

        # A demo round trains at a small size: at 640 its mAP is near zero and a parity there proves little,
        # so the gate also runs at the size the round trained at (an export of that size, in its own folder).
        trained_at = int(YOLO(str(pt)).overrides.get("imgsz") or args.imgsz)
        gates = [parity(pt, openvino, data, args.imgsz, tmp / "val")]
        if trained_at != args.imgsz:
            (tmp / "own").mkdir()
            own = shutil.copy2(pt, tmp / "own" / "best.pt")
            own_openvino = Path(YOLO(str(own)).export(format="openvino", imgsz=trained_at, verbose=False))
            gates.append(parity(Path(own), own_openvino, data, trained_at, tmp / "val"))

        print(f"\nthroughput on {video.name} (torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs):")
        weights = {"pytorch": pt, "onnxruntime": onnx, "openvino": openvino}
        latency = measure_latency(weights, str(video), imgsz=args.imgsz, frames=args.frames)
        print(format_latency(latency))
        # PyTorch letterboxes the 5:3 video to 640x384; a fixed-size export always gets 640x640.
        square = measure_latency({"pytorch": pt}, str(video), imgsz=args.imgsz, frames=args.frames,
                                 predict_args={"rect": False})["backends"]["pytorch"]  # fmt: skip
        print(f"  pytorch on the exports' square input: p50 {square['p50_ms']:.1f} ms, {square['fps']:.1f} frames/s")
    for line in gates:
        print(line)
    fps = {name: figures["fps"] for name, figures in latency["backends"].items()}
    print(
        f"OpenVINO FP32 / PyTorch throughput: {fps['openvino'] / fps['pytorch']:.2f}x  (goal >= {SPEEDUP_GOAL}x);"
        f" against PyTorch on the same 640x640 input: {fps['openvino'] / square['fps']:.2f}x"
    )
    print(f"ONNX Runtime / PyTorch throughput: {fps['onnxruntime'] / fps['pytorch']:.2f}x  (as measured)")


if __name__ == "__main__":
    main()
