"""Which trials a sweep trains when it runs again: after an end, a stop, a raised budget, --force, a damaged
ledger and a Ray trial that ended unrecorded. Trials are stand-ins (no training): only the sweep's decisions."""

from __future__ import annotations

import pytest
from conftest import write

from yolo_workbook.config import params
from yolo_workbook.core.errors import SweepError
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.training.train import TrainResult
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import sweep, trial


@pytest.fixture()
def fake(ci_data, outputs, params_copy, monkeypatch):
    """A sweep round of 3 trials whose trials and promotion are stand-ins; ``fake.trained`` lists the trials run."""
    write(
        params_copy,
        "r20_sweep.yaml",
        "round_id: r20_sweep\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {from: yolov8n.yaml}\n"
        "train: {optimizer: SGD}\nsweep:\n  space: {lr0: {low: 0.001, high: 0.02, log: true}}\n  trials: 3\n",
    )

    class Fake:
        trained: list[int] = []
        stop_at: int | None = None

    def run_trial(rnd, spec, number, arguments, **_):
        if number == Fake.stop_at:
            raise KeyboardInterrupt
        Fake.trained.append(number)
        (rnd.output_dir / ledgers.trial_folder(number)).mkdir(parents=True, exist_ok=True)
        row = ledgers.running_row(number, arguments, backend="local")
        return {**row, "status": "ok", "objective": 0.1 * number, "epochs_run": 1, "train_seconds": 0.1}

    def promote(run, *, inputs):
        record = {"round_id": run.rnd.round_id, "status": "ok", "inputs": inputs, "finished_at": "now"}
        write_json(run.rnd.output_dir / "metrics.json", record)
        return TrainResult(
            run.rnd.output_dir, run.rnd.output_dir / "best.pt", run.rnd.output_dir / "metrics.json", record
        )

    monkeypatch.setattr(trial, "run_trial", run_trial)
    monkeypatch.setattr(sweep, "promote", promote)
    Fake.folder = outputs / "ci" / "r20_sweep"
    return Fake


def run(*, force: bool = False, **injected) -> None:
    sweep.train_or_sweep(params.load_round("r20_sweep", profile="ci", use_local=False, injected=injected), force=force)


def statuses(fake) -> list[tuple[int, str]]:
    return [(r["number"], r["status"]) for r in read_json(fake.folder / "trials.json")["trials"]]


def test_an_ended_sweep_is_up_to_date_and_a_raised_budget_trains_only_the_new_trials(fake):
    run()
    assert fake.trained == [0, 1, 2]
    run()
    assert fake.trained == [0, 1, 2]  # up to date: nothing trains
    run(sweep={"trials": 4})
    assert fake.trained == [0, 1, 2, 3] and statuses(fake)[-1] == (3, "ok")
    assert [p.name for p in (fake.folder / "history").glob("*/*")] == ["metrics.json"]  # the record it replaced


def test_a_stopped_sweep_goes_on_and_force_starts_it_anew(fake):
    fake.stop_at = 1
    with pytest.raises(KeyboardInterrupt):
        run()
    assert statuses(fake) == [(0, "ok"), (1, "running")]
    assert read_json(fake.folder / "metrics.json")["status"] == "interrupted"
    fake.stop_at = None
    run()
    assert fake.trained == [0, 1, 2]  # trial 0 not again
    fake.trained.clear()
    fake.stop_at = 2
    with pytest.raises(KeyboardInterrupt):
        run(force=True)  # forced: everything moves to history, the trials start from 0
    assert fake.trained == [0, 1] and statuses(fake) == [(0, "ok"), (1, "ok"), (2, "running")]
    assert list((fake.folder / "history").glob("*/trials.json"))
    fake.trained.clear()
    fake.stop_at = None
    run(force=True)  # forced again on a stopped sweep: anew, not on from the ledger
    assert fake.trained == [0, 1, 2]


def test_a_ray_trial_that_ended_unrecorded_is_taken_not_trained_again(fake):
    fake.stop_at = 1
    with pytest.raises(KeyboardInterrupt):
        run()
    running = read_json(fake.folder / "trials.json")["trials"][1]
    ended = {**running, "status": "ok", "objective": 0.5, "epochs_run": 1}  # what the trial wrote before the stop
    write_json(fake.folder / running["folder"] / ledgers.ROW_FILE, ended)
    fake.stop_at = None
    run()
    assert fake.trained == [0, 2] and read_json(fake.folder / "trials.json")["trials"][1]["objective"] == 0.5


def test_a_damaged_ledger_stops_the_sweep_until_forced(fake):
    run()
    (fake.folder / "trials.json").write_text("{", encoding="utf-8")
    with pytest.raises(SweepError, match="trials.json: not readable JSON") as error:
        run()
    assert "--force" in error.value.fix
    run(force=True)
    assert fake.trained == [0, 1, 2, 0, 1, 2] and statuses(fake) == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert [p.read_text() for p in (fake.folder / "history").glob("*/trials.json")] == ["{"]  # kept, not deleted
