"""Class order between starting weights and data: what the head's rows become, said and checked."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import cli

from yolo_workbook.config.classmap import head_transfer

V1 = ["student", "desk", "sitae"]  # the first export's order, learned by r01
V2 = ["desk", "student", "sitae"]  # the second export's order


@pytest.mark.parametrize(
    ("weights", "data", "remap", "how", "moved", "only_weights", "only_data"),
    [
        (V1, V1, True, "same", [], [], []),
        (V1, V2, True, "remapped", [["desk", 1, 0], ["student", 0, 1]], [], []),
        (V1, ["Desk ", "student", "sitae"], True, "remapped", [["Desk ", 1, 0], ["student", 0, 1]], [], []),
        (V1, V2, False, "by position", [["desk", 1, 0], ["student", 0, 1]], [], []),
        (V1, ["desk", "student"], True, "remapped", [["desk", 1, 0], ["student", 0, 1]], ["sitae"], []),
        (V1, ["student", "desk", "sitae", "teacher"], True, "remapped", [], [], ["teacher"]),
        (["person", "car"], V1, True, "not carried", [], ["person", "car"], V1),
    ],
)
def test_head_transfer_follows_ultralytics_rule(weights, data, remap, how, moved, only_weights, only_data):
    transfer = head_transfer(weights, data, cls_remap=remap)
    assert (transfer["how"], transfer["moved"]) == (how, moved)
    assert (transfer["only_in_weights"], transfer["only_in_data"]) == (only_weights, only_data)


def test_head_transfer_says_it_in_words():
    assert head_transfer(V1, V2)["text"] == "head rows remapped by name: desk 1->0, student 0->1"
    assert head_transfer(V1, V2, cls_remap=False)["text"] == (
        "head rows copied by position (cls_remap is off):"
        " desk starts from student's row, student starts from desk's row"
    )
    assert "in the weights but not in the data (dropped): sitae" in head_transfer(V1, ["desk", "student"])["text"]
    assert head_transfer(["0", "1", "2"], V1) is None  # a model built from a yaml: no names to carry


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_check_warns_when_cls_remap_is_off_and_the_order_differs(ci_data, params_copy):
    _edit(params_copy / "r02_freeze_new_data.yaml", lambda d: d["train"].update(cls_remap=False))
    done = cli("check", str(params_copy / "r02_freeze_new_data.yaml"), "--profile", "ci")
    assert done.returncode == 0, done.stdout  # a warning: the round runs, but look
    assert re.search(
        r"r02_freeze_new_data.yaml:\d+: warning: train.cls_remap: r02_freeze_new_data: the data", done.stdout
    )
    assert "desk starts from student's row" in done.stdout and "remove 'cls_remap: false'" in done.stdout


def test_check_names_classes_that_only_the_weights_or_the_data_have(ci_data, params_copy, tmp_path):
    renamed = tmp_path / "v2" / "data.yaml"
    content = yaml.safe_load(ci_data["second"].read_text(encoding="utf-8"))
    content["names"] = ["desk", "pupil", "sitae"]
    content["path"] = str(ci_data["second"].parent)
    renamed.parent.mkdir()
    renamed.write_text(yaml.safe_dump(content), encoding="utf-8")
    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["datasets"].update(classroom_v2=str(renamed)))
    done = cli("check", str(params_copy / "r02_freeze_new_data.yaml"), "--profile", "ci")
    assert "warning: model.from: r02_freeze_new_data: classes differ: student in the weights of r01_base" in done.stdout
    assert "pupil in the data, not in the weights (learned anew)" in done.stdout


@pytest.mark.notebook
@pytest.mark.slow
def test_a_round_records_how_the_head_followed_the_class_names(ci_pipeline):
    r02 = ci_pipeline / "ci" / "r02_freeze_new_data"
    transfer = json.loads((r02 / "metrics.json").read_text())["class_transfer"]
    assert transfer["how"] == "remapped" and transfer["moved"] == [["desk", 1, 0], ["student", 0, 1]]
    notebook = (r02 / "03_finetune.ipynb").read_text(encoding="utf-8")
    assert "head rows remapped by name: desk 1->0, student 0->1" in notebook  # the description and the record
    assert "Remapped 3/3 cls head rows from pretrained weights by class name" in notebook  # what ultralytics did
    r03 = json.loads((ci_pipeline / "ci" / "r03_merge" / "metrics.json").read_text())["class_transfer"]
    assert r03["moved"] == [["student", 1, 0], ["desk", 0, 1]]  # the merge keeps the first export's order
    assert json.loads((ci_pipeline / "ci" / "r01_base" / "metrics.json").read_text())["class_transfer"] is None
