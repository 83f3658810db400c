"""Benchmark: a sweep round on the demo data: what running trials adds, Ray's start, and a resume after a kill.

The sweep round starts from a fresh YOLOv8n (``model: {from: yolov8n.yaml}``), so it needs no earlier
round; it is written into a temporary copy of ``params/`` (``YOLO_WORKBOOK_PARAMS``) and runs in a
temporary outputs folder (``YOLO_WORKBOOK_OUTPUTS``), each sweep in its own process:

1. local overhead: the wall time of the whole ``train_or_sweep`` call (from the call to the promoted
   record, timed around it) against the sum of its trials' ``train_seconds`` in ``trials.json``
   (goal: <= 10% more), ``--trials`` trials of ``--epochs`` epochs at ``--imgsz``;
2. Ray start and stop: ``raybackend.start_ray({})`` then ``ray.shutdown()`` in a fresh process (goal:
   <= 30 s; importing Ray is timed apart);
3. resume after a kill: a 3-trial sweep is killed (SIGKILL) while trial 1 trains, then run again (goal:
   exactly the missing trials train: trial 0 not again, trial 1 once more with its arguments, trial 2 once);
4. Ray overhead: as 1, the same trials with ``backend: ray`` (for information, no goal).

    python bench/sweep.py [--trials 4] [--epochs 2] [--imgsz 160] [--no-ray-sweep] [--keep DIR]

About 5 minutes on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.core import paths
from yolo_workbook.core.files import read_json, read_yaml, write_atomic
from yolo_workbook.data.demo import write_demo_data

OVERHEAD_GOAL = 0.10
RAY_START_GOAL_S = 30.0
PROFILE = "bench"
ROUNDS = {"local": "r90_bench_sweep", "ray": "r91_bench_sweep_ray", "resume": "r92_bench_sweep_resume"}
TRIAL_LINE = re.compile(r": trial (\d+) of \d+(?: \(Ray\))?: ")  # what the sweep prints as a trial starts

SWEEP_WORKER = r"""
import json, sys, time
started = time.perf_counter()
from yolo_workbook.config.params import load_round
from yolo_workbook.tuning.sweep import train_or_sweep
imported = time.perf_counter()
rnd = load_round(sys.argv[1], profile=sys.argv[2], use_local=False)
loaded = time.perf_counter()
result = train_or_sweep(rnd)
ended = time.perf_counter()
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported, "wall_s": ended - loaded,
                  "status": result.record.get("status")}))
"""

RAY_WORKER = r"""
import json, time
started = time.perf_counter()
import ray
from yolo_workbook.tuning import raybackend
imported = time.perf_counter()
_, started_here = raybackend.start_ray({})
up = time.perf_counter()
ray.shutdown()
down = time.perf_counter()
print(json.dumps({"import_s": imported - started, "start_s": up - imported, "stop_s": down - up,
                  "started_here": started_here}))
"""


def write_params(folder: Path, *, trials: int, epochs: int, imgsz: int, ray_cpus: int) -> Path:
    """A copy of ``params/`` (without local.yaml) with the bench profile and the three sweep rounds."""
    shutil.copytree(paths.PROJECT_ROOT / "params", folder, ignore=shutil.ignore_patterns("local.yaml"))
    demo = paths.PROJECT_ROOT / "outputs" / "datasets" / "demo"
    profile = {
        "profile": PROFILE,
        "datasets": {f"classroom_{v}": str(demo / f"classroom.{v}i.yolov8" / "data.yaml") for v in ("v1", "v2")},
        "train": {"imgsz": imgsz, "batch": 16, "workers": 2, "seed": 0, "deterministic": True},
    }
    write_atomic(folder / "profiles" / f"{PROFILE}.yaml", yaml.safe_dump(profile, sort_keys=False))
    for kind, round_id in ROUNDS.items():
        sweep: dict[str, Any] = {
            "space": {"lr0": {"low": 0.001, "high": 0.02, "log": True}, "cls_pw": {"low": 0.0, "high": 1.0}},
            "trials": 3 if kind == "resume" else trials,
            "epochs": epochs,
            "objective": "sitae AP50",
            "early_stop": False,  # every trial trains every epoch: the same work on both backends
            "backend": "ray" if kind == "ray" else "local",
            "seed": 0,
        }
        if kind == "ray":
            sweep["ray"] = {"cpus_per_trial": ray_cpus, "concurrent": 1}
        body = {
            "round_id": round_id,
            "extends": "r03_merge",
            "notebook": "04_tune_round",
            "why": f"bench/sweep.py: {kind}",
            "model": {"from": "yolov8n.yaml"},  # a fresh YOLOv8n: no earlier round needed
            "train": {"optimizer": "SGD"},
            "sweep": sweep,
        }
        write_atomic(folder / f"{round_id}.yaml", yaml.safe_dump(body, sort_keys=False))
    return folder


def child_env(params: Path, outputs: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a local Ray, never a cluster
    env.update(YOLO_WORKBOOK_PARAMS=str(params), YOLO_WORKBOOK_OUTPUTS=str(outputs), PYTHONUNBUFFERED="1")
    return env


def last_json(done: subprocess.CompletedProcess[str], what: str) -> dict[str, Any]:
    if done.returncode != 0:
        sys.exit(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_sweep(round_id: str, params: Path, outputs: Path) -> tuple[dict[str, Any], str]:
    """Run a sweep round in a child process; its timings and its output."""
    command = [sys.executable, "-c", SWEEP_WORKER, round_id, PROFILE]
    done = subprocess.run(command, env=child_env(params, outputs), capture_output=True, text=True, check=False)
    return last_json(done, f"sweep {round_id}"), done.stdout + done.stderr


def ledger_of(outputs: Path, round_id: str) -> dict[str, Any]:
    found = read_json(outputs / PROFILE / round_id / "trials.json")
    if not isinstance(found, dict):
        sys.exit(f"{outputs / PROFILE / round_id}: no trials.json")
    return found


def overhead(round_id: str, params: Path, outputs: Path) -> dict[str, Any]:
    """Measurement 1 (and 4): the call's wall time against the trials' own training time."""
    timing, _ = run_sweep(round_id, params, outputs)
    ledger = ledger_of(outputs, round_id)
    trained = sum(float(r["train_seconds"]) for r in ledger["trials"])
    return {
        **timing,
        "trials": len(ledger["trials"]),
        "statuses": sorted({r["status"] for r in ledger["trials"]}),
        "train_s": trained,
        "ledger_wall_s": float(ledger["seconds"]["wall"]),
        "overhead": (timing["wall_s"] - trained) / trained,
    }


def ray_start_stop(params: Path, outputs: Path) -> dict[str, Any]:
    """Measurement 2: a local Ray started and stopped by the workbook, in a fresh process."""
    command = [sys.executable, "-c", RAY_WORKER]
    done = subprocess.run(command, env=child_env(params, outputs), capture_output=True, text=True, check=False)
    return last_json(done, "Ray start and stop")


def _trial_lines(text: str) -> list[int]:
    return [int(m.group(1)) for m in TRIAL_LINE.finditer(text)]


def _searched(args_yaml: Path, keys: list[str]) -> dict[str, Any]:
    """The searched arguments as ultralytics saved them in the run folder's args.yaml."""
    data = read_yaml(args_yaml).data
    return {key: data.get(key) for key in keys}


def kill_during_trial_1(round_id: str, params: Path, outputs: Path, *, timeout_s: float = 600) -> dict[str, Any]:
    """Start the sweep, SIGKILL its process group once trial 1 has written an epoch; what it left at that moment."""
    round_dir = outputs / PROFILE / round_id
    command = [sys.executable, "-c", SWEEP_WORKER, round_id, PROFILE]
    log = round_dir.parent / f"{round_id}.killed.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as sink:  # a file, not a pipe: a full pipe would stall the child
        child = subprocess.Popen(
            command, env=child_env(params, outputs), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while True:
            ledger = read_json(round_dir / "trials.json")
            rows = {r["number"]: r for r in ledger["trials"]} if isinstance(ledger, dict) else {}
            if (rows.get(1) or {}).get("status") == "running" and (round_dir / "trials/t001/results.csv").is_file():
                break
            if child.poll() is not None or time.monotonic() > deadline:
                child.kill()
                sys.exit(f"the sweep ended before trial 1 was seen training:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        killed_at = time.time()
        os.killpg(child.pid, signal.SIGKILL)  # the child and its data loader workers, as a crash would
        child.wait()
    weights = round_dir / "trials/t000/weights/best.pt"
    return {
        "killed_at": killed_at,
        "ledger": ledger,
        "t000_best_mtime": weights.stat().st_mtime_ns,
        "output": log.read_text(encoding="utf-8"),
    }


def resume(round_id: str, params: Path, outputs: Path) -> dict[str, Any]:
    """Measurement 3: kill during trial 1, run again, and check from the files which trials trained."""
    before = kill_during_trial_1(round_id, params, outputs)
    _, output = run_sweep(round_id, params, outputs)
    round_dir = outputs / PROFILE / round_id
    ledger = ledger_of(outputs, round_id)
    rows = {r["number"]: r for r in ledger["trials"]}
    old = {r["number"]: r for r in before["ledger"]["trials"]}
    keys = list(ledger["space"])
    stopped = sorted((round_dir / "trials/history").glob("*/t*"))
    stopped_names = [p.name for p in stopped]
    t001_args = round_dir / "trials/t001/args.yaml"
    checks = {
        "trial 0 ended before the kill": old.get(0, {}).get("status") == "ok",
        "trial 0 not trained again (finished_at)": rows[0]["finished_at"] == old[0]["finished_at"],
        "trial 0 not trained again (best.pt mtime)": (round_dir / "trials/t000/weights/best.pt").stat().st_mtime_ns
        == before["t000_best_mtime"],
        "trial 1 was running when killed": old.get(1, {}).get("status") == "running",
        "trial 1's stopped folder alone in trials/history/": stopped_names == ["t001"],
        "trial 1 trained again after the kill": t001_args.stat().st_mtime > before["killed_at"]
        and rows[1]["status"] == "ok",
        "trial 1 with the same arguments (ledger)": rows[1]["arguments"] == old[1]["arguments"],
        "trial 1 with the same arguments (args.yaml)": bool(stopped)
        and _searched(t001_args, keys) == _searched(stopped[0] / "args.yaml", keys),
        "trial 2 trained once": rows.get(2, {}).get("status") == "ok" and "t002" not in stopped_names,
        "first run started trials 0, 1": _trial_lines(before["output"]) == [0, 1],
        "second run started trials 1, 2 only": _trial_lines(output) == [1, 2],
        "promoted": (round_dir / "metrics.json").is_file() and (round_dir / "train/weights/best.pt").is_file(),
    }
    return {"checks": checks, "passed": all(checks.values()), "trials": {n: r["status"] for n, r in rows.items()}}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(local: dict[str, Any], ray_up: dict[str, Any], resumed: dict[str, Any], ray: dict[str, Any] | None) -> None:
    def describe(name: str, m: dict[str, Any]) -> None:
        between = (m["ledger_wall_s"] - m["train_s"]) / m["trials"]
        print(
            f"{name}: {m['trials']} trials ({', '.join(m['statuses'])}), call {m['wall_s']:.1f} s, trials'"
            f" train_seconds {m['train_s']:.1f} s: overhead {m['overhead']:.1%}\n"
            f"  of which: around the trials (checks, data, promotion) {m['wall_s'] - m['ledger_wall_s']:.1f} s,"
            f" in the trial loop besides training (Ray: its start too) {between:.1f} s per trial;"
            f" outside the call: imports {m['import_s']:.1f} s, load_round {m['load_s']:.1f} s"
        )

    print()
    describe("local sweep", local)
    if ray:
        describe("ray sweep", ray)
    print(
        f"local Ray (started here: {ray_up['started_here']}): import {ray_up['import_s']:.1f} s,"
        f" start {ray_up['start_s']:.1f} s, stop {ray_up['stop_s']:.1f} s"
    )
    print(f"resume after SIGKILL during trial 1: trial statuses {resumed['trials']}")
    for name, ok in resumed["checks"].items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    start_stop = ray_up["start_s"] + ray_up["stop_s"]
    rows = [
        ("local backend overhead", f"{local['overhead']:.1%}", f"<= {OVERHEAD_GOAL:.0%}",
         verdict(local["overhead"] <= OVERHEAD_GOAL)),
        ("local Ray start + stop", f"{start_stop:.1f} s", f"<= {RAY_START_GOAL_S:.0f} s",
         verdict(start_stop <= RAY_START_GOAL_S)),
        ("resume after a kill", f"{sum(resumed['checks'].values())}/{len(resumed['checks'])} checks",
         "exactly the missing trials", verdict(resumed["passed"])),
    ]  # fmt: skip
    if ray:
        rows.append(("ray backend overhead", f"{ray['overhead']:.1%}", "(information)", "-"))
    print(f"\n{'measure':<26} {'figure':>14}  {'goal':<28} verdict")
    for name, figure, goal, result in rows:
        print(f"{name:<26} {figure:>14}  {goal:<28} {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=4, help="trials of the overhead sweeps (the resume has 3)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every trial")
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--ray-cpus-per-trial", type=int, default=os.cpu_count() or 1, help="default: every core")
    parser.add_argument("--no-ray-sweep", action="store_true", help="skip the Ray backend's overhead (information)")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it, instead of a temporary one")
    args = parser.parse_args()
    demo = paths.PROJECT_ROOT / "outputs" / "datasets" / "demo"
    if not (demo / "classroom.v2i.yolov8" / "data.yaml").is_file():  # others may be reading it: never rewritten
        write_demo_data(demo, size="demo")
    with tempfile.TemporaryDirectory() as tmp_name:
        work = args.keep.resolve() if args.keep else Path(tmp_name)
        params = write_params(
            work / "params", trials=args.trials, epochs=args.epochs, imgsz=args.imgsz, ray_cpus=args.ray_cpus_per_trial
        )
        outputs = work / "outputs"
        print(f"{args.trials} trials x {args.epochs} epochs at imgsz {args.imgsz}, demo data, fresh YOLOv8n; in {work}")
        started = time.perf_counter()
        local = overhead(ROUNDS["local"], params, outputs)
        print(f"local sweep: {local['wall_s']:.1f} s", flush=True)
        ray_up = ray_start_stop(params, outputs)
        print(f"Ray start and stop: {ray_up['start_s'] + ray_up['stop_s']:.1f} s", flush=True)
        resumed = resume(ROUNDS["resume"], params, outputs)
        print(f"resume: {verdict(resumed['passed'])}", flush=True)
        ray = None if args.no_ray_sweep else overhead(ROUNDS["ray"], params, outputs)
        report(local, ray_up, resumed, ray)
        print(f"\nbench run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
