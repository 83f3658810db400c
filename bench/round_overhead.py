"""Benchmark: one round through the workbook's runner vs the raw `yolo train` command.

Both run round 1 of the `bench` profile (demo data, 3 epochs, YOLOv8n from yaml) with identical
training arguments, alternately, `--repeat` times each. The runner's extra work is papermill, a
kernel start, the round checks, metrics.json, the notebook's figures and the journal. Goal: a
wall-time ratio runner / raw <= 1.05 (PASS or MISS is printed). Timings are only comparable on a
quiet machine; `--before DIR` times the runner of another checkout of the project (e.g. a
`git worktree` of an earlier commit) in the same loop, so that both see the same noise.

    python bench/round_overhead.py [--repeat 2] [--before /tmp/before-checkout]
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
GOAL = 1.05
DIARY_ROUND = 30 * 60 + 21  # the diary's round 3: "소요 시간 : 30m 21s"


def timed(command: list[str], env: dict[str, str], cwd: Path = paths.PROJECT_ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds


def runner_command() -> list[str]:
    return [str(BIN / "yolo-workbook"), "run", "params/r01_base.yaml", "--profile", "bench", "--quiet"]


def before_env(checkout: Path) -> dict[str, str]:
    """Run another checkout's package (and so its notebooks, params and runner) with this environment."""
    python_path = os.pathsep.join(filter(None, [str(checkout / "lib"), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": python_path, "YOLO_WORKBOOK_ROOT": str(checkout)}


def summary(name: str, runner: float, raw: float) -> str:
    ratio, overhead = runner / raw, runner - raw
    verdict = "PASS" if ratio <= GOAL else "MISS"
    at_diary = (DIARY_ROUND + overhead) / DIARY_ROUND
    return (
        f"{name}: median {runner:.1f} s, ratio runner / raw {ratio:.3f} (goal <= {GOAL}: {verdict}),"
        f" fixed overhead {overhead:.1f} s, ratio at the diary's 30m21s round {at_diary:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (alternating); 1 for a quick look")
    parser.add_argument("--before", type=Path, help="another checkout of the project whose runner is timed too")
    args = parser.parse_args()
    write_demo_data(paths.PROJECT_ROOT / "outputs" / "datasets" / "demo", size="demo")
    if args.before:
        args.before = args.before.resolve()
        write_demo_data(args.before / "outputs" / "datasets" / "demo", size="demo")  # its bench profile reads it there
    times: dict[str, list[float]] = {"raw": [], "runner": [], "before": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            env = {"YOLO_WORKBOOK_OUTPUTS": str(Path(tmp) / f"raw{i}")}
            os.environ.update(env)
            command = yolo_train_command(load_round("r01_base", profile="bench", use_local=False))
            command[0] = str(BIN / "yolo")
            # The raw command runs in the temporary folder: ultralytics' own loggers (MLflow is on in its settings)
            # write mlflow.db and mlruns/ into the working folder, and they must not land in the checkout.
            runs = [("raw", command, {}, Path(tmp)), ("runner", runner_command(), {}, paths.PROJECT_ROOT)]
            if args.before:
                runs.append(("before", runner_command(), before_env(args.before), args.before))
            for name, argv, extra, cwd in runs if i % 2 == 0 else runs[::-1]:  # alternate who goes first
                outputs = {"YOLO_WORKBOOK_OUTPUTS": str(Path(tmp) / f"{name}{i}")}
                times[name].append(timed(argv, {**extra, **outputs}, cwd))
            done = [f"{name} {values[-1]:.1f} s" for name, values in times.items() if values]
            print(f"run {i + 1}: " + ", ".join(done))
    raw = statistics.median(times["raw"])
    print(f"raw `yolo train` (3 epochs): median {raw:.1f} s")
    print(summary("yolo-workbook run (this checkout)", statistics.median(times["runner"]), raw))
    if args.before:
        print(summary(f"yolo-workbook run ({args.before})", statistics.median(times["before"]), raw))
    print("fixed overhead: papermill, kernel start and stop, checks, records, figures, journal")


if __name__ == "__main__":
    main()
