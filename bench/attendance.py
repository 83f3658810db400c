"""Benchmark: attendance on the demo classroom video: how right the counts are, and what tracking costs.

In one run, each prediction in its own process (peak RSS is per process):

1. accuracy: the best demo round's weights over the demo video (240 frames, with ground truth), tracked
   with ByteTrack and counted as the round's video score does: per class the share of frames whose stable
   count is exact (goal >= 95%), the stable count's mean absolute error against the raw one's (goal: at most
   half), and IDF1 (goal >= 0.85);
2. overhead: frames per second of a prediction with tracking against the same prediction without it, on a
   3,000-frame classroom video (goal: ratio >= 0.85);
3. memory: peak RSS with tracking on, 3,000 frames against 300 (goal: <= 1.15x).

    python bench/attendance.py [--weights path/to/best.pt] [--imgsz 320]

Weights: the demo round with the lowest video count error when `make demo` has run (else r08's), else
an untrained YOLOv8n (then the accuracy figures mean nothing, the costs still do).
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
tracker, weights, video, truth, out, imgsz = sys.argv[1:7]
os.environ["YOLO_WORKBOOK_OUTPUTS"] = out
from yolo_workbook.attendance.job import count_attendance
from yolo_workbook.config.params import load_round
from yolo_workbook.prediction.predict import predict_to_json
rnd = load_round("p01_video", profile="demo", use_local=False, check=False, injected={
    "predict": {"source": video, "imgsz": int(imgsz), "conf": 0.25, "save": False, "tracker": tracker},
    "model": {"from": weights},
    "attendance": {"truth": truth, "window_s": 2},
})
started = time.perf_counter()
result = predict_to_json(rnd)
seconds = time.perf_counter() - started
score = count_attendance(result.folder, rnd).summary["score"] if truth else None
print(json.dumps({"frames": result.summary["frames"], "seconds": seconds, "score": score,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def best_demo_weights() -> str:
    """The demo round with the lowest video count error (r08 when no round has a video score yet)."""
    from yolo_workbook.training.metrics import load_records

    scored = [r for r in load_records("demo") if ((r.get("video") or {}).get("score") or {}).get("overall")]
    best = min(scored, key=lambda r: r["video"]["score"]["overall"]["count_mae_stable"])["round_id"] if scored else ""
    weights = paths.round_dir(best or "r08_rare_class", "demo") / "train" / "weights" / "best.pt"
    return str(weights) if weights.is_file() else ""


def measure(tracker: str, weights: str, video: Path, truth: Path | None, out: Path, imgsz: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, tracker, weights, str(video), str(truth or ""), str(out), str(imgsz)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"{tracker} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a .pt file (default: the best demo round's, else untrained)")
    parser.add_argument("--imgsz", type=int, default=320)
    args = parser.parse_args()
    from yolo_workbook.data.classroom_video import write_classroom_video

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        weights = args.weights or best_demo_weights()
        if not weights:
            from ultralytics import YOLO

            weights = str(tmp / "untrained.pt")
            YOLO("yolov8n.yaml").save(weights)
        print(f"weights: {weights}")
        demo = write_classroom_video(tmp / "demo" / "classroom_video.mp4", size="demo")
        short = write_classroom_video(tmp / "300" / "classroom_video.mp4", size="demo", frames=300)
        long = write_classroom_video(tmp / "3000" / "classroom_video.mp4", size="demo", frames=3000)

        scored = measure("bytetrack", weights, demo.video, demo.truth, tmp / "accuracy", args.imgsz)["score"]
        print(f"\naccuracy on the demo video ({scored['frames_scored']} frames, ByteTrack, window 2 s):")
        for name, c in scored["classes"].items():
            idf1 = "-" if c["idf1"] is None else f"{c['idf1']:.3f}"
            print(
                f"  {name:<8} stable exact {c['exact_stable']:6.1%} (goal >= 95%)  MAE raw {c['count_mae_raw']:.3f}"
                f" stable {c['count_mae_stable']:.3f} (goal <= half)  IDF1 {idf1} (goal >= 0.85)"
            )
        overall = scored["overall"]
        print(
            f"  all      every class exact {overall['exact_stable']:.1%}  MAE raw {overall['count_mae_raw']:.3f}"
            f" stable {overall['count_mae_stable']:.3f}  IDF1 {overall['idf1']:.3f}"
        )

        runs = {}
        for tracker in ("none", "bytetrack"):
            for frames, video in ((300, short), (3000, long)):
                runs[tracker, frames] = r = measure(
                    tracker, weights, video.video, None, tmp / f"{tracker}-{frames}", args.imgsz
                )
                print(
                    f"{tracker:<9} {frames:>5} frames: {r['frames'] / r['seconds']:6.1f} frames/s,"
                    f" peak {r['peak_mib']:7.1f} MiB"
                )
    plain, tracked = runs["none", 3000], runs["bytetrack", 3000]
    ratio = (tracked["frames"] / tracked["seconds"]) / (plain["frames"] / plain["seconds"])
    print(f"\nthroughput tracking / plain predict (3000 frames): {ratio:.3f}  (goal >= 0.85)")
    growth = runs["bytetrack", 3000]["peak_mib"] / runs["bytetrack", 300]["peak_mib"]
    print(f"peak memory with tracking, 3000 / 300 frames: {growth:.2f}x  (goal <= 1.15)")


if __name__ == "__main__":
    main()
