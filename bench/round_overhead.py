"""Benchmark: one round through the workbook's runner vs the raw `yolo train` command.

Both run round 1 of the `bench` profile (demo data, 3 epochs, YOLOv8n from yaml) with identical
training arguments, alternately, `--repeat` times each. The runner's extra work is papermill, a
kernel start, the round checks and metrics.json. Goal: wall-time ratio <= 1.05.

    python bench/round_overhead.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from yolo_workbook.config.params import load_round
from yolo_workbook.core import paths
from yolo_workbook.data.demo import write_demo_data
from yolo_workbook.training.train import yolo_train_command

BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=paths.PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (alternating)")
    args = parser.parse_args()
    write_demo_data(paths.PROJECT_ROOT / "outputs" / "datasets" / "demo", size="demo")
    runner_times, raw_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            env = {"YOLO_WORKBOOK_OUTPUTS": str(Path(tmp) / f"raw{i}")}
            os.environ.update(env)
            command = yolo_train_command(load_round("r01_base", profile="bench", use_local=False))
            command[0] = str(BIN / "yolo")
            raw_times.append(timed(command, env))
            env = {"YOLO_WORKBOOK_OUTPUTS": str(Path(tmp) / f"runner{i}")}
            runner = [str(BIN / "yolo-workbook"), "run", "params/r01_base.yaml", "--profile", "bench", "--quiet"]
            runner_times.append(timed(runner, env))
            print(f"run {i + 1}: yolo train {raw_times[-1]:.1f} s, yolo-workbook run {runner_times[-1]:.1f} s")
    raw, runner = statistics.median(raw_times), statistics.median(runner_times)
    print(f"raw `yolo train` (3 epochs):  median {raw:.1f} s")
    print(f"yolo-workbook run:            median {runner:.1f} s")
    print(f"ratio runner / raw:           {runner / raw:.3f}  (goal <= 1.05)")
    overhead = runner - raw
    diary_round = 30 * 60 + 21  # the diary's round 3: "소요 시간 : 30m 21s"
    print(
        f"fixed overhead per round:     {overhead:.1f} s (papermill, kernel start, checks, records, figures, journal)"
    )
    print(f"ratio at the diary's 30m21s round: {(diary_round + overhead) / diary_round:.3f}")


if __name__ == "__main__":
    main()
