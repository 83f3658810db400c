"""params: extends chains, overlays and their precedence, and one negative test per validator."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, ROUNDS, write

from yolo_workbook.config import explain, params
from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError


def load(*args, **kwargs):
    """``load_round`` without the lint pass: these tests are about resolution (see test_lint.py)."""
    kwargs.setdefault("check", False)
    return params.load_round(*args, **kwargs)


BASE = """round_id: r01_base
notebook: 02_base_train
datasets: {first: data/a.yaml, second: data/b.yaml}
data: {use: [first]}
model: {from: yolov8n.pt}
train: {epochs: 50, imgsz: 640, lr0: 0.001, classes: [1, 2]}
"""


@pytest.fixture()
def chain(params_dir):
    write(params_dir, "r01_base.yaml", BASE)
    write(
        params_dir,
        "r02_tune.yaml",
        "round_id: r02_tune\nextends: r01_base\nnotebook: 04_tune_round\nwhy: 정밀도 개선\n"
        "model: {from: r01_base}\ntrain: {lr0: 0.01, classes: [3]}\n",
    )
    write(
        params_dir,
        "r03_more.yaml",
        "round_id: r03_more\nextends: r02_tune\nnotebook: 04_tune_round\ntrain: {cos_lr: true}\n",
    )
    return params_dir


def test_extends_chain_deep_merges_dicts_and_replaces_scalars_and_lists(chain):
    rnd = load("r03_more", params_dir=chain, use_local=False)
    assert rnd.chain == ["r01_base", "r02_tune", "r03_more"]
    assert rnd.base == "r02_tune"
    assert rnd.train == {"epochs": 50, "imgsz": 640, "lr0": 0.01, "classes": [3], "cos_lr": True}
    assert rnd.weights_from == "r01_base"
    assert rnd.data_use == ["first"]
    assert rnd.notebook == "04_tune_round"
    assert rnd.where("train", "lr0").endswith("r02_tune.yaml")
    assert rnd.where("train", "epochs").endswith("r01_base.yaml")


def test_why_and_expect_are_not_inherited(chain):
    assert load("r02_tune", params_dir=chain, use_local=False).why == "정밀도 개선"
    assert load("r03_more", params_dir=chain, use_local=False).why == ""


def test_precedence_round_then_local_then_profile_then_injected(chain):
    write(chain, "local.yaml", "train: {epochs: 7, device: '0', batch: 8}\ndatasets: {first: /data/mine.yaml}\n")
    write(
        chain, "profiles/small.yaml", "profile: small\ntrain: {epochs: 3}\nrounds:\n  r03_more: {train: {imgsz: 160}}\n"
    )
    rnd = load("r03_more", profile="small", params_dir=chain, injected={"train": {"batch": 4}})
    assert rnd.train["epochs"] == 3  # profile beats local and round
    assert rnd.train["device"] == "0"  # local beats round
    assert rnd.train["imgsz"] == 160  # the profile's per-round part
    assert rnd.train["batch"] == 4  # a papermill parameter that differs from the file wins
    assert rnd.datasets["first"] == "/data/mine.yaml"
    assert (
        rnd.files[-2:] == ["params/profiles/small.yaml", "overrides (papermill -p or command line)"]
        or rnd.files[-1] == "overrides (papermill -p or command line)"
    )


def test_injected_values_equal_to_the_file_change_nothing(chain):
    plain = load("r02_tune", params_dir=chain, use_local=False)
    same = load(
        "r02_tune",
        params_dir=chain,
        use_local=False,
        injected={"train": {"lr0": 0.01, "classes": [3]}, "why": "정밀도 개선", "extends": "r01_base", "data": {}},
    )
    assert same.train == plain.train and same.files == plain.files


def test_injected_extends_that_differs_is_refused(chain):
    with pytest.raises(ParamsError, match="extends"):
        load("r02_tune", params_dir=chain, use_local=False, injected={"extends": "r03_more"})


def test_cycle_is_an_error_naming_the_chain(params_dir):
    write(params_dir, "r01_a.yaml", "round_id: r01_a\nextends: r02_b\nnotebook: 04_tune_round\n")
    write(params_dir, "r02_b.yaml", "round_id: r02_b\nextends: r01_a\nnotebook: 04_tune_round\n")
    with pytest.raises(ParamsError, match=r"cycle: r01_a -> r02_b -> r01_a"):
        load("r01_a", params_dir=params_dir)


def test_missing_parent_file_names_the_chain(params_dir):
    write(params_dir, "r02_b.yaml", "round_id: r02_b\nextends: r01_gone\nnotebook: 04_tune_round\n")
    with pytest.raises(ParamsError, match=r"extends 'r01_gone'.*chain: r02_b -> r01_gone"):
        load("r02_b", params_dir=params_dir)


def test_missing_round_file(params_dir):
    with pytest.raises(ParamsError, match="r09_nothing.yaml"):
        load("r09_nothing", params_dir=params_dir)


def test_round_id_must_match_the_file_name(params_dir):
    write(params_dir, "r01_base.yaml", BASE.replace("round_id: r01_base", "round_id: r01_other"))
    with pytest.raises(
        ParamsError, match="(?s)r01_base.yaml:1: round_id: is 'r01_other'.*fix: set 'round_id: r01_base'"
    ):
        load("r01_base", params_dir=params_dir)


def test_unknown_top_level_key_gets_a_suggestion(params_dir):
    write(params_dir, "r01_base.yaml", BASE + "exetnds: r00\n")
    with pytest.raises(ParamsError, match="(?s)r01_base.yaml:7: exetnds: unknown key.*did you mean 'extends'"):
        load("r01_base", params_dir=params_dir)


def test_unknown_section_key_gets_a_suggestion(params_dir):
    write(params_dir, "r01_base.yaml", BASE.replace("model: {from: yolov8n.pt}", "model: {form: yolov8n.pt}"))
    with pytest.raises(ParamsError, match="(?s)r01_base.yaml:5: model.form: unknown key.*did you mean 'from'"):
        load("r01_base", params_dir=params_dir)


def test_section_that_is_not_a_mapping(params_dir):
    write(params_dir, "r01_base.yaml", re.sub(r"(?m)^train: .*$", "train: 3", BASE))
    with pytest.raises(
        ParamsError, match=r"(?s)r01_base.yaml:6: train: must be a mapping of keys, found 3.*key: value"
    ):
        load("r01_base", params_dir=params_dir)


def test_bad_yaml_names_the_line(params_dir):
    write(params_dir, "r01_base.yaml", "round_id: r01_base\ntrain:\n  epochs: [1\n")
    with pytest.raises(ParamsError, match=r"r01_base.yaml:4: not valid YAML"):
        load("r01_base", params_dir=params_dir)


def test_data_use_must_name_a_defined_dataset(params_dir):
    write(params_dir, "r01_base.yaml", BASE.replace("use: [first]", "use: [thrid]"))
    with pytest.raises(ParamsError, match=r"r01_base.yaml:4: data.use: names dataset 'thrid'"):
        load("r01_base", params_dir=params_dir)


def test_unknown_profile_lists_the_known_ones(chain):
    write(chain, "profiles/demo.yaml", "profile: demo\n")
    with pytest.raises(ParamsError, match="(?s)profile 'dmeo' not found.*use one of: demo"):
        load("r01_base", profile="dmeo", params_dir=chain)


@pytest.mark.parametrize("hostile", ["../etc", "/abs", "a/b", "..", ""])
def test_hostile_round_ids_and_profiles_are_refused(hostile, chain):
    refused = r"cannot be used as a folder name under outputs/"
    with pytest.raises(ParamsError, match=rf"round id '{re.escape(hostile or '../x')}' {refused}"):
        load(hostile or "", params_dir=chain) if hostile else params.round_file("../x")
    with pytest.raises(ParamsError, match=rf"profile '{re.escape(hostile or '../x')}' {refused}"):
        load("r01_base", profile=hostile or "../x", params_dir=chain)


def test_round_must_belong_to_the_notebook(chain):
    with pytest.raises(ParamsError, match="runs in notebook 02_base_train, not 04_tune_round"):
        load("r01_base", params_dir=chain, for_notebook="04_tune_round")


def test_tests_read_a_params_copy_without_local_yaml_on_their_own_ci_data(ci_data):
    """What conftest promises: a developer's params/local.yaml and outputs/datasets/ci reach no test."""
    assert paths.params_dir() != ROOT / "params" and not (paths.params_dir() / "local.yaml").exists()
    rnd = load("r03_merge", profile="ci")  # with the local overlay, as the CLI and the notebooks load it
    assert rnd.data_paths() == [ci_data["first"], ci_data["second"]]
    assert paths.project_path(rnd.predict["source"]) == ci_data["video"]
    assert "device" not in rnd.train


def test_repository_rounds_resolve_with_every_profile():
    ids = params.list_rounds()
    assert {"e00_env_setup", "p01_video"} <= set(ids)
    assert [i for i in ids if i.startswith("r")] == ROUNDS
    for profile in ("", "demo", "ci"):
        for rid in ids:
            load(rid, profile=profile, use_local=False)


def test_repository_rounds_keep_the_diary_values():
    r = {rid: load(rid, use_local=False) for rid in params.list_rounds()}
    assert r["r01_base"].weights_from == "yolov8n.pt"
    assert r["r01_base"].train == {"epochs": 50, "imgsz": 640, "batch": 16, "pretrained": True, "lr0": 0.001}
    assert r["r02_freeze_new_data"].weights_from == "r01_base" and r["r02_freeze_new_data"].train["freeze"] == 10
    for rid in ("r03_merge", "r04_lr_cos", "r05_augment", "r06_cls_weight", "r07_lr_freeze6"):
        assert r[rid].weights_from == "r02_freeze_new_data", rid
        assert r[rid].data_use == ["classroom_v1", "classroom_v2"], rid
        assert r[rid].train["epochs"] == 100, rid
    assert r["r04_lr_cos"].train["lr0"] == 0.01 and r["r04_lr_cos"].train["cos_lr"] is True
    five = r["r05_augment"].train
    assert (five["close_mosaic"], five["flipud"], five["degrees"], five["translate"], five["scale"]) == (
        5,
        0.5,
        10.0,
        0.2,
        0.9,
    )
    assert (r["r06_cls_weight"].train["cls"], r["r06_cls_weight"].train["box"]) == (3.1, 0.15)
    assert (r["r07_lr_freeze6"].train["lr0"], r["r07_lr_freeze6"].train["freeze"]) == (0.001, 6)
    assert r["p01_video"].predict["conf"] == 0.5


def test_demo_profile_trains_round_one_from_a_model_yaml():
    assert load("r01_base", profile="demo", use_local=False).weights_from == "yolov8n.yaml"
    assert load("r02_freeze_new_data", profile="demo", use_local=False).weights_from == "r01_base"


def test_describe_is_deterministic(chain):
    text = explain.describe(load("r03_more", params_dir=chain, use_local=False))
    assert "lineage   r01_base -> r02_tune -> r03_more" in text
    assert "starts    from the best weights of round r01_base" in text
