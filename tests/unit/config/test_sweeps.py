"""The sweep section: its rules on the resolved round (config.sweeps), in `yolo-workbook check`, and its layering."""

from __future__ import annotations

import pytest
from conftest import cli, write

from yolo_workbook.config import params
from yolo_workbook.config.sweeps import parse_objective, parse_sweep, sweep_problems
from yolo_workbook.core.errors import ParamsError

BASE = (
    "round_id: r01_base\nnotebook: 02_base_train\ndatasets: {a: a.yaml}\ndata: {use: [a]}\n"
    "model: {from: yolov8n.yaml}\ntrain: {epochs: 5}\n"
)


def sweep_round(params_dir, sweep: str, train: str = "{optimizer: SGD}", extra: str = "") -> str:
    write(params_dir, "r01_base.yaml", BASE)
    write(
        params_dir,
        "r02_sweep.yaml",
        f"round_id: r02_sweep\nextends: r01_base\nnotebook: 04_tune_round\ntrain: {train}\n{extra}sweep:\n{sweep}",
    )
    return "r02_sweep"


def load(round_id, params_dir, **kwargs):
    return params.load_round(round_id, params_dir=params_dir, use_local=False, check=False, **kwargs)


def messages(params_dir, sweep: str, **kwargs) -> list[str]:
    return [
        f"{key}: {message}"
        for key, message, _ in sweep_problems(load(sweep_round(params_dir, sweep, **kwargs), params_dir))
    ]


def test_a_valid_sweep_parses_to_its_spec(params_dir):
    sweep = (
        "  space:\n    lr0: {low: 0.001, high: 0.02, log: true}\n    close_mosaic: {low: 0, high: 3}\n"
        "    freeze: [6, 8, 10]\n    optimizer: [SGD, AdamW]\n  trials: 4\n  objective: sitae AP50\n"
        "  early_stop: true\n"
    )
    rnd = load(sweep_round(params_dir, sweep), params_dir)
    assert sweep_problems(rnd) == []
    spec = parse_sweep(rnd)
    assert spec.space["lr0"] == {"low": 0.001, "high": 0.02, "log": True, "int": False}
    assert spec.space["close_mosaic"]["int"] is True  # an integer argument: sampled as integers
    assert spec.space["freeze"] == {"choices": [6, 8, 10]}
    assert (spec.trials, spec.epochs, spec.backend, spec.seed) == (4, 5, "local", 0)  # epochs: the round's train.epochs
    assert spec.early_stop == {"grace_epochs": 1, "reduction_factor": 2}
    assert spec.objective.class_name == "sitae" and spec.objective.direction == "maximize"
    assert spec.ray["concurrent"] == 1 and spec.ray["address"] == ""


@pytest.mark.parametrize(
    ("text", "metric", "name", "direction"),
    [
        ("mAP50-95", "mAP50-95", None, "maximize"),
        ("mAP50", "mAP50", None, "maximize"),
        ("sitae AP50-95", "AP50-95", "sitae", "maximize"),
        ("front row AP50", "AP50", "front row", "maximize"),
        ("count err", "count err", None, "minimize"),
    ],
)
def test_objectives(text, metric, name, direction):
    found = parse_objective(text)
    assert (found.metric, found.class_name, found.direction) == (metric, name, direction)


@pytest.mark.parametrize("bad", ["sitae", "AP50", "map50", "sitae AP75", ""])
def test_an_unknown_objective_is_refused_with_the_accepted_forms(bad):
    with pytest.raises(ParamsError) as error:
        parse_objective(bad)
    assert "'<class> AP50'" in error.value.fix


@pytest.mark.parametrize(
    ("sweep", "words"),
    [
        ("  space: {lr00: [0.01]}\n", "sweep.space.lr00: 'lr00' is not an ultralytics argument"),
        ("  space: {data: [a.yaml]}\n", "sweep.space.data: is set by the workbook"),
        ("  space: {epochs: [1, 2]}\n", "sweep.space.epochs: is not searched: the budget of a trial is sweep.epochs"),
        ("  space: {seed: [0, 1]}\n", "is not searched: a seed is noise"),
        ("  space: {freeze: {low: 4.5, high: 9.5}}\n", "a float freeze freezes nothing"),
        ("  space: {freeze: [6.5, 8]}\n", "sweep.space.freeze: choice 6.5"),
        ("  space: {close_mosaic: {low: 0, high: 2.5}}\n", "close_mosaic is an integer"),
        ("  space: {lr0: {low: 0.01, high: 0.001}}\n", "low 0.01 is not below high 0.001"),
        ("  space: {lr0: {low: 0, high: 0.01, log: true}}\n", "log: true needs low > 0"),
        ("  space: {optimizer: {low: 0, high: 1}}\n", "is a range, but it is not a number argument"),
        ("  space: {cos_lr: {low: 0, high: 1}}\n", "is a range, but it is not a number argument"),
        ("  space: {hsv_h: {low: 0.1, high: 1.5}}\n", "end 1.5 1.5 is outside [0, 1]"),
        ("  space: {optimizer: [SGD, Adamm]}\n", "choice 'Adamm'"),
        ("  trials: 3\n", "sweep.space: is missing or empty"),
        ("  space: {lr0: [0.01]}\n  objective: sitae\n", "sweep.objective: 'sitae' is not an objective"),
        ("  space: {lr0: [0.01]}\n  epochs: 2\n  early_stop: {grace_epochs: 2}\n", "grace_epochs 2 is not below"),
    ],
)
def test_each_rule_names_the_key(params_dir, sweep, words):
    found = messages(params_dir, sweep)
    assert any(words in line for line in found), found


def test_lr0_with_optimizer_auto_is_refused_unless_the_optimizer_is_fixed_or_searched(params_dir):
    space = "  space: {lr0: {low: 0.001, high: 0.01}}\n"
    (auto,) = messages(params_dir, space, train="{}")
    assert auto.startswith("sweep.space.lr0: is searched while optimizer is auto")
    assert messages(params_dir, space, train="{optimizer: SGD}") == []
    searched = "  space:\n    lr0: {low: 0.001, high: 0.01}\n    optimizer: [SGD, AdamW]\n"
    assert messages(params_dir, searched, train="{}") == []
    with_auto = "  space:\n    momentum: {low: 0.8, high: 0.95}\n    optimizer: [auto, SGD]\n"
    assert messages(params_dir, with_auto, train="{}") == [
        "sweep.space.optimizer: has the choice auto, which ignores the searched momentum"
    ]


def test_count_err_needs_the_videos_truth_and_no_early_stop(params_dir):
    found = messages(params_dir, "  space: {lr0: [0.01]}\n  objective: count err\n  early_stop: true\n")
    assert any("sweep.early_stop: needs an objective measured each epoch" in line for line in found)
    assert any("sweep.objective: 'count err' needs the video's ground truth" in line for line in found)
    truth = "predict: {source: v.mp4}\nattendance: {truth: v.truth}\n"
    assert messages(params_dir, "  space: {lr0: [0.01]}\n  objective: count err\n", extra=truth) == []


def test_an_empty_space_is_refused_by_the_schema(params_dir):
    with pytest.raises(ParamsError, match=r"r02_sweep.yaml:6: sweep.space: must be a mapping .* got \{\}"):
        load(sweep_round(params_dir, "  space: {}\n"), params_dir)


def test_repeat_in_a_sweep_round_is_refused(params_dir):
    found = messages(params_dir, "  space: {lr0: [0.01]}\n", extra="repeat: 2\n")
    assert found == ["repeat: is 2 in a sweep round"]


def test_sweep_is_not_inherited_and_a_profile_may_change_it(params_dir):
    sweep_round(params_dir, "  space: {lr0: [0.01, 0.02]}\n  trials: 6\n")
    write(params_dir, "r03_after.yaml", "round_id: r03_after\nextends: r02_sweep\nnotebook: 04_tune_round\n")
    after = load("r03_after", params_dir)
    assert after.sweep == {} and "sweep" not in after.to_dict()  # trains once with what its files say
    assert after.train["optimizer"] == "SGD"  # the rest of the sweep round is inherited as usual
    write(params_dir, "profiles/small.yaml", "profile: small\nrounds:\n  r02_sweep:\n    sweep: {trials: 2}\n")
    small = load("r02_sweep", params_dir, profile="small")
    assert small.sweep == {"space": {"lr0": [0.01, 0.02]}, "trials": 2}
    assert small.origin["sweep.trials"].endswith("small.yaml (rounds.r02_sweep)")
    with pytest.raises(ParamsError, match="r02_sweep.yaml: sweep.space.lr0 choice"):
        parse_sweep(load(sweep_round(params_dir, "  space: {lr0: [0.01, abc]}\n"), params_dir))


def test_check_names_file_line_and_key_of_a_bad_sweep(params_copy):
    write(
        params_copy,
        "r20_sweep.yaml",
        "round_id: r20_sweep\nextends: r03_merge\nnotebook: 04_tune_round\nsweep:\n  space:\n"
        "    lr0: {low: 0.001, high: 0.01}\n    freeze: {low: 4.5, high: 9}\n",
    )
    done = cli("check", "params/r20_sweep.yaml", "--profile", "ci")
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "params/r20_sweep.yaml:6: error: sweep.space.lr0: r20_sweep: is searched while optimizer is auto" in out
    assert "params/r20_sweep.yaml:7: error: sweep.space.freeze: r20_sweep: has non-integer ends" in out
    assert "fix: " in out


def test_the_demo_sweep_round_is_valid():
    rnd = params.load_round("r09_sweep_sitae", profile="demo", use_local=False)
    spec = parse_sweep(rnd)
    assert spec.objective.text == "sitae AP50" and set(spec.space) >= {"lr0", "freeze"}


def test_a_range_with_integer_ends_draws_integers_unless_the_argument_is_a_fraction(params_dir):
    sweep = "  space:\n    batch: {low: 8, high: 32}\n    mosaic: {low: 0, high: 1}\n    cls: {low: 0.5, high: 4}\n"
    spec = parse_sweep(load(sweep_round(params_dir, sweep), params_dir))
    assert spec.space["batch"]["int"] is True  # ultralytics reads batch as a float; a batch of 17.3 fails
    assert spec.space["mosaic"]["int"] is False and spec.space["cls"]["int"] is False


def test_several_gpus_in_a_sweep_round_are_refused(params_dir):
    found = messages(params_dir, "  space: {lr0: [0.01]}\n", train="{optimizer: SGD, device: '0,1'}")
    assert found == ["train.device: names several GPUs (0,1) in a sweep round: a trial trains on one"]
    assert messages(params_dir, "  space: {lr0: [0.01]}\n", train="{optimizer: SGD, device: 0}") == []


def test_a_profile_tunes_a_sweep_but_never_makes_a_round_one(params_dir):
    sweep_round(params_dir, "  space: {lr0: [0.01, 0.02]}\n")
    write(params_dir, "profiles/ray.yaml", "profile: ray\nsweep: {backend: ray, trials: 3}\n")
    assert load("r02_sweep", params_dir, profile="ray").sweep["backend"] == "ray"
    base = load("r01_base", params_dir, profile="ray")
    assert base.sweep == {} and not any(key.startswith("sweep") for key in base.origin)
