"""One run at a time per round, prediction job, merge and journal: real processes, a real kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import BIN, ROOT, child_environment, cli

from yolo_workbook.core import locks, paths
from yolo_workbook.core.errors import BusyError

HOLD_SCRIPT = """
import sys, time
from pathlib import Path
from yolo_workbook.core import locks
with locks.hold(Path(sys.argv[1]), what="a test", fix="-"):
    print("held", flush=True)
    time.sleep(600)
"""


def _child_holding(folder: Path) -> subprocess.Popen:
    """A process that takes the lock of ``folder`` and keeps it until it is killed."""
    child = subprocess.Popen(
        [str(BIN / "python"), "-c", HOLD_SCRIPT, str(folder)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert child.stdout.readline().strip() == "held"
    return child


def _env(outputs: Path, params: Path | None = None) -> dict[str, str]:
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs)}
    return {**env, "YOLO_WORKBOOK_PARAMS": str(params)} if params else env


def _wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def test_a_lock_left_by_kill_9_is_taken_over_by_the_next_holder(tmp_path):
    folder = tmp_path / "outputs" / "ci" / "r01_base"
    child = _child_holding(folder)
    busy = rf"a round is in use by process {child.pid} on host '{socket.gethostname()}'"
    with pytest.raises(BusyError, match=busy), locks.hold(folder, what="a round", fix="wait"):
        pass
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    with locks.hold(folder, what="a round", fix="wait") as lock:  # the holder is gone: the lock is free at once
        assert lock.took_over is not None and lock.took_over["pid"] == child.pid
        holder = json.loads(locks.holder_path(lock.path).read_text())
        assert holder["pid"] == os.getpid() and holder["token"] == lock.token
    assert not locks.holder_path(lock.path).exists()  # released cleanly: nothing left to take over


@pytest.mark.slow
@pytest.mark.notebook
def test_a_second_run_of_a_round_stops_at_once_naming_the_first(ci_data, outputs, params_copy):
    profile = params_copy / "profiles" / "ci.yaml"
    data = yaml.safe_load(profile.read_text())
    data["rounds"]["r01_base"]["train"] = {"epochs": 3}  # long enough to still run when the second one starts
    profile.write_text(yaml.safe_dump(data))
    command = [str(BIN / "yolo-workbook"), "run", str(params_copy / "r01_base.yaml"), "--profile", "ci", "--quiet"]
    env = child_environment(_env(outputs, params_copy))
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(outputs / "ci" / ".locks" / "r01_base.holder.json")
    started = time.time()
    second = cli(
        "run", str(params_copy / "r01_base.yaml"), "--profile", "ci", "--quiet", env=_env(outputs, params_copy)
    )
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert time.time() - started < 30
    assert f"round 'r01_base' (profile ci) is in use by process {first.pid} on host '{socket.gethostname()}'" in (
        second.stderr
    )
    assert "since 20" in second.stderr and "fix: wait until that run ends" in second.stderr
    assert first.poll() is None, "the first run ended before the second started: the test proves nothing"
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    folder = outputs / "ci" / "r01_base"
    assert json.loads((folder / "metrics.json").read_text())["status"] == "ok"
    assert sorted(p.name for p in folder.iterdir()) == [
        "02_base_train.ipynb",
        "metrics.json",
        "params.resolved.yaml",
        "train",
        "val_stats.npz",
        "video",  # the first run's video score (the ci profile names its video's ground truth)
    ]  # no train-2, no history/: the second run touched nothing


@pytest.mark.slow
@pytest.mark.notebook
def test_pipeline_refuses_a_busy_round_and_runs_the_rounds_that_do_not_need_it(ci_pipeline, outputs, params_copy):
    # A round that starts from a weights file under folders with a space and Hangul (README: "a weights file").
    weights = outputs.parent / "내 가중치" / "start.pt"
    weights.parent.mkdir(parents=True)
    shutil.copy(ci_pipeline / "ci" / "r01_base" / "train" / "weights" / "best.pt", weights)
    (params_copy / "r09_from_file.yaml").write_text(
        "round_id: r09_from_file\nextends: r01_base\nnotebook: 03_finetune\n"
        f"model:\n  from: {json.dumps(str(weights), ensure_ascii=False)}\n",
        encoding="utf-8",
    )
    with locks.hold(paths.round_dir("r01_base", "ci"), what="-", fix="-"):  # as if another process ran r01
        done = cli(
            "pipeline", "r01_base", "r02_freeze_new_data", "r09_from_file", "--profile", "ci", "--quiet",
            env=_env(outputs, params_copy),
        )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout[done.stdout.index("round ") :]
    assert "r01_base              refused" in summary and f"in use by process {os.getpid()}" in summary
    assert "r02_freeze_new_data   skipped" in summary and "needs r01_base" in summary
    assert "r09_from_file         ok" in summary
    record = json.loads((outputs / "ci" / "r09_from_file" / "metrics.json").read_text())
    assert record["status"] == "ok" and record["start_weights"] == str(weights)
    assert not (outputs / "ci" / "r01_base").exists()  # refused before anything was written


def test_merges_and_the_journal_wait_for_the_lock_holder(ci_data, outputs):
    merged = outputs / "merged"
    journal_lock_folder = outputs / "ci" / "journal"
    sources = [str(ci_data["first"]), str(ci_data["second"])]
    env = child_environment(_env(outputs))
    with locks.hold(merged, what="-", fix="-"), locks.hold(journal_lock_folder, what="-", fix="-"):
        waiting = [
            subprocess.Popen(
                [str(BIN / "yolo-workbook"), "data", "merge", *sources, "-o", str(merged)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for _ in range(2)
        ]  # fmt: skip
        waiting.append(
            subprocess.Popen(
                [str(BIN / "yolo-workbook"), "journal", "--profile", "ci"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )  # fmt: skip
        time.sleep(4)  # long enough for each of them to have written, had it not waited
        assert all(p.poll() is None for p in waiting), "a merge or the journal did not wait for the lock"
        assert not merged.exists() and not (outputs / "ci" / "journal.md").exists()
    results = [p.communicate(timeout=120) for p in waiting]
    assert [p.returncode for p in waiting] == [0, 0, 0], results
    assert (merged / "data.yaml").is_file() and (outputs / "ci" / "journal.md").is_file()
    assert yaml.safe_load((merged / "data.yaml").read_text())["names"] == ["student", "desk", "sitae"]


@pytest.mark.slow
@pytest.mark.notebook
def test_a_busy_prediction_job_is_refused_and_its_results_stay(ci_pipeline):
    folder = ci_pipeline / "ci" / "p01_video"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    child = _child_holding(folder)
    try:
        done = cli("predict", "--profile", "ci", env=_env(ci_pipeline))
    finally:
        child.kill()
        child.wait(timeout=30)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"round 'p01_video' (profile ci) is in use by process {child.pid}" in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
