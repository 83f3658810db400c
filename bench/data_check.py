"""Benchmark: `yolo-workbook data check` against ultralytics' own first label scan, same data.

Writes a 10,000-image synthetic export (demo generator), then times, each in a fresh process:
ultralytics building its training dataset with no label cache (its first scan: every image
verified, every label parsed) and our full check (every image read, hashed and verified, every
label line checked, split leaks). Goal: ratio ours / ultralytics <= 1.0.

    python bench/data_check.py [--images 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ULTRALYTICS_SCAN = r"""
import sys, time, yaml
from pathlib import Path
from ultralytics.data.dataset import YOLODataset
data_yaml = Path(sys.argv[1])
data = yaml.safe_load(data_yaml.read_text())
names = dict(enumerate(data["names"]))
started = time.perf_counter()
for split in ("train", "valid", "test"):
    folder = data_yaml.parent / split / "images"
    YOLODataset(img_path=str(folder), imgsz=160, augment=False, data={"names": names, "nc": len(names), "channels": 3},
                task="detect")
print(time.perf_counter() - started)
"""

OURS = r"""
import sys, time
from pathlib import Path
from yolo_workbook.data.check import check_dataset
started = time.perf_counter()
report = check_dataset(Path(sys.argv[1]))
print(time.perf_counter() - started, len(report.images), len(report.problems))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    from yolo_workbook.data.demo import DatasetSpec, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        valid, test = args.images // 5, args.images // 100
        splits = {"train": args.images - valid - test, "valid": valid, "test": test}
        spec = DatasetSpec("bench.v1i.yolov8", 1, splits, (150, 215), 10.0, (0.16, 0.3), 7)
        started = time.time()
        data_yaml = write_dataset(spec, Path(tmp))
        print(f"wrote {args.images} images in {time.time() - started:.0f} s")
        for cache in data_yaml.parent.rglob("*.cache"):
            cache.unlink()
        theirs = float(
            subprocess.run([sys.executable, "-c", ULTRALYTICS_SCAN, str(data_yaml)], capture_output=True, text=True,
                           check=True).stdout.split()[-1]
        )  # fmt: skip
        ours_out = subprocess.run(
            [sys.executable, "-c", OURS, str(data_yaml)], capture_output=True, text=True, check=True
        ).stdout.split()
        ours = float(ours_out[0])
    print(f"ultralytics first label scan:  {theirs:6.2f} s")
    print(f"yolo-workbook data check:      {ours:6.2f} s  ({ours_out[1]} images, {ours_out[2]} problems)")
    print(f"ratio ours / ultralytics:      {ours / theirs:6.3f}  (goal <= 1.0)")


if __name__ == "__main__":
    main()
