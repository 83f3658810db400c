"""repeats: the spread of repeated runs, the seeds a record lacks, its schema, and a real round with repeat 2."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest

from yolo_workbook.config import params
from yolo_workbook.core.files import read_json
from yolo_workbook.training import metrics, repeats, rerun, train


def _run(seed: int, map50: float, map5095: float, per_class: dict, folder: str = "") -> dict:
    return {"seed": seed, "mAP50": map50, "mAP50-95": map5095, "per_class": per_class, "folder": folder}


RUNS = [
    _run(0, 0.5, 0.30, {"student": 0.9, "sitae": 0.2, "desk": 0.8}, "train"),
    _run(1, 0.6, 0.34, {"student": 0.9, "sitae": None, "desk": None}, "repeats/seed_1"),
    _run(2, 0.7, 0.32, {"student": 0.9, "sitae": 0.4, "desk": None}, "repeats/seed_2"),
]


def test_spread_on_hand_numbers():
    spread = repeats.spread(RUNS)
    # mAP50 0.5, 0.6, 0.7: deviations 0.1, 0, 0.1 -> sample variance 0.02 / 2 = 0.01
    assert spread["mAP50"] == {"n": 3, "mean": 0.6, "std": 0.1, "min": 0.5, "max": 0.7}
    assert spread["mAP50-95"] == {"n": 3, "mean": 0.32, "std": 0.02, "min": 0.3, "max": 0.34}
    # sitae is absent from val in one run: two values, 0.2 and 0.4 -> std sqrt(0.02 / 1)
    assert spread["sitae AP50"] == {"n": 2, "mean": 0.3, "std": 0.141421, "min": 0.2, "max": 0.4}
    assert spread["student AP50"]["std"] == 0.0
    assert "desk AP50" not in spread  # one value: no spread


def test_the_seeds_a_record_lacks():
    rnd = dataclasses.replace(params.load_round("r04_lr_cos", profile="ci", use_local=False, check=False), repeat=3)
    assert repeats.seeds(rnd) == [0, 1, 2]  # the ci profile's seed is 0
    record = {"status": "ok", "overall": {"mAP50": 0.5, "mAP50-95": 0.3}, "train_args": {"seed": 0}, "per_class": {}}
    assert repeats.missing_seeds(rnd, record) == [1, 2]
    record["repeats"] = repeats.repeats_field(RUNS[:2])  # stopped during seed 2
    assert repeats.missing_seeds(rnd, record) == [2]
    assert repeats.missing_seeds(dataclasses.replace(rnd, repeat=1), record) == []
    assert repeats.missing_seeds(rnd, {**record, "status": "failed"}) == []  # its own run first


def test_repeat_is_not_an_input_of_the_round():
    """A finished round whose repeat changes is up to date (it trains only the missing repeats), not 'changed'."""
    once = params.load_round("r04_lr_cos", profile="ci", use_local=False, check=False)
    thrice = dataclasses.replace(once, repeat=3)
    inputs = [{"params": {k: v for k, v in r.to_dict().items() if k not in rerun._NOT_INPUTS}} for r in (once, thrice)]
    assert "repeat" in thrice.to_dict() and rerun.input_changes(*inputs) == []


def _repeats_schema() -> dict:
    schema = metrics.schema()
    schema["required"] = []  # the repeats field alone
    return schema


def test_a_record_with_repeats_is_valid_and_a_malformed_one_is_not():
    jsonschema.validate({"repeats": repeats.repeats_field(RUNS)}, _repeats_schema())
    without_seed = [{k: v for k, v in run.items() if k != "seed"} for run in RUNS]
    with pytest.raises(jsonschema.ValidationError, match="'seed' is a required property"):
        jsonschema.validate({"repeats": repeats.repeats_field(without_seed)}, _repeats_schema())
    one_value = {"runs": RUNS[:1], "spread": {"mAP50": {"n": 1, "mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}}}
    with pytest.raises(jsonschema.ValidationError, match="less than the minimum of 2"):
        jsonschema.validate({"repeats": one_value}, _repeats_schema())


@pytest.mark.slow
def test_a_round_with_repeat_2_records_both_runs_and_a_rerun_trains_only_the_missing_one(ci_data, outputs):
    rnd = dataclasses.replace(params.load_round("r01_base", profile="ci", use_local=False), repeat=2)
    first = train.train_round(rnd)
    record = first.record
    jsonschema.validate(record, metrics.schema())
    runs = record["repeats"]["runs"]
    assert [run["seed"] for run in runs] == [0, 1] and runs[0]["folder"] == "train"
    assert runs[0]["mAP50"] == record["overall"]["mAP50"]  # the round's own run is the record's numbers
    assert (first.round_dir / "repeats" / "seed_1" / "weights" / "best.pt").is_file()
    assert set(record["repeats"]["spread"]) >= {"mAP50", "mAP50-95"}
    own_weights = first.best_weights.stat().st_mtime_ns

    stopped = first.round_dir / "repeats" / "seed_2"  # what a repeat stopped halfway leaves
    stopped.mkdir()
    (stopped / "results.csv").write_text("epoch,time\n", encoding="utf-8")
    again = train.train_round(dataclasses.replace(rnd, repeat=3))  # up to date: only seed 2 trains
    assert len(list((first.round_dir / "repeats" / "history").glob("*/seed_2/results.csv"))) == 1
    assert [run["seed"] for run in again.record["repeats"]["runs"]] == [0, 1, 2]
    assert again.record["finished_at"] == record["finished_at"] and first.best_weights.stat().st_mtime_ns == own_weights
    assert metrics.upgrade_record(again.record) == again.record
    assert not (outputs / "ci" / "r01_base" / "history").exists()


def test_a_failed_repeat_is_skipped_and_a_stopped_one_leaves_the_record_as_it_was(ci_data, outputs, monkeypatch):
    rnd = dataclasses.replace(params.load_round("r04_lr_cos", profile="ci", use_local=False, check=False), repeat=3)
    path = outputs / "metrics.json"
    own = {"mAP50": 0.5, "mAP50-95": 0.3}
    record = {"status": "ok", "overall": own, "train_args": {"seed": 0}, "per_class": {}, "train_seconds": 1.0}
    metrics.write_record(record, path)

    def train_one(rnd, seed, **_):
        if seed == 1:
            raise RuntimeError("out of memory")
        return _run(seed, 0.6, 0.32, {}, f"repeats/seed_{seed}")

    monkeypatch.setattr(repeats, "train_one", train_one)
    found = repeats.train_missing(
        rnd, dict(record), start_weights="x.pt", data_yaml=ci_data["first"], metrics_path=path
    )
    assert [run["seed"] for run in found["repeats"]["runs"]] == [0, 2]  # seed 1 failed: tried again next time
    assert read_json(path)["repeats"] == found["repeats"] and found["status"] == "ok"

    def stopped(rnd, seed, **_):
        raise KeyboardInterrupt

    monkeypatch.setattr(repeats, "train_one", stopped)
    with pytest.raises(KeyboardInterrupt):
        repeats.train_missing(rnd, dict(found), start_weights="x.pt", data_yaml=ci_data["first"], metrics_path=path)
    assert read_json(path) == found
