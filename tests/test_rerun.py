"""Re-runs, interruptions and failures: nothing is lost, nothing is silently overwritten."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import jsonschema
import psutil
import pytest
import yaml
from conftest import BIN, ROOT, cli

from yolo_workbook import checkpoints, metrics, params, train
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
@pytest.mark.parametrize("point", ["before_checkpoint", "between_epochs", "after_last_epoch", "during_record"])
def test_a_round_killed_at_any_point_runs_again_to_the_same_end(point, ci_data, outputs, params_copy):
    """kill -9 at each point of a round (tests/kill_driver.py), then the CLI as a user would run it again."""
    epochs = 2
    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["rounds"]["r01_base"].update(train={"epochs": epochs}))
    env = {**os.environ, "YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(params_copy)}
    env.pop("PYTEST_CURRENT_TEST", None)  # ultralytics behaves otherwise under pytest
    driver = [str(BIN / "python"), str(ROOT / "tests" / "kill_driver.py"), "r01_base", "ci", point]
    killed = subprocess.run(driver, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    folder = outputs / "ci" / "r01_base"
    weights = folder / "train" / "weights"
    assert json.loads((folder / "metrics.json").read_text())["status"] == "interrupted"
    rows_before = metrics.read_results_csv(folder / "train" / "results.csv")
    if point == "between_epochs":  # as if the kill had cut ultralytics' in-place write of last.pt short
        (weights / "last.pt").write_bytes((weights / "last.pt").read_bytes()[:1000])

    again = cli("run", str(params_copy / "r01_base.yaml"), "--profile", "ci", "--quiet", env=env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "taking over the lock left by process" in again.stdout  # the killed holder never blocks
    record = json.loads((folder / "metrics.json").read_text())
    jsonschema.validate(record, metrics.schema())
    assert record["status"] == "ok" and record["epochs_run"] == epochs
    assert record["overall"] is not None and sum(c["instances"] for c in record["per_class"].values()) > 0
    rows = metrics.read_results_csv(folder / "train" / "results.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))  # the epochs of an uninterrupted run
    if point == "before_checkpoint":  # nothing to resume: trained anew, the partial run kept in history/
        assert rows_before == [] and record["resumed"] is False
        assert list((folder / "history").glob("*/train"))
    elif point == "between_epochs":  # resumed from the whole copy: the first epoch is the one trained before
        assert len(rows_before) == 1 and rows[0] == rows_before[0] and record["resumed"] is True
    else:  # all epochs were trained: finished without training again
        assert rows == rows_before and record["resumed"] is True
        assert "nothing is trained again" in (folder / "02_base_train.ipynb").read_text()  # what the notebook said
        assert not (folder / "history").exists()
    for name in ("best.pt", "last.pt"):  # stripped of the optimizer, as ultralytics leaves a finished run
        assert checkpoints.training_progress(weights / name) is None, name
    assert not list(folder.glob("train[0-9-]*"))


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
