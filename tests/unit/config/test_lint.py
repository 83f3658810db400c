"""lint (`yolo-workbook check`): one negative test per rule, with file, line, key, fix and exit code."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_ROUND, cli, write

from yolo_workbook.config import explain, lint, params
from yolo_workbook.core.errors import ParamsError

BASE = BASE_ROUND  # the root of the small lineages these tests write


def _check(params_dir: Path, body: str, *, name: str = "r02_try") -> list[lint.Problem]:
    write(params_dir, "r01_base.yaml", BASE)
    write(params_dir, f"{name}.yaml", body)
    return lint.check_rounds([params_dir / f"{name}.yaml"], params_dir=params_dir, use_local=False)


def _round(train: str, extra: str = "") -> str:
    return f"round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {{from: r01_base}}\n{extra}train:\n{train}"


@pytest.mark.parametrize(
    ("train", "line", "key", "message", "fix"),
    [
        ("  cor_lr: true\n", 6, "train.cor_lr", "not an ultralytics argument", "did you mean 'cos_lr'?"),
        ("  close_mosic: 5\n", 6, "train.close_mosic", "not an ultralytics argument", "did you mean 'close_mosaic'?"),
        ("  scals: 0.9\n", 6, "train.scals", "not an ultralytics argument", "did you mean 'scale'?"),
        ("  epochs: 3\n  cls: 3.1,\n", 7, "train.cls", "'3.1,' is text, not a number", "write 3.1"),
        ("  freeze: '10'\n", 6, "train.freeze", "freezes nothing", "write it as an integer"),
        ("  freeze: 6.0\n", 6, "train.freeze", "freezes nothing", "write it as an integer"),
        ("  lr0: '0.01'\n", 6, "train.lr0", "must be a number in [0, 1]", "e.g. lr0: 0.01"),
        ("  flipud: 1.5\n", 6, "train.flipud", "1.5 is outside [0, 1]", "e.g. flipud:"),
        ("  close_mosaic: 5.5\n", 6, "train.close_mosaic", "must be an integer", "e.g. close_mosaic:"),
        ("  epochs: 0\n", 6, "train.epochs", "must be >= 1", "e.g. epochs:"),
        ("  cos_lr: 'yes'\n", 6, "train.cos_lr", "must be true or false", "cos_lr: true"),
        ("  optimizer: 3\n", 6, "train.optimizer", "must be text", "optimizer"),
        ("  project: runs\n", 6, "train.project", "is set by the workbook", "remove it"),
        ("  epochs:\n", 6, "train.epochs", "is empty", "remove the key to use ultralytics' default (100), or give"),
        ("  device: cuda:O\n", 6, "train.device", "'cuda:O' is not a device", "did you mean 'cuda:0'?"),
        ("  device: gpu\n", 6, "train.device", "'gpu' is not a device", "did you mean 'cuda:0'?"),
        ("  optimizer: adam_w\n", 6, "train.optimizer", "not an optimizer", "did you mean 'AdamW'?"),
        ("  imgsz: 640.0\n", 6, "train.imgsz", "must be an integer", "imgsz: 640"),
        ("  batch: 16.0\n", 6, "train.batch", "not a whole batch size", "batch: 16"),
        ("  workers: -1\n", 6, "train.workers", "must be >= 0", "workers: 8"),
        ("  split: valid\n", 6, "train.split", "not a dataset split", "did you mean 'val'?"),
        ("  fraction: 0\n", 6, "train.fraction", "neither a ratio", "fraction: 0.5"),
        ("  cache: memory\n", 6, "train.cache", "silently caches nothing", "cache: ram"),
        ("  classes: [sitae]\n", 6, "train.classes", "class ids", "classes: [0, 2]"),
        ("  freeze: -2\n", 6, "train.freeze", "freezes nothing", "freeze: 10"),
        ("  copy_paste_mode: Flip\n", 6, "train.copy_paste_mode", "not a copy-paste mode", "did you mean 'flip'?"),
        ("  pretrained: w/none.pt\n", 6, "train.pretrained", "weights file not found", "check the path"),
    ],
)
def test_train_argument_rules(params_dir, train, line, key, message, fix):
    problems = _check(params_dir, _round(train))
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.level, problem.line, problem.key) == ("error", line, key)
    assert problem.file.endswith("r02_try.yaml")
    assert message in problem.message and fix in problem.fix


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nexetnds: x\n", "exetnds", "unknown key"),
        ("round_id: r02_other\nextends: r01_base\nnotebook: 04_tune_round\n", "round_id", "is 'r02_other'"),
        ("round_id: r02_try\nextends: r01_base\nnotebook: 04_tune\n", "notebook", "unknown notebook"),
        ("round_id: r02_try\nextends: r09_gone\nnotebook: 04_tune_round\n", "extends", "r09_gone.yaml does not exist"),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {from: r09_gone}\n",
            "model.from",
            "names round 'r09_gone'",
        ),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {from: w/none.pt}\n",
            "model.from",
            "weights file not found",
        ),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {form: x.pt}\n",
            "model.form",
            "unknown key",
        ),
        ("round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\ntrain: 5\n", "train", "must be a mapping"),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 05_predict_json\npredict: {conf: 1.2}\n",
            "predict.conf",
            "outside [0, 1]",
        ),
        (
            "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\ndata: {use: [nope]}\n",
            "data.use",
            "dataset 'nope'",
        ),
    ],
)
def test_round_file_rules(params_dir, body, key, message):
    problems = _check(params_dir, body)
    assert any(p.level == "error" and p.key == key and message in p.message for p in problems), problems


@pytest.mark.parametrize("train", ["  time:\n", "  device:\n", "  freeze:\n", "  device: 0,1\n", "  device: -1\n"])
def test_empty_and_well_formed_values_that_ultralytics_takes_pass(params_dir, train):
    assert _check(params_dir, _round(train)) == []


@pytest.mark.parametrize(
    ("name", "text", "line", "key", "default"),
    [
        ("r02_try.yaml", _round("  epochs: 3\n", "predict:\n  iou:\n"), 6, "predict.iou", "(0.7)"),
        ("profiles/fast.yaml", "profile: fast\ntrain:\n  batch:\n", 3, "train.batch", "(16)"),
        (
            "profiles/fast.yaml",
            "rounds:\n  r02_try:\n    train:\n      lr0:\n",
            4,
            "rounds.r02_try.train.lr0",
            "(0.01)",
        ),
        ("local.yaml", "predict:\n  imgsz:\n", 2, "predict.imgsz", "(640)"),
    ],
)
def test_an_empty_value_in_any_file_names_the_file_line_and_default(params_dir, name, text, line, key, default):
    write(params_dir, "r01_base.yaml", BASE)
    write(params_dir, "r02_try.yaml", _round("  epochs: 3\n"))
    write(params_dir, name, text)
    problems = lint.check_rounds(profile="fast" if "fast" in name else "", params_dir=params_dir)
    assert [(Path(p.file).name, p.line, p.key) for p in problems] == [(Path(name).name, line, key)], problems
    assert problems[0].fix == f"remove the key to use ultralytics' default {default}, or give a value"


def test_a_draft_outside_params_gets_every_check_of_a_round_in_params(params_dir, tmp_path):
    """Its extends, overlays and resolved values are checked against params/; problems name the draft."""
    write(params_dir, "r01_base.yaml", BASE)
    draft = write(tmp_path / "drafts", "r02_try.yaml", _round("  lr0: 0.02\n"))
    problems = lint.check_rounds([draft], params_dir=params_dir, use_local=False)
    assert [(p.level, Path(p.file), p.line, p.key) for p in problems] == [("warning", draft, 6, "train.lr0")]
    assert "ignored because optimizer is 'auto'" in problems[0].message


def test_a_draft_that_closes_an_extends_cycle_fails_the_check(params_dir, tmp_path):
    write(params_dir, "r01_base.yaml", BASE)
    write(params_dir, "r02_a.yaml", "round_id: r02_a\nextends: r03_b\nnotebook: 04_tune_round\n")
    draft = write(tmp_path / "drafts", "r03_b.yaml", "round_id: r03_b\nextends: r02_a\nnotebook: 04_tune_round\n")
    problems = lint.check_rounds([draft], params_dir=params_dir, use_local=False)
    assert [(p.level, Path(p.file)) for p in problems] == [("error", draft)]
    assert "'extends' makes a cycle: r03_b -> r02_a -> r03_b" in problems[0].message
    done = cli("check", str(draft), env={"YOLO_WORKBOOK_PARAMS": str(params_dir)})
    assert done.returncode == 1 and "makes a cycle" in done.stdout and "ok: no problems" not in done.stdout


def test_every_problem_is_reported_at_once(params_dir):
    problems = _check(params_dir, _round("  cor_lr: true\n  scals: 0.9\n  cls: 3.1,\n  freeze: '10'\n", "trian: {}\n"))
    assert [p.key for p in problems] == ["trian", "train.cor_lr", "train.scals", "train.cls", "train.freeze"]


def test_yaml_syntax_error_names_the_line(params_dir):
    problems = _check(params_dir, "round_id: r02_try\ntrain:\n  epochs: [1\n")
    assert problems[0].line == 4 and "not valid YAML" in problems[0].message


def test_file_name_must_be_a_round_id(params_dir):
    problems = _check(params_dir, "round_id: Round-2\nnotebook: 04_tune_round\n", name="Round-2")
    assert any("is not rNN_<slug>.yaml" in p.message for p in problems)


def test_lr0_with_optimizer_auto_is_a_warning_with_the_fix(params_dir):
    problems = _check(params_dir, _round("  lr0: 0.01\n  momentum: 0.9\n"))
    assert [(p.level, p.key) for p in problems] == [("warning", "train.lr0"), ("warning", "train.momentum")]
    assert "ignored because optimizer is 'auto'" in problems[0].message and "optimizer: SGD" in problems[0].fix
    assert not _check(params_dir, _round("  lr0: 0.01\n  optimizer: SGD\n"))


def test_profile_and_local_overlays_are_checked(params_dir):
    write(params_dir, "r01_base.yaml", BASE)
    write(
        params_dir,
        "profiles/fast.yaml",
        "profile: fast\ntrain:\n  epoch: 3\nrounds:\n  r01_base:\n    train: {epochs: 2.5}\n",
    )
    write(params_dir, "local.yaml", "train:\n  device: 0\ndatsets: {}\n")
    problems = lint.check_rounds(profile="fast", params_dir=params_dir)
    found = {(Path(p.file).name, p.line, p.key) for p in problems}
    assert ("fast.yaml", 3, "train.epoch") in found
    assert ("fast.yaml", 6, "rounds.r01_base.train.epochs") in found  # a profile's per-round part, with its own line
    assert ("local.yaml", 3, "datsets") in found


def test_repository_rounds_pass_with_only_the_lr0_warnings():
    for profile in ("", "demo", "ci", "bench"):
        problems = lint.check_rounds(profile=profile, use_local=False)
        # bench lowers train.epochs to 3 and gives r09's sweep the same budget: no budget warning anywhere
        assert all(p.level == "warning" and p.key == "train.lr0" for p in problems), problems
    assert len(lint.check_rounds(use_local=False)) == 3  # r01 (inherited by r02, r03), r04 (by r05, r06), r07


def test_check_cli_exit_codes_for_the_repository_and_a_bad_draft(params_dir):
    done = cli("check")
    assert done.returncode == 0 and "0 error(s), 3 warning(s)" in done.stdout
    _check(params_dir, _round("  scals: 0.9\n"))
    bad = cli("check", str(params_dir / "r02_try.yaml"))
    assert bad.returncode == 1 and "did you mean 'scale'?" in bad.stdout and "1 error(s)" in bad.stdout


def test_check_does_not_import_torch_and_takes_under_a_second():
    code = (
        "import sys, time; t = time.time(); from yolo_workbook.config.lint import check_rounds;"
        "check_rounds(profile='demo', use_local=False); print(time.time() - t, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False" and float(out[0]) < 1.0


DIARY = {  # the diary's commands (typos corrected), keyed by round
    "r01_base": "yolo train model=yolov8n.pt data=data.yaml epochs=50 imgsz=640 batch=16 pretrained=True lr0=0.001",
    "r02_freeze_new_data": "yolo train model=sajeon_haksup.pt data=data.yaml epochs=50 imgsz=640 batch=16 pretrained=True lr0=0.001 freeze=10",
    "r03_merge": "yolo train model=sajeon_haksup2.pt data=data.yaml epochs=100 imgsz=640 batch=16 pretrained=True lr0=0.001 freeze=10",
    "r04_lr_cos": "yolo train model=sajeon_haksup2.pt data=data.yaml epochs=100 imgsz=640 batch=16 pretrained=True lr0=0.01 freeze=10 cos_lr=True",
    "r05_augment": "yolo train model=sajeon_haksup2.pt data=data.yaml epochs=100 imgsz=640 batch=16 pretrained=True lr0=0.01 freeze=10 cos_lr=True close_mosaic=5 flipud=0.5 degrees=10.0 translate=0.2 scale=0.9",
    "r06_cls_weight": "yolo train model=sajeon_haksup2.pt data=data.yaml epochs=100 imgsz=640 batch=16 pretrained=True lr0=0.01 freeze=10 cos_lr=True close_mosaic=5 flipud=0.5 degrees=10.0 translate=0.2 scale=0.9 cls=3.1 box=0.15",
    "r07_lr_freeze6": "yolo train model=sajeon_haksup2.pt data=data.yaml epochs=100 imgsz=640 batch=16 pretrained=True lr0=0.001 freeze=6 cos_lr=True close_mosaic=5 flipud=0.5 degrees=10.0 translate=0.2 scale=0.9 cls=3.1 box=0.15",
}
WEIGHTS = {"yolov8n.pt": "yolov8n.pt", "sajeon_haksup.pt": "r01_base", "sajeon_haksup2.pt": "r02_freeze_new_data"}


@pytest.mark.parametrize("round_id", sorted(DIARY))
def test_resolve_as_cli_gives_back_the_diary_command(round_id, outputs):
    done = cli("resolve", f"params/{round_id}.yaml", "--as-cli", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 0, done.stderr
    ours = dict(arg.split("=", 1) for arg in shlex.split(done.stdout)[2:])
    diary = dict(arg.split("=", 1) for arg in DIARY[round_id].split()[2:])
    parent = WEIGHTS[diary.pop("model")]
    expected_model = parent if parent.endswith(".pt") else str(outputs / "default" / parent / "train/weights/best.pt")
    assert ours.pop("model") == expected_model
    assert ours.pop("data").endswith("data.yaml") and diary.pop("data") == "data.yaml"
    assert ours.pop("project") == str(outputs / "default" / round_id) and ours.pop("name") == "train"
    assert ours == diary
    assert list(ours) == list(diary)  # same order as the diary


def test_diff_lists_added_removed_and_changed_keys():
    r03 = params.load_round("r03_merge", check=False, use_local=False)
    r07 = params.load_round("r07_lr_freeze6", check=False, use_local=False)
    text = explain.format_diff(r03, r07)
    assert "~ train.freeze: 10 -> 6" in text and "+ train.cls: 3.1" in text and "lr0" not in text
    assert "- train.cls: 3.1" in explain.format_diff(r07, r03)
    r08 = params.load_round("r08_rare_class", check=False, use_local=False)
    assert "+ data.oversample: {'classes': ['sitae'], 'target_share': 0.2}" in explain.format_diff(r03, r08)
    done = cli("diff", "r03_merge", "params/r04_lr_cos.yaml")
    assert (
        done.returncode == 0 and "~ train.lr0: 0.001 -> 0.01" in done.stdout and "+ train.cos_lr: True" in done.stdout
    )


def test_notebook_refuses_a_bad_round_before_training(ci_data, params_copy, outputs):
    """The notebook's load step runs the same check and stops, so its training step writes nothing.

    ultralytics takes optimizer 'adam_w' until it builds the optimizer, after the round's folder is made:
    without the check, the training cell would write under outputs/ and fail later.
    """
    from yolo_workbook.training.train import train_round

    draft = "round_id: r02_try\nextends: r01_base\nnotebook: 04_tune_round\nmodel: {from: yolov8n.yaml}\n"
    write(params_copy, "r02_try.yaml", draft + "train:\n  optimizer: adam_w\n")  # on the ci data: it would train
    with pytest.raises(ParamsError, match=r"(?s)has 1 problem.*'adam_w' is not an optimizer.*'AdamW'"):
        rnd = params.load_round("r02_try", profile="ci", for_notebook="04_tune_round")  # the load cell
        train_round(rnd)  # the training cell
    assert not outputs.exists()


def test_runner_refuses_a_bad_profile_value_before_any_kernel(tmp_path, outputs):
    done = cli("run", "params/r01_base.yaml", "--profile", "nope")
    assert done.returncode == 1 and "profile 'nope' not found" in done.stderr
    assert "Traceback" not in done.stderr
