"""Overlays (params/local.yaml, profiles, papermill) against what the round files say: lineage, rounds parts, budgets.

Issue 25: a ``model.from`` set for every round rewrote the lineage silently (2); ``rounds:`` in local.yaml was
refused (3); a small ``train.epochs`` in local.yaml left a sweep's trials at full length, silently (5).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import BASE_ROUND, write

from yolo_workbook.config import lint, params
from yolo_workbook.core.errors import ParamsError

BASE = BASE_ROUND  # the root of the small lineages these tests write
FREEZE = """round_id: r02_freeze
extends: r01_base
notebook: 03_finetune
model: {from: r01_base}
train: {freeze: 10}
"""
MERGE = """round_id: r03_merge
extends: r02_freeze
notebook: 03_finetune
model: {from: r02_freeze}
"""
SWEEP = """round_id: r04_sweep
extends: r01_base
notebook: 04_tune_round
model: {from: r01_base}
train: {optimizer: SGD}
sweep:
  space: {lr0: {low: 0.001, high: 0.02}}
  trials: 12
  epochs: 30
"""


@pytest.fixture()
def lineage(params_dir: Path) -> Path:
    """r01 from yolov8n.pt; r02 from r01's weights (freeze 10); r03 from r02's."""
    write(params_dir, "r01_base.yaml", BASE)
    write(params_dir, "r02_freeze.yaml", FREEZE)
    write(params_dir, "r03_merge.yaml", MERGE)
    return params_dir


def _found(params_dir: Path, key: str, *, profile: str = "") -> list[tuple[str, int | None, str, str, str]]:
    problems = lint.check_rounds(profile=profile, params_dir=params_dir)
    return [(Path(p.file).name, p.line, p.level, p.message, p.fix) for p in problems if p.key == key]


# -- 2. model.from set for every round ------------------------------------------------------------


def test_local_model_from_for_every_round_warns_with_its_line_and_the_rounds_whose_start_it_replaces(lineage):
    write(lineage, "local.yaml", "train: {workers: 2}\nmodel: {from: yolov8n.yaml}\n")
    assert _found(lineage, "model.from") == [
        (
            "local.yaml",
            2,
            "warning",
            "set for every round here, it makes every round that starts from another round's weights start from"
            " yolov8n.yaml instead (in rounds r02_freeze (starts from r01_base), r03_merge (starts from r02_freeze))",
            "to change one round only, set it under rounds in "
            f"{lineage / 'local.yaml'}: 'rounds: {{r01_base: {{model: {{from: yolov8n.yaml}}}}}}';"
            " a top-level model.from replaces the start of every round",
        )
    ]


def test_a_profiles_top_level_model_from_warns_and_its_rounds_part_does_not(lineage):
    write(lineage, "profiles/scratch.yaml", "profile: scratch\nmodel:\n  from: yolov8s.yaml\n")
    found = _found(lineage, "model.from", profile="scratch")
    assert [(file, line, level) for file, line, level, _, _ in found] == [("scratch.yaml", 3, "warning")]
    assert found[0][3].endswith("(in rounds r02_freeze (starts from r01_base), r03_merge (starts from r02_freeze))")
    write(lineage, "profiles/own.yaml", "profile: own\nrounds:\n  r02_freeze:\n    model: {from: yolov8s.yaml}\n")
    assert _found(lineage, "model.from", profile="own") == []


def test_load_round_logs_the_warning_for_papermills_model_but_not_for_the_weights_option(lineage, caplog):
    with caplog.at_level(logging.WARNING):
        rnd = params.load_round(
            "r02_freeze", params_dir=lineage, use_local=False, injected={"model": {"from": "yolov8n.yaml"}}
        )
    assert rnd.weights_from == "yolov8n.yaml"
    assert [r.getMessage() for r in caplog.records] == [
        "overrides (papermill -p or command line): warning: model.from: r02_freeze (starts from r01_base): the"
        " parameters replace model.from with yolov8n.yaml: it trains from yolov8n.yaml, not r01_base's weights\n"
        "    fix: leave model out of the parameters to start from r01_base's weights; to start this round elsewhere"
        f" for good, set model.from in {lineage / 'r02_freeze.yaml'}"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        params.load_round(
            "r02_freeze",
            params_dir=lineage,
            use_local=False,
            injected={"model": {"from": "yolov8n.pt"}},
            options={"model.from": "--weights"},
        )
    assert caplog.records == []


@pytest.mark.parametrize("profile", ["demo", "ci", "bench"])
def test_the_shipped_profiles_replace_no_round_reference(profile):
    assert [p for p in lint.check_rounds(profile=profile, use_local=False) if p.key == "model.from"] == []


# -- 3. rounds: in local.yaml ---------------------------------------------------------------------


def test_local_yaml_rounds_part_applies_after_its_top_level_and_before_the_profile(lineage):
    write(
        lineage,
        "local.yaml",
        "train: {epochs: 7}\nrounds:\n  r01_base:\n    model: {from: yolov8n.yaml}\n    train:\n      epochs: 3\n",
    )
    first = params.load_round("r01_base", params_dir=lineage)
    assert (first.weights_from, first.train["epochs"]) == ("yolov8n.yaml", 3)
    assert Path(first.where("train", "epochs")).name == "local.yaml (rounds.r01_base)"
    assert Path(first.where("model", "from")).name == "local.yaml (rounds.r01_base)"
    second = params.load_round("r02_freeze", params_dir=lineage)  # not r02's: the top level only
    assert (second.weights_from, second.train["epochs"]) == ("r01_base", 7)
    assert Path(second.where("train", "epochs")).name == "local.yaml"
    write(lineage, "profiles/quick.yaml", "profile: quick\ntrain: {epochs: 2}\n")
    assert params.load_round("r01_base", params_dir=lineage, profile="quick").train["epochs"] == 2  # profile wins


def test_local_yaml_rounds_part_sets_repeat_for_one_round(lineage):
    write(lineage, "local.yaml", "rounds:\n  r03_merge: {repeat: 3}\n")
    assert params.load_round("r03_merge", params_dir=lineage, check=False).repeat == 3
    assert params.load_round("r02_freeze", params_dir=lineage, check=False).repeat == 1


def test_a_problem_of_a_local_rounds_part_names_local_yaml_and_its_line(lineage):
    write(lineage, "local.yaml", "# mine\nrounds:\n  r02_freeze:\n    train:\n      lr0: 0.02\n")
    assert _found(lineage, "train.lr0") == [
        (
            "local.yaml",
            5,
            "warning",
            "r02_freeze: lr0=0.02 is ignored because optimizer is 'auto' (ultralytics picks its own learning rate"
            " and momentum)",
            "set the optimizer in the same round, e.g. 'optimizer: SGD' (or AdamW), to make it count",
        )
    ]


def test_local_rounds_part_is_checked_like_a_profiles(lineage):
    write(
        lineage,
        "local.yaml",
        "rounds:\n  r02_freeze:\n    why: mine\n    train: {epochs: 2.5}\n    rounds: {}\n",
    )
    problems = lint.check_rounds(params_dir=lineage)
    assert sorted((Path(p.file).name, p.line, p.key, p.message) for p in problems if p.level == "error") == [
        ("local.yaml", 3, "rounds.r02_freeze.why", "cannot be set by params/local.yaml"),
        ("local.yaml", 4, "rounds.r02_freeze.train.epochs", "must be an integer, got float 2.5"),
        ("local.yaml", 5, "rounds.r02_freeze.rounds", "unknown key"),
    ]
    with pytest.raises(ParamsError, match=r"local.yaml:3: rounds.r02_freeze.why: cannot be set by params/local.yaml"):
        params.load_round("r02_freeze", params_dir=lineage, check=False)


# -- 5. the sweep's own budget --------------------------------------------------------------------


def test_a_small_local_train_epochs_warns_that_the_sweep_keeps_its_own(lineage):
    write(lineage, "r04_sweep.yaml", SWEEP)
    write(lineage, "local.yaml", "train: {epochs: 1}\n")
    assert _found(lineage, "train.epochs") == [
        (
            "local.yaml",
            1,
            "warning",
            f"r04_sweep: train.epochs: 1 ({lineage / 'local.yaml'}) does not reach the sweep: each of its 12 trials"
            f" trains sweep.epochs: 30 ({lineage / 'r04_sweep.yaml'})",
            f"set the sweep's own budget in {lineage / 'local.yaml'} too: 'sweep: {{epochs: 1, trials: 2}}'",
        )
    ]
    write(lineage, "local.yaml", "train: {epochs: 1}\nsweep: {epochs: 1, trials: 2}\n")
    assert _found(lineage, "train.epochs") == []
    rnd = params.load_round("r04_sweep", params_dir=lineage)
    assert (rnd.sweep["epochs"], rnd.sweep["trials"]) == (1, 2)
    write(lineage, "local.yaml", "train: {epochs: 1}\nrounds:\n  r04_sweep: {sweep: {epochs: 5}}\n")
    assert _found(lineage, "train.epochs") == []  # the same file set both: on purpose


def test_the_sweep_budget_warning_for_papermill_and_not_for_round_files(lineage, caplog):
    write(lineage, "r04_sweep.yaml", SWEEP.replace("train: {optimizer: SGD}", "train: {optimizer: SGD, epochs: 5}"))
    assert _found(lineage, "train.epochs") == []  # the sweep round's own file: its author set both
    with caplog.at_level(logging.WARNING):
        params.load_round("r04_sweep", params_dir=lineage, use_local=False, injected={"train": {"epochs": 2}})
    assert [r.getMessage().rpartition("fix: ")[2] for r in caplog.records] == [
        "give the sweep's own budget too: -p sweep '{epochs: 2, trials: 2}'"
    ]


def test_the_budget_fix_of_a_sweep_that_stops_early_passes_check_as_written(lineage):
    """r09's early_stop waits 5 epochs: a budget of 1 epoch must switch it off, or the fix is itself refused."""
    write(lineage, "r04_sweep.yaml", SWEEP + "  early_stop: {grace_epochs: 5, reduction_factor: 2}\n")
    write(lineage, "local.yaml", "train: {epochs: 1}\n")
    ((*_, fix),) = _found(lineage, "train.epochs")
    assert fix.endswith("'sweep: {epochs: 1, trials: 2, early_stop: false}'"), fix
    write(lineage, "local.yaml", "train: {epochs: 1}\nsweep: {epochs: 1, trials: 2, early_stop: false}\n")
    assert [p for p in lint.check_rounds(params_dir=lineage) if p.level == "error"] == []
