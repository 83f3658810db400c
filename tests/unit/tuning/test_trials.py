"""The sampler, the ledger and the choice of the best trial, without training (tuning.trial, tuning.ledger)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from conftest import write

from yolo_workbook.config import params
from yolo_workbook.config.sweeps import parse_objective, parse_sweep
from yolo_workbook.core.errors import SweepError
from yolo_workbook.training import finish
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import sweep, trial
from yolo_workbook.tuning.run import SweepRun

SWEEP = (
    "sweep:\n  space:\n    lr0: {low: 0.001, high: 0.02, log: true}\n    close_mosaic: {low: 0, high: 3}\n"
    "    freeze: [0, 2]\n  trials: 4\n  epochs: 2\n  objective: sitae AP50\n  seed: 7\n"
)


@pytest.fixture()
def rnd(params_dir):
    write(
        params_dir,
        "r01_base.yaml",
        "round_id: r01_base\nnotebook: 02_base_train\ndatasets: {a: a.yaml}\ndata: {use: [a]}\n"
        "model: {from: yolov8n.yaml}\ntrain: {epochs: 5, optimizer: SGD}\n",
    )
    write(params_dir, "r02_sweep.yaml", f"round_id: r02_sweep\nextends: r01_base\nnotebook: 04_tune_round\n{SWEEP}")
    return params.load_round("r02_sweep", params_dir=params_dir, use_local=False, check=False)


def row(number: int, status: str, objective: float | None, **arguments) -> dict:
    found = ledgers.running_row(number, arguments or {"lr0": 0.01, "close_mosaic": 1, "freeze": 0}, backend="local")
    return {**found, "status": status, "objective": objective, "epochs_run": 2}


def test_the_sampler_is_seeded_by_trial_number_and_stays_in_the_space(rnd):
    spec = parse_sweep(rnd)
    empty = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    first = [trial.suggest(spec, empty, n) for n in range(4)]
    assert first == [trial.suggest(spec, empty, n) for n in range(4)]  # the same sweep asks the same
    assert len({json.dumps(args, sort_keys=True) for args in first}) == 4  # each trial its own draw
    for args in first:
        assert 0.001 <= args["lr0"] <= 0.02 and isinstance(args["lr0"], float)
        assert type(args["close_mosaic"]) is int and 0 <= args["close_mosaic"] <= 3
        assert args["freeze"] in (0, 2)
    other = dataclasses.replace(spec, seed=8)
    assert trial.suggest(other, empty, 0) != first[0]


def test_the_sampler_reads_the_ended_trials(rnd):
    spec = dataclasses.replace(parse_sweep(rnd), trials=4)
    ledger = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    ledger["trials"] = [row(n, "ok", 0.1 * n, **trial.suggest(spec, ledger, n)) for n in range(3)]
    study = trial.study(spec, ledger, 3)
    assert [t.value for t in study.trials] == [0.0, 0.1, 0.2]
    ledger["trials"].append(row(3, "running", None))  # a stopped trial is not history: it trains again
    assert len(trial.study(spec, ledger, 4).trials) == 3


def test_the_best_trial_is_the_best_that_trained_fully(rnd):
    maximize, minimize = parse_objective("sitae AP50"), parse_objective("count err")
    ledger = {"trials": [row(0, "ok", 0.4), row(1, "pruned", 0.9), row(2, "ok", 0.6), row(3, "failed", None)]}
    assert ledgers.best_trial(ledger, maximize)["number"] == 2  # a pruned trial wins only when none ended fully
    assert ledgers.best_trial(ledger, minimize)["number"] == 0
    assert ledgers.best_trial({"trials": [row(1, "pruned", 0.9), row(3, "failed", None)]}, maximize)["number"] == 1
    assert ledgers.best_trial({"trials": [row(3, "failed", None)]}, maximize) is None


def test_a_stopped_sweep_trains_its_running_trial_first_and_then_the_missing_ones(rnd):
    spec = parse_sweep(rnd)
    ledger = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    ledger["trials"] = [row(0, "ok", 0.3), row(1, "running", None, lr0=0.005, close_mosaic=2, freeze=2)]
    run = SweepRun(rnd, spec, ledger, start_weights="w.pt", data_yaml=Path("d.yaml"), names=["sitae"])
    assert run.todo() == [1, 2, 3]
    assert run.arguments(1) == {"lr0": 0.005, "close_mosaic": 2, "freeze": 2}  # the same arguments again
    assert run.arguments(2) == trial.suggest(spec, ledger, 2)
    fewer = SweepRun(rnd, dataclasses.replace(spec, trials=1), ledger, "w.pt", Path("d.yaml"), ["sitae"])
    assert fewer.todo() == []


def test_the_ledger_is_checked_on_write_and_read(rnd, tmp_path):
    spec = parse_sweep(rnd)
    ledger = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    ledger["trials"] = [row(0, "ok", 0.3)]
    ledgers.write_ledger(tmp_path, ledger)
    assert ledgers.read_ledger(tmp_path) == ledger
    with pytest.raises(jsonschema.ValidationError):
        ledgers.write_ledger(tmp_path, {**ledger, "trials": [{**row(0, "ok", 0.3), "status": "done"}]})
    (tmp_path / "trials.json").write_text('{"trials": [', encoding="utf-8")
    with pytest.raises(SweepError, match="trials.json: not readable JSON") as error:
        ledgers.read_ledger(tmp_path)
    assert "--force" in error.value.fix
    (tmp_path / "trials.json").write_text(json.dumps({**ledger, "seed": "seven"}), encoding="utf-8")
    with pytest.raises(SweepError, match="key seed is not valid"):
        ledgers.read_ledger(tmp_path)
    assert ledgers.read_ledger(tmp_path / "none") is None


def test_the_objective_of_a_validation(rnd):
    overall = {"mAP50": 0.8, "mAP50-95": 0.5}
    per_class = {"sitae": {"AP50": 0.3, "AP50-95": 0.1}, "desk": {"AP50": None, "AP50-95": None}}
    assert trial.objective_value(parse_objective("mAP50-95"), overall, per_class) == 0.5
    assert trial.objective_value(parse_objective("sitae AP50-95"), overall, per_class) == 0.1
    assert trial.objective_value(parse_objective("desk AP50"), overall, per_class) is None  # absent from val
    assert trial.objective_value(parse_objective("count err"), overall, per_class) is None  # the video's


def test_the_ready_round_file_extends_the_sweep_with_the_chosen_arguments(rnd):
    spec = parse_sweep(rnd)
    ledger = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    ledger["trials"] = [row(0, "ok", 0.3, lr0=0.004, close_mosaic=1, freeze=2), row(1, "ok", 0.2)]
    text = sweep.best_round_file(rnd, ledger)
    assert "trial 0 of 2, sitae AP50 0.3000" in text
    from yolo_workbook.core.files import parse_yaml

    content = parse_yaml(text).data
    assert content["extends"] == "r02_sweep" and content["train"] == {"lr0": 0.004, "close_mosaic": 1, "freeze": 2}
    assert content["round_id"].endswith("_sweep_best") and "sweep" not in content


def test_a_multi_gpu_training_is_validated_in_this_process(tmp_path, monkeypatch):
    called = {}

    def validate(best, train_args, round_dir, recorder=None, *, name="train"):
        called.update(best=best, round_dir=round_dir, name=name, data=train_args["data"])
        return SimpleNamespace(validator=SimpleNamespace(metrics="validated here"))

    monkeypatch.setattr(finish, "validate_trained", validate)
    best = tmp_path / "trials" / "t001" / "weights" / "best.pt"
    ddp = SimpleNamespace(validator=None)  # what ultralytics leaves in the parent process after DDP
    found = finish.trained_metrics(ddp, best, {"data": "d.yaml"}, None)
    assert found.validator.metrics == "validated here"
    assert called == {"best": best, "round_dir": tmp_path / "trials", "name": "t001", "data": "d.yaml"}
    single = SimpleNamespace(validator=SimpleNamespace(metrics="from training"))
    assert finish.trained_metrics(single, best, {"data": "d.yaml"}, None) is single


@pytest.mark.parametrize("objective", ["sitae AP50", "mAP50-95"])
def test_early_stopping_decides_as_rays_asha_scheduler(rnd, objective):
    import random

    from ray.tune.schedulers.async_hyperband import _Bracket

    spec = dataclasses.replace(
        parse_sweep(rnd),
        epochs=8,
        objective=parse_objective(objective),
        early_stop={"grace_epochs": 1, "reduction_factor": 2},
    )
    assert trial.rungs(spec) == [1, 2, 4]  # not the last epoch: a trial that trained every epoch ends as usual
    sign = 1 if spec.objective.direction == "maximize" else -1  # Ray's ASHA negates a metric to minimize
    bracket = _Bracket(min_t=1, max_t=spec.epochs + 1, reduction_factor=2, s=0)
    ledger = ledgers.new_ledger(rnd, spec, inputs_digest="x")
    rng = random.Random(5)
    stops = 0
    for number in range(12):
        values = []
        for epoch in range(1, spec.epochs + 1):
            value = round(rng.uniform(0, 1) + 0.05 * epoch, 4)
            values.append(value)
            if epoch == spec.epochs:  # not reported to Ray (raybackend): the trial ends and is validated
                assert trial.stops_early(spec, ledger, epoch, value) is False
                break
            ray_stops = bracket.on_result(SimpleNamespace(trial_id=str(number)), epoch, sign * value) == "STOP"
            assert trial.stops_early(spec, ledger, epoch, value) == ray_stops, (number, epoch)
            if ray_stops:
                stops += 1
                break
        ledger["trials"].append({**row(number, "pruned" if len(values) < spec.epochs else "ok", values[-1]),
                                 "intermediate": values})  # fmt: skip
    assert 3 <= stops <= 11  # the comparison met both decisions
    assert trial.stops_early(dataclasses.replace(spec, early_stop=None), ledger, 1, -5.0) is False
