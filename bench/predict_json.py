"""Benchmark: predict-to-JSON throughput and memory, against a bare loop and the diary's script.

In one run, each measurement in its own process (peak RSS is per process):

1. throughput of ``yolo_workbook.prediction.predict`` against a bare ultralytics ``predict(stream=True)``
   loop over the same video (goal: ratio >= 0.97);
2. peak memory on a 3,000-frame video against a 300-frame one (goal: <= 1.15x);
3. the diary's script (``predict()`` without ``stream``, results kept in a list, then one
   ``json.dump``) as the baseline, whose growth is printed beside ours.

    python bench/predict_json.py [--weights path/to/best.pt] [--imgsz 160]

Weights: the demo's last round when `make demo` has run, else an untrained YOLOv8n (same cost).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from yolo_workbook.core import paths

WORKER = r"""
import json, os, resource, sys, time
mode, weights, video, out, imgsz = sys.argv[1:6]
from ultralytics import YOLO
model = YOLO(weights)
started = time.perf_counter()
frames = 0
if mode == "bare":
    for result in model.predict(source=video, stream=True, verbose=False, imgsz=int(imgsz), conf=0.25):
        frames += 1
elif mode == "diary":  # the user's script: every Results kept in RAM, one json.dump at the end
    results = model.predict(source=video, verbose=False, imgsz=int(imgsz), conf=0.25)
    json_data = []
    for i, result in enumerate(results):
        frame = {"frame_id": i, "detections": []}
        for box in result.boxes:
            frame["detections"].append({"class": result.names[int(box.cls)], "confidence": float(box.conf),
                                        "bbox": [float(c) for c in box.xyxy[0]]})
        json_data.append(frame)
    with open(out, "w") as f:
        json.dump(json_data, f, indent=4)
    frames = len(json_data)
else:
    os.environ["YOLO_WORKBOOK_OUTPUTS"] = out
    from yolo_workbook.config.params import load_round
    from yolo_workbook.prediction.predict import predict_to_json
    rnd = load_round("p01_video", profile="demo", use_local=False, check=False,
                     injected={"predict": {"source": video, "imgsz": int(imgsz), "conf": 0.25, "save": False},
                               "model": {"from": weights}})
    frames = predict_to_json(rnd).summary["frames"]
seconds = time.perf_counter() - started
print(json.dumps({"frames": frames, "seconds": seconds,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_video(path: Path, frames: int, side: int) -> Path:
    import cv2

    from yolo_workbook.data.demo import write_demo_data

    data = write_demo_data(Path(tempfile.mkdtemp()) / "data", size="ci")
    images = sorted((data["first"].parent / "test" / "images").glob("*.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (side, side))
    for i in range(frames):
        writer.write(cv2.resize(cv2.imread(str(images[i % len(images)])), (side, side)))
    writer.release()
    return path


def measure(mode: str, weights: str, video: Path, out: Path, imgsz: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, mode, weights, str(video), str(out), str(imgsz)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{mode} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a .pt file (default: the demo's r07 best.pt, else untrained)")
    parser.add_argument("--imgsz", type=int, default=160)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        weights = args.weights
        demo = paths.outputs_root() / "demo" / "r07_lr_freeze6" / "train" / "weights" / "best.pt"
        if not weights and demo.is_file():
            weights = str(demo)
        if not weights:
            from ultralytics import YOLO

            weights = str(tmp / "untrained.pt")
            YOLO("yolov8n.yaml").save(weights)
        print(f"weights: {weights}")
        short, long = make_video(tmp / "300.mp4", 300, 160), make_video(tmp / "3000.mp4", 3000, 160)
        results: dict[tuple[str, int], dict[str, float]] = {}
        for mode in ("bare", "workbook", "diary"):
            for frames, video in ((300, short), (3000, long)):
                out = tmp / f"{mode}-{frames}"
                results[mode, frames] = measure(
                    mode, weights, video, out if mode == "workbook" else tmp / f"{mode}.json", args.imgsz
                )
                r = results[mode, frames]
                print(
                    f"{mode:<9} {frames:>5} frames: {r['frames'] / r['seconds']:7.1f} frames/s,"
                    f" peak {r['peak_mib']:7.1f} MiB"
                )
    bare, ours = results["bare", 3000], results["workbook", 3000]
    ratio = (ours["frames"] / ours["seconds"]) / (bare["frames"] / bare["seconds"])
    print(f"\nthroughput workbook / bare loop (3000 frames): {ratio:.3f}  (goal >= 0.97)")
    for mode in ("workbook", "diary"):
        growth = results[mode, 3000]["peak_mib"] / results[mode, 300]["peak_mib"]
        goal = "  (goal <= 1.15)" if mode == "workbook" else "  (the diary's list-accumulating script)"
        print(f"peak memory 3000 / 300 frames, {mode:<8}: {growth:.2f}x{goal}")


if __name__ == "__main__":
    main()
