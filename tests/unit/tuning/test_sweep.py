"""Real sweeps on the ci data: the local backend end to end, re-runs, a kill and its resume, and Ray."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from conftest import BIN, ROOT, child_environment, cli, write

from yolo_workbook.config import params
from yolo_workbook.core.errors import RayClusterError
from yolo_workbook.core.files import parse_yaml, read_json
from yolo_workbook.training import metrics
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import raybackend
from yolo_workbook.tuning.sweep import train_or_sweep

pytestmark = pytest.mark.slow


def sweep_file(
    params_copy: Path, *, trials: int = 2, epochs: int = 1, objective: str = "mAP50", extra: str = ""
) -> str:
    """A sweep round on the ci data that starts from a fresh YOLOv8n (it needs no earlier round)."""
    write(
        params_copy,
        "r20_sweep.yaml",
        "round_id: r20_sweep\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {from: yolov8n.yaml}\n"
        "train: {optimizer: SGD}\nsweep:\n  space:\n    lr0: {low: 0.001, high: 0.02, log: true}\n"
        f"    freeze: [0, 2]\n  trials: {trials}\n  epochs: {epochs}\n  objective: {objective}\n{extra}",
    )
    return "r20_sweep"


def load(round_id: str, **injected):
    return params.load_round(round_id, profile="ci", use_local=False, injected=injected or None)


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.pt")}


def test_a_local_sweep_makes_its_best_trial_the_round_and_reruns_only_what_it_lacks(ci_data, outputs, params_copy):
    result = train_or_sweep(load(sweep_file(params_copy)))
    folder = result.round_dir
    ledger = read_json(folder / "trials.json")
    jsonschema.validate(ledger, ledgers.schema())
    rows = ledger["trials"]
    assert [(r["number"], r["status"], r["epochs_run"], r["folder"]) for r in rows] == [
        (0, "ok", 1, "trials/t000"),
        (1, "ok", 1, "trials/t001"),
    ]
    assert rows[0]["arguments"] != rows[1]["arguments"]
    best = max(rows, key=lambda r: r["objective"])  # mAP50: higher is better
    assert all(r["objective"] == r["metrics"]["mAP50"] for r in rows)
    record = result.record
    jsonschema.validate(record, metrics.schema())
    assert record["status"] == "ok" and record["sweep"]["best"] == best["number"] == ledger["best"]
    assert record["sweep"]["arguments"] == best["arguments"] and record["sweep"]["backend"] == "local"
    assert {k: record["train_args"][k] for k in best["arguments"]} == best["arguments"]
    assert record["train_args"]["epochs"] == 1 and record["train_args"]["optimizer"] == "SGD"
    # The best trial's weights are the round's own, so that a later round starts from them.
    trial_weights = folder / best["folder"] / "weights" / "best.pt"
    assert result.best_weights.read_bytes() == trial_weights.read_bytes()
    assert result.best_weights == params.best_weights_of("r20_sweep", "ci")
    assert record["overall"]["mAP50"] == pytest.approx(best["objective"], abs=1e-6)
    # The ready round file: it extends the sweep round with the chosen arguments and is a valid round.
    ready = parse_yaml((folder / "sweep.best.yaml").read_text(encoding="utf-8")).data
    assert ready["extends"] == "r20_sweep" and ready["train"] == best["arguments"]
    (params_copy / f"{ready['round_id']}.yaml").write_text((folder / "sweep.best.yaml").read_text(), encoding="utf-8")
    chosen = params.load_round(ready["round_id"], profile="ci", use_local=False)
    assert chosen.sweep == {} and chosen.train["lr0"] == best["arguments"]["lr0"]
    assert sorted(p.name for p in outputs.iterdir()) == ["ci"] and not (ROOT / "runs").exists()

    # Up to date: nothing trains. More trials: only the new one trains.
    before = mtimes(folder)
    again = train_or_sweep(load("r20_sweep"))
    assert again.record["finished_at"] == record["finished_at"] and mtimes(folder) == before
    more = train_or_sweep(load("r20_sweep", sweep={"trials": 3}))
    rows3 = read_json(folder / "trials.json")["trials"]
    assert [r["number"] for r in rows3] == [0, 1, 2] and rows3[:2] == rows
    after = mtimes(folder)
    trained_before = {k: v for k, v in before.items() if k.startswith(("trials/t000", "trials/t001"))}
    assert {k: after[k] for k in trained_before} == trained_before  # trials 0 and 1 were not trained again
    assert any(k.startswith("trials/t002/weights") for k in after)
    assert more.record["sweep"]["trials"] == 3


def test_a_killed_sweep_goes_on_and_trains_exactly_the_missing_trials(ci_data, outputs, params_copy):
    sweep_file(params_copy, trials=3)
    driver = (
        "import os, signal\n"
        "from ultralytics.utils.callbacks import base\n"
        "from yolo_workbook.config import params\n"
        "from yolo_workbook.tuning.sweep import train_or_sweep\n"
        "started = []\n"
        "base.default_callbacks['on_train_start'].append(lambda trainer: started.append(1))\n"
        "base.default_callbacks['on_train_epoch_end'].append(\n"
        "    lambda trainer: os.kill(os.getpid(), signal.SIGKILL) if len(started) == 2 else None)\n"
        "train_or_sweep(params.load_round('r20_sweep', profile='ci', use_local=False))\n"
    )
    done = subprocess.run(
        [str(BIN / "python"), "-c", driver], capture_output=True, text=True, timeout=600, env=child_environment()
    )
    assert done.returncode == -signal.SIGKILL, done.stdout[-2000:] + done.stderr[-2000:]
    folder = outputs / "ci" / "r20_sweep"
    stopped = read_json(folder / "trials.json")["trials"]
    assert [(r["number"], r["status"]) for r in stopped] == [(0, "ok"), (1, "running")]
    assert read_json(folder / "metrics.json")["status"] == "interrupted"
    first_weights = mtimes(folder / "trials" / "t000")
    # The stopped trial trains again with the arguments it had (the ledger's, not a new draw: a sampler of
    # another Optuna version may draw otherwise). Edited here, so that a new draw would show.
    ledger = read_json(folder / "trials.json")
    ledger["trials"][1]["arguments"] = stopped[1]["arguments"] = {"lr0": 0.0123, "freeze": 2}
    ledgers.write_ledger(folder, ledger)

    result = train_or_sweep(load("r20_sweep"))
    rows = read_json(folder / "trials.json")["trials"]
    assert [(r["number"], r["status"]) for r in rows] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert rows[0] == stopped[0] and mtimes(folder / "trials" / "t000") == first_weights  # not trained again
    assert rows[1]["arguments"] == stopped[1]["arguments"]  # the stopped trial, again with its arguments
    assert len(list((folder / "trials" / "history").glob("*/t001"))) == 1  # what it left, kept aside
    assert result.record["status"] == "ok" and result.record["sweep"]["trials"] == 3


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_ray_address_fails_in_seconds_before_anything_moves(ci_data, outputs, params_copy, monkeypatch):
    round_id = sweep_file(params_copy, extra="  backend: ray\n")
    port = closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    earlier = outputs / "ci" / round_id / "metrics.json"
    write(earlier.parent, "metrics.json", '{"kept": true}')
    started = time.monotonic()
    with pytest.raises(RayClusterError) as error:
        train_or_sweep(load(round_id))
    assert time.monotonic() - started < 10
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port} (RAY_ADDRESS)" in error.value.message
    assert "ray start --head" in error.value.fix
    assert earlier.read_text() == '{"kept": true}' and not (earlier.parent / "history").exists()
    # The same from the command line, before a kernel starts.
    done = cli("run", f"params/{round_id}.yaml", "--profile", "ci", env={"RAY_ADDRESS": f"127.0.0.1:{port}"})
    assert done.returncode != 0 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_without_ray_the_ray_backend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(RayClusterError, match="Ray Tune is not installed") as error:
        raybackend.check_backend({"address": ""})
    assert ".[sweep]" in error.value.fix


def test_a_ray_sweep_runs_its_trials_on_a_local_ray_and_stops_it(ci_data, outputs, params_copy, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    extra = "  backend: ray\n  early_stop: true\n  ray: {cpus_per_trial: 1, concurrent: 1}\n"
    round_id = sweep_file(params_copy, epochs=2, extra=extra)  # ASHA: a poor trial 1 stops after epoch 1
    started = time.monotonic()
    result = train_or_sweep(load(round_id))
    seconds = time.monotonic() - started
    folder = result.round_dir
    ledger = read_json(folder / "trials.json")
    jsonschema.validate(ledger, ledgers.schema())
    first, second = ledger["trials"]
    assert (first["number"], first["status"], first["backend"], first["epochs_run"]) == (0, "ok", "ray", 2)
    assert first["objective"] == first["metrics"]["mAP50"] and len(first["intermediate"]) == 2
    assert (second["number"], second["backend"]) == (1, "ray") and second["status"] in ("ok", "pruned")
    if second["status"] == "pruned":  # stopped by ASHA at its first rung: its last epoch's objective
        assert second["epochs_run"] == 1 and second["objective"] == second["intermediate"][-1]
        assert second["intermediate"][0] < first["intermediate"][0]
    assert result.record["sweep"]["backend"] == "ray" and (folder / "ray" / f"ci_{round_id}").is_dir()
    assert (folder / first["folder"] / "weights" / "best.pt").is_file()
    # The same sampler as the local backend: the same arguments for the same seed.
    from yolo_workbook.config.sweeps import parse_sweep
    from yolo_workbook.tuning import trial

    spec = parse_sweep(load(round_id))
    assert ledger["trials"][0]["arguments"] == trial.suggest(spec, {"trials": []}, 0)
    import ray

    assert not ray.is_initialized()  # the local Ray it started is stopped
    print(f"ray sweep of 2 one-epoch trials: {seconds:.1f} s, {json.dumps(ledger['seconds'])}")
    assert os.environ.get("RAY_ADDRESS") is None


def test_a_sweep_aimed_at_the_videos_count_error_keeps_the_trial_that_counts_best(ci_data, outputs, params_copy):
    result = train_or_sweep(load(sweep_file(params_copy, objective="count err")))  # the ci profile names the truth
    ledger = read_json(result.round_dir / "trials.json")
    assert ledger["objective"] == {"text": "count err", "metric": "count err", "class": None, "direction": "minimize"}
    rows = ledger["trials"]
    for row in rows:
        assert row["status"] == "ok" and row["intermediate"] == [None]  # not measured per epoch
        assert isinstance(row["count_err"], float) and row["objective"] == row["count_err"]
        attendance = read_json(result.round_dir / row["folder"] / "video" / "attendance.json")
        assert attendance["score"]["overall"]["count_mae_stable"] == pytest.approx(row["count_err"], abs=1e-6)
    best = min(rows, key=lambda r: (r["objective"], r["number"]))  # lower is better; the first of equals
    assert result.record["sweep"]["best"] == best["number"] and result.record["sweep"]["value"] == best["objective"]


def test_resolve_as_cli_says_a_sweep_is_not_one_training(params_copy):
    sweep_file(params_copy, trials=5)
    done = cli("resolve", "params/r20_sweep.yaml", "--profile", "ci", "--as-cli")
    first, command = done.stdout.splitlines()[:2]
    assert done.returncode == 0
    assert first.startswith("# r20_sweep is a sweep: 5 trials, each this command with epochs=1")
    assert "its own lr0, freeze (sweep.space)" in first and command.startswith("yolo train ")
