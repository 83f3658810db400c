"""Drafting the next round (the editor widget's logic): id, draft, live check, safe write."""

from __future__ import annotations

import pytest

from yolo_workbook.config import params
from yolo_workbook.config.params import load_round
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.prediction.detections import Detections
from yolo_workbook.ui import editor, widgets


def test_parse_value_reads_fields_as_yaml():
    assert editor.parse_value("0.005") == 0.005 and editor.parse_value("true") is True
    assert editor.parse_value("SGD") == "SGD" and editor.parse_value("  ") is None
    assert editor.parse_value("[0, 1") == "[0, 1"  # not YAML: kept as text, the check then explains


def test_next_round_id_takes_the_first_free_number_after_the_current_round(params_copy):
    assert params.next_round_id("r08_rare_class", "lower_lr") == "r10_lower_lr"  # r09 is taken
    assert params.next_round_id("r04_lr_cos", "x") == "r10_x"  # r05..r09 are taken
    assert editor.slug_for("Lower the LR for sitae!", {}) == "lower_the_lr_for"
    assert editor.slug_for("시태 AP를 올린다", {"lr0": 0.005, "cls_pw": 0.5}) == "lr0_cls_pw"


def test_a_draft_extends_the_current_round_and_holds_only_the_changes(params_copy):
    current = load_round("r04_lr_cos", profile="demo")
    text = editor.draft_text(current, "r09_sgd", why="SGD with a lower lr0", changes={"optimizer": "SGD", "lr0": 0.005})
    assert editor.check_draft(text, "r09_sgd", profile="demo") == []
    path = editor.write_draft(text, "r09_sgd")
    assert path == params_copy / "r09_sgd.yaml"
    written = load_round("r09_sgd", profile="demo")
    assert written.chain[-2:] == ["r04_lr_cos", "r09_sgd"] and written.notebook == "04_tune_round"
    assert written.train["optimizer"] == "SGD" and written.train["lr0"] == 0.005
    assert written.train["cos_lr"] is True  # inherited from r04
    assert "train:\n  optimizer: SGD\n  lr0: 0.005\n" in path.read_text(encoding="utf-8")


def test_the_live_check_names_the_key_and_the_fix(params_copy):
    current = load_round("r04_lr_cos", profile="demo")
    text = editor.draft_text(current, "r09_bad", why="typo", changes={"lr0": "abc", "clse_pw": 0.5})
    problems = editor.check_draft(text, "r09_bad", profile="demo")
    by_key = {p.key: p for p in problems if p.level == "error"}
    assert set(by_key) == {"train.lr0", "train.clse_pw"}
    assert by_key["train.lr0"].file == "params/r09_bad.yaml" and by_key["train.lr0"].line == 7
    assert "did you mean 'cls_pw'?" in by_key["train.clse_pw"].fix
    assert not (params_copy / "r09_bad.yaml").exists()  # checking writes nothing


def test_lr0_without_an_optimizer_is_a_warning_in_the_draft(params_copy):
    current = load_round("r04_lr_cos", profile="demo")
    text = editor.draft_text(current, "r09_lr", why="lower lr", changes={"lr0": 0.002})
    (warning,) = editor.check_draft(text, "r09_lr", profile="demo")
    assert warning.level == "warning" and warning.key == "train.lr0" and "optimizer" in warning.fix


def test_writing_never_replaces_a_round_file(params_copy):
    current = load_round("r04_lr_cos", profile="demo")
    before = (params_copy / "r05_augment.yaml").read_text(encoding="utf-8")
    text = editor.draft_text(current, "r05_augment", why="clash", changes={"epochs": 3})
    assert editor.check_draft(text, "r05_augment")[0].message == "exists already"
    with pytest.raises(ParamsError, match="exists already; nothing was written"):
        editor.write_draft(text, "r05_augment")
    assert (params_copy / "r05_augment.yaml").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in params_copy.glob(".*")) == []  # no temporary file left behind


def test_widgets_step_aside_when_headless(capsys, params_copy):
    current = load_round("r04_lr_cos", profile="demo")
    assert widgets.round_editor(current) is None
    assert "open this notebook in JupyterLab" in capsys.readouterr().out
    assert widgets.frame_browser([Detections(0)], "missing.mp4") is None


def test_draw_detections_draws_boxes_in_class_colours():
    import numpy as np
    from PIL import Image

    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    det = {"class": "학생", "confidence": 0.9, "bbox": [20, 30, 100, 110]}
    jpeg = widgets.draw_detections(frame, Detections.from_record({"frame_id": 0, "detections": [det]}), ["학생"])
    picture = np.asarray(Image.open(__import__("io").BytesIO(jpeg)).convert("RGB")).astype(int)
    assert picture.shape == (120, 160, 3)
    assert picture[70, 20].sum() > 200 and picture[70, 60].sum() < 30  # the box edge is drawn, its inside is not
