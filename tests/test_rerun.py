"""Re-runs, interruptions and failures: nothing is lost, nothing is silently overwritten."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml
from conftest import BIN, ROOT, cli

from yolo_workbook import metrics, params, train
from yolo_workbook.errors import RoundChangedError


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_second_run_is_up_to_date_and_a_changed_one_needs_force(ci_data, outputs, params_copy, capsys):
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    first = train.train_round(rnd)
    csv = first.round_dir / "train" / "results.csv"
    stamp = csv.stat().st_mtime_ns

    again = train.train_round(params.load_round("r01_base", profile="ci", use_local=False))
    assert "is up to date" in capsys.readouterr().out
    assert csv.stat().st_mtime_ns == stamp and not (first.round_dir / "history").exists()
    assert again.record == first.record

    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["train"].update(epochs=2))
    changed = params.load_round("r01_base", profile="ci", use_local=False)
    with pytest.raises(
        RoundChangedError, match=r"(?s)already finished with other inputs.*train.epochs: 1 -> 2.*--force"
    ):
        train.train_round(changed)
    assert csv.stat().st_mtime_ns == stamp  # refused: nothing touched

    forced = train.train_round(changed, force=True)
    assert forced.record["epochs_run"] == 2 and forced.record["status"] == "ok"
    kept = list((first.round_dir / "history").glob("*/metrics.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["epochs_run"] == 1
    assert not list(first.round_dir.glob("train[0-9]*"))


def _kill_tree(process: subprocess.Popen) -> None:
    parent = psutil.Process(process.pid)
    for child in parent.children(recursive=True):
        child.kill()
    parent.kill()
    process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.notebook
def test_sigkill_mid_training_then_resume_to_completion(ci_data, outputs, params_copy):
    epochs = 8
    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["rounds"]["r01_base"].update(train={"epochs": epochs}))
    round_file = str(params_copy / "r01_base.yaml")
    env = {**os.environ, "YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(params_copy)}
    command = [str(BIN / "yolo-workbook"), "run", round_file, "--profile", "ci", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = outputs / "ci" / "r01_base"
    deadline = time.time() + 240
    while time.time() < deadline:  # wait for the first saved checkpoint, then pull the plug mid-training
        if (folder / "train" / "weights" / "last.resume.pt").is_file():
            break
        time.sleep(0.1)
    _kill_tree(process)
    # Whether the kill fell inside ultralytics' write of last.pt or not, one whole checkpoint remains.
    from yolo_workbook.rerun import resume_checkpoint

    assert resume_checkpoint(folder / "train" / "weights") is not None
    assert process.returncode == -signal.SIGKILL
    done_before = len(metrics.read_results_csv(folder / "train" / "results.csv"))
    assert 1 <= done_before < epochs, "the round finished before it could be killed"
    record = json.loads((folder / "metrics.json").read_text())
    assert record["status"] == "interrupted"

    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    record = json.loads((folder / "metrics.json").read_text())
    assert record["status"] == "ok" and record["resumed"] is True
    rows = metrics.read_results_csv(folder / "train" / "results.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))  # the epochs of an uninterrupted run
    assert record["epochs_run"] == epochs
    assert not list(folder.glob("train[0-9]*"))


@pytest.mark.slow
@pytest.mark.notebook
def test_pipeline_failure_skips_only_dependents_and_keeps_everything(ci_data, outputs, params_copy):
    _edit(params_copy / "r02_freeze_new_data.yaml", lambda d: d["train"].update(device="cuda:7"))
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(params_copy)}
    done = cli("pipeline", "--profile", "ci", "--quiet", "e00_env_setup", "r01_base", "r03_merge", env=env)
    assert done.returncode == 1
    summary = done.stdout[done.stdout.index("round ") :]
    assert "r01_base              ok" in summary
    assert "r02_freeze_new_data   failed" in summary and "Invalid CUDA" in summary
    assert "r03_merge             skipped" in summary and "needs r02_freeze_new_data" in summary
    assert (outputs / "ci" / "r01_base" / "train" / "weights" / "best.pt").is_file()
    failed = outputs / "ci" / "r02_freeze_new_data"
    assert json.loads((failed / "metrics.json").read_text())["status"] == "failed"
    notebook = json.loads((failed / "03_finetune.ipynb").read_text())
    assert any("papermill-error-cell" in json.dumps(cell) for cell in notebook["cells"])  # papermill's banner


def test_truncated_record_is_reported_and_skipped(outputs, capsys):
    good = outputs / "ci" / "r01_base" / "metrics.json"
    bad = outputs / "ci" / "r02_freeze_new_data" / "metrics.json"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text(json.dumps({"round_id": "r01_base", "status": "ok"}))
    bad.write_text('{"round_id": "r02_freeze_new_data", "status": "o')
    assert [r["round_id"] for r in metrics.load_records("ci")] == ["r01_base"]
    assert "skipping unreadable record" in capsys.readouterr().out
    done = cli("compare", "--profile", "ci", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 0 and "r01_base" in done.stdout


@pytest.mark.parametrize("hostile", ["../../etc", "/tmp/x", "a/../../b"])
def test_hostile_round_ids_and_profiles_never_leave_outputs(hostile, outputs):
    assert cli("pipeline", hostile, env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)}).returncode == 1
    assert cli("pipeline", "--profile", hostile, env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)}).returncode == 1
    assert not outputs.exists()
