"""classnames: every class a round names (data.oversample.classes, a sweep objective's class, a per-class
predict.conf) is one of its data's class names, in `yolo-workbook check`, with file, line, key, a close match and
the data's names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write

from yolo_workbook.config import lint
from yolo_workbook.core.problems import Problem

CLASS_KEYS = ("data.oversample.classes", "sweep.objective")


def _data_yaml(folder: Path, names: list[str]) -> Path:
    return write(folder, "data.yaml", f"train: train/images\nval: valid/images\nnc: {len(names)}\nnames: {names}\n")


def _check(params_dir: Path, data_yaml: Path | str, body: str) -> list[Problem]:
    base = (
        f"round_id: r01_base\nnotebook: 02_base_train\ndatasets: {{a: {data_yaml}}}\ndata: {{use: [a]}}\n"
        "model: {from: yolov8n.yaml}\ntrain: {epochs: 5, optimizer: SGD}\n"
    )
    write(params_dir, "r01_base.yaml", base)
    write(params_dir, "r02_try.yaml", "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\n" + body)
    return lint.check_rounds([params_dir / "r02_try.yaml"], params_dir=params_dir, use_local=False)


@pytest.mark.parametrize(
    ("body", "key", "fix"),
    [
        (
            "data:\n  oversample:\n    classes: [student, sitea]\n    target_share: 0.2\n",
            "data.oversample.classes",
            "did you mean 'sitae'? e.g. classes: [student, sitae]",
        ),
        (
            "sweep:\n  space: {lr0: [0.01, 0.02]}\n  objective: sitea AP50-95\n",
            "sweep.objective",
            "did you mean 'sitae'? e.g. objective: sitae AP50-95",
        ),
    ],
)
def test_a_class_the_data_lacks_is_an_error_with_a_close_match(params_dir, tmp_path, body, key, fix):
    data = _data_yaml(tmp_path / "data", ["student", "desk", "sitae"])
    problems = _check(params_dir, data, body)
    assert [(p.level, Path(p.file).name, p.line, p.key) for p in problems] == [("error", "r02_try.yaml", 6, key)]
    assert problems[0].message == (
        "r02_try: names class 'sitea', which its data (a) does not have; the data's classes: student, desk, sitae"
    )
    assert problems[0].fix == fix


def test_the_repository_rounds_against_data_without_their_classes(params_copy, tmp_path):
    # A new user's own export, classes person, chair, bag: round 8 oversamples sitae, round 9 optimises its AP50.
    data = _data_yaml(tmp_path / "mine", ["person", "chair", "bag"])
    profile = f"profile: mine\ndatasets:\n  classroom_v1: {data}\n  classroom_v2: {data}\n"
    write(params_copy, "profiles/mine.yaml", profile)
    problems = [p for p in lint.check_rounds(profile="mine", use_local=False) if p.key in CLASS_KEYS]
    assert [(p.level, Path(p.file).name, p.line, p.key) for p in problems] == [
        ("error", "r08_rare_class.yaml", 13, "data.oversample.classes"),
        ("error", "r09_sweep_sitae.yaml", 20, "sweep.objective"),
    ]
    names = "which its data (classroom_v1, classroom_v2) does not have; the data's classes: person, chair, bag"
    assert problems[0].message == f"r08_rare_class: names class 'sitae', {names}"
    assert problems[0].fix == "name classes the data has, or train on data that has 'sitae' (data.use)"
    assert problems[1].message == f"r09_sweep_sitae: names class 'sitae', {names}"
    assert problems[1].fix == "name a class the data has, e.g. objective: person AP50, or optimise mAP50-95"


def test_data_that_is_not_there_yet_says_nothing_about_classes(params_dir, tmp_path):
    sweep = "sweep:\n  space: {lr0: [0.01, 0.02]}\n  objective: sitea AP50\n"
    oversample = "data:\n  oversample:\n    classes: [sitea]\n    target_share: 0.2\n"
    assert _check(params_dir, tmp_path / "not_generated" / "data.yaml", sweep + oversample) == []


def test_classes_the_data_has_pass(params_dir, tmp_path):
    data = _data_yaml(tmp_path / "data", ["student", "desk", "sitae"])
    sweep = "sweep:\n  space: {lr0: [0.01, 0.02]}\n  objective: sitae AP50\n"
    oversample = "data:\n  oversample:\n    classes: [sitae, desk]\n    target_share: 0.2\n"
    assert _check(params_dir, data, sweep + oversample) == []


def _check_predict(params_dir: Path, data_yaml: Path, predict: str) -> list[Problem]:
    _check(params_dir, data_yaml, "")
    body = "round_id: p01_video\nnotebook: 05_predict_json\nmodel: {from: r02_try}\npredict:\n" + predict
    write(params_dir, "p01_video.yaml", body)
    return lint.check_rounds([params_dir / "p01_video.yaml"], params_dir=params_dir, use_local=False)


def test_a_per_class_conf_naming_a_class_the_model_lacks_is_an_error(params_dir, tmp_path):
    data = _data_yaml(tmp_path / "data", ["student", "desk", "sitae"])
    problems = _check_predict(params_dir, data, "  source: clip.mp4\n  conf: {student: 0.35, sitea: 0.2}\n")
    assert [(p.level, Path(p.file).name, p.line, p.key) for p in problems] == [
        ("error", "p01_video.yaml", 6, "predict.conf")
    ]
    assert problems[0].message == (
        "p01_video: gives a confidence to class 'sitea', which the model (r02_try) does not have;"
        " its classes: student, desk, sitae"
    )
    assert problems[0].fix == "did you mean 'sitae'?"


def test_a_per_class_conf_outside_zero_to_one_is_an_error(params_dir, tmp_path):
    data = _data_yaml(tmp_path / "data", ["student", "desk", "sitae"])
    problems = _check_predict(params_dir, data, "  source: clip.mp4\n  conf: {student: 1.5}\n")
    assert [(p.key, p.message) for p in problems] == [
        ("predict.conf", "gives class 'student' the confidence 1.5, outside [0, 1]")
    ]


def test_a_per_class_conf_of_the_models_classes_passes(params_dir, tmp_path):
    data = _data_yaml(tmp_path / "data", ["student", "desk", "sitae"])
    assert _check_predict(params_dir, data, "  source: clip.mp4\n  conf: {student: 0.35, sitae: 0.2}\n") == []
