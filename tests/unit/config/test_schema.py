"""schema: the round file format written once, the one validator, one negative test per rule."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, write

from yolo_workbook.config import argrules, params, schema, validate
from yolo_workbook.core import files, paths
from yolo_workbook.core.errors import ParamsError

BASE = """round_id: r01_base
notebook: 02_base_train
datasets: {first: data/a.yaml}
data: {use: [first]}
model: {from: yolov8n.yaml}
train:
  epochs: 50
"""
HEAD = "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\n"  # lines 1-3 of every test round


def _problems(params_dir: Path, body: str, *, name: str = "r02_try", **overlays: str) -> list[tuple]:
    """Every problem of ``name`` (collecting mode), as ``(file name, line, key, message, fix)``."""
    write(params_dir, "r01_base.yaml", BASE)
    write(params_dir, f"{name}.yaml", body)
    for file, text in overlays.items():
        write(params_dir, "local.yaml" if file == "local" else f"profiles/{file}.yaml", text)
    validator = validate.Validator()
    if "fast" in overlays:
        validator.check_overlay(params_dir / "profiles" / "fast.yaml", "profile")
    validator.check_file(
        params_dir / f"{name}.yaml", params_dir=params_dir, profile="fast" if "fast" in overlays else ""
    )
    return [(Path(p.file).name, p.line, p.key, p.message, p.fix) for p in validator.problems]


# -- the schemas themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["round.schema.json", "overlay.schema.json"])
def test_the_schemas_are_valid_draft_2020_12_and_describe_every_key(name):
    from jsonschema import Draft202012Validator

    document = json.loads((paths.SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def undescribed(node: dict, where: str) -> list[str]:
        found = []
        for key, sub in (node.get("properties") or {}).items():
            found += [] if sub.get("description") else [f"{where}{key}"]
            found += undescribed(sub, f"{where}{key}.")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            found += [] if extra.get("description") else [f"{where}<name>"]
            found += undescribed(extra, f"{where}<name>.")
        return found

    assert undescribed(document, "") == []
    assert undescribed(document.get("$defs", {}).get("local", {}), "local.") == []
    assert undescribed(document.get("$defs", {}).get("round_part", {}), "round_part.") == []


def test_the_key_lists_of_params_come_from_the_schema():
    properties = params.ROUND_SCHEMA["properties"]
    assert tuple(properties) == params.ROUND_KEYS
    assert tuple(properties["notebook"]["enum"]) == params.NOTEBOOKS
    assert params.SECTIONS == (
        "datasets", "data", "model", "train", "predict", "attendance", "runtime", "loggers", "sweep",
    )  # fmt: skip
    assert params.SECTION_KEYS["data"] == ("use", "oversample") and params.SECTION_KEYS["loggers"] == (
        "mlflow",
        "tensorboard",
    )
    assert params.ROUND_ID.pattern == properties["round_id"]["pattern"]


def test_every_shipped_round_and_profile_file_names_its_schema_and_validates():
    validator = validate.Validator()
    shipped = sorted((ROOT / "params").glob("*.yaml")) + sorted((ROOT / "params" / "profiles").glob("*.yaml"))
    rounds = [p for p in shipped if p.parent.name == "params" and params.ROUND_ID.match(p.stem)]
    assert len(rounds) >= 10 and len(shipped) - len(rounds) >= 3
    for path in shipped:
        kind, schema_file = ("round", "round.schema.json") if path in rounds else ("profile", "overlay.schema.json")
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        assert (path.parent / first.split("$schema=")[1]).resolve() == paths.SCHEMAS_DIR / schema_file, path
        assert validator.document_problems(files.read_yaml(path, lines=True), kind) == [], path


# -- collecting: one negative test per rule, with file, line, key and fix --------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HEAD + "exetnds: x\n", (4, "exetnds", "unknown key", "did you mean 'extends'?")),
        (HEAD + "model: {form: x.pt}\n", (4, "model.form", "unknown key", "did you mean 'from'?")),
        (HEAD + "loggers:\n  mlfow: true\n", (5, "loggers.mlfow", "unknown key", "did you mean 'mlflow'?")),
        (HEAD + "why: 5\n", (4, "why", "must be text, got 5", "e.g. why: ")),
        (HEAD + "train: 5\n", (4, "train", "must be a mapping of keys, found 5", "train:\n          key: value")),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune\n",
            (3, "notebook", "unknown notebook '04_tune'", "did you mean '04_tune_round'?"),
        ),
        ("round_id: r02_try\nextends: r01_base\n", (None, "notebook", "missing", "add e.g. 'notebook: 04_tune_round'")),
        ("extends: r01_base\nnotebook: 04_tune_round\n", (None, "round_id", "missing", "add 'round_id: r02_try'")),
        (
            "round_id: r02_other\nextends: r01_base\nnotebook: 04_tune_round\n",
            (1, "round_id", "is 'r02_other', but the file is named 'r02_try.yaml'", "set 'round_id: r02_try'"),
        ),
        (
            HEAD + "runtime:\n  allow_duplicate_openmp: 'TRUE'\n",
            (5, "runtime.allow_duplicate_openmp", "must be true or false, got 'TRUE'", "allow_duplicate_openmp: "),
        ),
        (HEAD + "loggers: {mlflow: 1}\n", (4, "loggers.mlflow", "must be true or false, got 1", "e.g. mlflow: true")),
        (
            HEAD + "datasets:\n  mine: 5\n",
            (5, "datasets.mine", "must be a path to a data.yaml, got 5", "e.g. mine: datasets/my-export/data.yaml"),
        ),
        (
            HEAD + "data: {use: 5}\n",
            (
                4,
                "data.use",
                "must be a dataset name or a list of names, got 5",
                "e.g. use: [classroom_v1, classroom_v2]",
            ),
        ),
        (HEAD + "data: {use: [first, 2]}\n", (4, "data.use", "must be a dataset name or a list of names", "e.g. use:")),
        (
            HEAD + "data: {oversample: 5}\n",
            (4, "data.oversample", "found 5", "oversample:\n          key: value"),
        ),
        (
            HEAD + "data:\n  oversample: {classes: [sitae], target_share: 0.2, traget_share: 1}\n",
            (5, "data.oversample.traget_share", "unknown key", "did you mean 'target_share'?"),
        ),
        (
            HEAD + "data:\n  oversample: {classes: [sitae]}\n",
            (5, "data.oversample.target_share", "missing", "add e.g. 'target_share: 0.25'"),
        ),
        (
            HEAD + "data:\n  oversample:\n    classes: []\n    target_share: 0.2\n",
            (6, "data.oversample.classes", "must be a list of class names, got []", "e.g. classes: [sitae]"),
        ),
        (
            HEAD + "data:\n  oversample:\n    classes: [1]\n    target_share: 0.2\n",
            (6, "data.oversample.classes", "must be a list of class names, got [1]", "e.g. classes: [sitae]"),
        ),
        (
            HEAD + "data:\n  oversample:\n    classes: [sitae]\n    target_share: 1.5\n",
            (7, "data.oversample.target_share", "must be a number between 0 and 1, got 1.5", "target_share: 0.25"),
        ),
        (
            HEAD + "data:\n  oversample:\n    classes: [sitae]\n    target_share: true\n",
            (7, "data.oversample.target_share", "must be a number between 0 and 1, got True", "target_share: 0.25"),
        ),
        (
            HEAD + "predict: {source: [a.mp4]}\n",
            (4, "predict.source", "must be a video, image or folder path", "e.g. source: "),
        ),
        (
            HEAD.replace("r01_base", "r09_gone"),
            (2, "extends", "names round 'r09_gone', but params/r09_gone.yaml does not exist", "name an existing"),
        ),
        (HEAD + "model: {from: r09_gone}\n", (4, "model.from", "names round 'r09_gone'", "name an existing round")),
        (HEAD + "model: {from: w/none.pt}\n", (4, "model.from", "weights file not found", "check the path")),
        (HEAD + "model: {from: yolov8n}\n", (4, "model.from", "neither a round id nor", "e.g. from:")),
        (HEAD + "train:\n  scals: 0.9\n", (5, "train.scals", "not an ultralytics argument", "did you mean 'scale'?")),
        (HEAD + "train:\n  freeze: '10'\n", (5, "train.freeze", "freezes nothing", "write it as an integer")),
        (HEAD + "train:\n  freeze: 23\n", (5, "train.freeze", "freezes all 23 modules of yolov8n.yaml", "at most 22")),
        (HEAD + "data: {use: [nope]}\n", (4, "data.use", "names dataset 'nope', which no", "use one of: first")),
        (
            HEAD + "train:\n  pretrained: w/none.pt\n",
            (5, "train.pretrained", "weights file not found", "check the path"),
        ),
    ],
)
def test_each_rule_reports_file_line_key_and_fix(params_dir, body, expected):
    problems = _problems(params_dir, body)
    assert len(problems) == 1, problems
    name, line, key, message, fix = problems[0]
    assert (name, line, key) == ("r02_try.yaml", *expected[:2]), problems
    assert expected[2] in message and expected[3] in fix, problems


def test_a_round_id_that_is_no_round_id_is_refused_with_the_file_name(params_dir):
    problems = _problems(params_dir, "round_id: R02-try\nnotebook: 04_tune_round\n", name="R02-try")
    assert [(line, key) for _, line, key, *_ in problems] == [(1, "round_id"), (None, "")]
    assert (
        "must be a round id (a letter, two digits" in problems[0][3] and "e.g. round_id: r04_lr_cos" in problems[0][4]
    )
    assert "is not rNN_<slug>.yaml" in problems[1][3]


@pytest.mark.parametrize("key", argrules.RESERVED_TRAIN_KEYS)
def test_every_reserved_train_key_is_refused(params_dir, key):
    problems = _problems(params_dir, HEAD + f"train:\n  {key}: x\n")
    assert problems == [("r02_try.yaml", 5, f"train.{key}", "is set by the workbook", problems[0][4])]
    assert "'model.from' and 'data.use' choose weights and data" in problems[0][4]


@pytest.mark.parametrize("key", argrules.RESERVED_PREDICT_KEYS)
def test_every_reserved_predict_key_is_refused(params_dir, key):
    problems = _problems(params_dir, HEAD + f"predict:\n  {key}: x\n")
    assert problems == [("r02_try.yaml", 5, f"predict.{key}", "is set by the workbook", "remove it")]


def test_training_and_prediction_refuse_the_same_reserved_keys_and_freeze_values():
    """The rules live in config.argrules; training and prediction import them (no copy)."""
    from yolo_workbook.prediction import predict
    from yolo_workbook.training import train

    assert train.RESERVED_TRAIN_KEYS is argrules.RESERVED_TRAIN_KEYS
    assert predict.RESERVED_PREDICT_KEYS is argrules.RESERVED_PREDICT_KEYS
    assert {"mode", "task"} <= set(argrules.RESERVED_PREDICT_KEYS)
    rnd = params.load_round("r04_lr_cos", profile="ci", use_local=False)
    for key, value in (("freeze", "10"), ("freeze", -2), ("resume", True)):
        rnd.train[key] = value
        message, fix = argrules.argument_problem(key, value, section="train")
        with pytest.raises(ParamsError) as info:
            train.check_train_args(rnd)
        assert info.value.message.endswith(f"train.{key} {message}") and info.value.fix == fix
        del rnd.train[key]


def test_weights_from_problem_is_the_one_model_from_rule(params_dir):
    write(params_dir, "r01_base.yaml", BASE)
    assert schema.weights_from_problem("", params_dir)[0] == "is not set: no starting weights"
    assert "names round 'r09_gone'" in schema.weights_from_problem("r09_gone", params_dir)[0]
    assert schema.weights_from_problem("r01_base", params_dir) is None
    assert schema.weights_from_problem("yolov8n.pt", params_dir) is None  # downloaded when missing
    assert "weights file not found" in schema.weights_from_problem("w/none.pt", params_dir)[0]


def test_profile_and_local_rules(params_dir):
    profile = "profile: fast\ntrian: {}\nrounds:\n  r02_try:\n    why: faster\n    train: {epochs: 2.5}\n"
    local = "profile: mine\nloggers: {mlflow: 'on'}\n"
    problems = _problems(params_dir, HEAD, fast=profile, local=local)
    found = [(name, line, key, message) for name, line, key, message, _ in problems]
    assert found == [
        ("fast.yaml", 2, "trian", "unknown key"),
        ("fast.yaml", 5, "rounds.r02_try.why", "cannot be set by a profile"),
        ("fast.yaml", 6, "rounds.r02_try.train.epochs", "must be an integer, got float 2.5"),
        ("local.yaml", 1, "profile", "unknown key"),
        ("local.yaml", 2, "loggers.mlflow", "must be true or false, got 'on'"),
    ]


def test_a_file_that_is_not_a_mapping(params_dir):
    assert _problems(params_dir, "- a\n- b\n")[0][1:4] == (1, "", "expected 'key: value' lines, found list")


# -- collecting and raising ------------------------------------------------------------------------

MANY = (
    HEAD.replace("04_tune_round", "04_tune")
    + "exetnds: x\nloggers: {mlflow: 'yes'}\ntrain:\n  project: runs\n  scals: 0.9\n"
)


def test_collecting_mode_returns_every_problem_of_a_file_with_its_line(params_dir):
    problems = _problems(params_dir, MANY)
    assert [(line, key) for _, line, key, *_ in problems] == [
        (3, "notebook"),
        (4, "exetnds"),
        (5, "loggers.mlflow"),
        (7, "train.project"),
        (8, "train.scals"),
    ]


def test_raising_mode_raises_the_first_error_and_check_raises_them_all(params_dir):
    _problems(params_dir, MANY)
    with pytest.raises(ParamsError, match=r"(?s)r02_try.yaml:3: notebook: unknown notebook '04_tune'.*'04_tune_round'"):
        params.load_round("r02_try", params_dir=params_dir, check=False)
    with pytest.raises(ParamsError) as info:
        params.load_round("r02_try", params_dir=params_dir)
    assert info.value.message.startswith("round 'r02_try' has 5 problem(s); nothing was run:")
    assert "r02_try.yaml:8: error: train.scals:" in info.value.message
    assert "yolo-workbook check params/r02_try.yaml" in info.value.fix


def test_shape_only_loading_leaves_the_argument_rules_to_training(params_dir):
    """``check=False`` checks the shape; the values (here a reserved key) are for the full check and train."""
    _problems(params_dir, HEAD + "train:\n  project: runs\n")
    assert params.load_round("r02_try", params_dir=params_dir, check=False).train == {"epochs": 50, "project": "runs"}


def test_injected_values_are_checked_like_a_file(params_dir):
    _problems(params_dir, HEAD)
    injected = {"loggers": {"mlflow": "yes"}}
    with pytest.raises(ParamsError, match=r"overrides \(papermill -p or command line\): loggers.mlflow: must be true"):
        params.load_round("r02_try", params_dir=params_dir, injected=injected, check=False)
    with pytest.raises(ParamsError, match=r"(?s)has 1 problem.*data.usee: unknown key.*'use'"):
        params.load_round("r02_try", params_dir=params_dir, injected={"data": {"usee": ["first"]}})


def test_each_file_of_a_round_is_parsed_once_per_load(monkeypatch, session_params):
    parsed: Counter[Path] = Counter()
    read_yaml = files.read_yaml

    def counting(path: Path, **kwargs):
        parsed[Path(path).resolve()] += 1
        return read_yaml(path, **kwargs)

    monkeypatch.setattr(files, "read_yaml", counting)
    params.load_round("r04_lr_cos", profile="ci")  # every check: the lineage of model.from and the classes too
    folder = session_params.resolve()
    ours = {path.relative_to(folder).as_posix(): n for path, n in parsed.items() if path.is_relative_to(folder)}
    chain = ["r01_base.yaml", "r02_freeze_new_data.yaml", "r03_merge.yaml", "r04_lr_cos.yaml", "profiles/ci.yaml"]
    assert ours == dict.fromkeys(chain, 1)


def test_the_round_validator_imports_jsonschema_through_core_schemas():
    """Its slow optional import (core.schemas) stays out of every process that checks a round."""
    code = "; ".join(
        [
            "import sys",
            "from yolo_workbook.config import schema",
            "schema.validator_for('round')",
            "print('lark' in sys.modules)",
        ]
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False"]


def test_a_round_id_injected_as_model_from_is_looked_up_among_the_round_files(params_copy):
    """papermill -p model '{from: r01_base}': the round id is found in the params folder in use, not the cwd."""
    rnd = params.load_round("p01_video", profile="ci", use_local=False, injected={"model": {"from": "r01_base"}})
    assert rnd.weights_from == "r01_base"
