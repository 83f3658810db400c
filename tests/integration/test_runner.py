"""runner and CLI: every notebook through papermill on the ci profile, and clear errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import nbformat
import pytest
import yaml
from conftest import BIN, ROOT, ROUNDS, child_environment, cli

from yolo_workbook.config import params
from yolo_workbook.orchestration import runner
from yolo_workbook.orchestration.runner import pipeline_order, with_dependencies
from yolo_workbook.training import metrics


def test_pipeline_runs_rounds_in_lineage_order():
    rounds = [params.load_round(rid, profile="ci", use_local=False) for rid in params.list_rounds()]
    order = [r.round_id for r in pipeline_order(rounds)]
    assert order[0] == "e00_env_setup" and order[-1] == "p01_video"
    assert order[1:-1] == ROUNDS


PARAMS_DIFF = {  # (change, key, old, new) against the round each extends, ci profile: read off the params files
    "r02_freeze_new_data": [
        ("~", "data.use", ["classroom_v1"], ["classroom_v2"]),
        ("~", "model.from", "yolov8n.yaml", "r01_base"),
        ("+", "train.freeze", None, 10),
    ],
    "r03_merge": [
        ("~", "data.use", ["classroom_v2"], ["classroom_v1", "classroom_v2"]),
        ("~", "model.from", "r01_base", "r02_freeze_new_data"),
    ],  # its epochs: 100 is hidden by the ci profile's epochs: 1
    "r04_lr_cos": [("~", "train.lr0", 0.001, 0.01), ("+", "train.cos_lr", None, True)],
    "r05_augment": [
        ("+", "train.close_mosaic", None, 5),
        ("+", "train.flipud", None, 0.5),
        ("+", "train.degrees", None, 10.0),
        ("+", "train.translate", None, 0.2),
        ("+", "train.scale", None, 0.9),
    ],
    "r06_cls_weight": [("+", "train.cls", None, 3.1), ("+", "train.box", None, 0.15)],
    "r07_lr_freeze6": [("~", "train.lr0", 0.01, 0.001), ("~", "train.freeze", 10, 6)],
    "r08_rare_class": [
        ("+", "data.oversample", None, {"classes": ["sitae"], "target_share": 0.2}),
        ("+", "train.cls_pw", None, 0.5),
    ],
}


def _errors_in(notebook_path):
    nb = nbformat.read(notebook_path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.notebook
@pytest.mark.slow
def test_every_round_runs_and_writes_valid_records(ci_pipeline):
    profile_dir = ci_pipeline / "ci"
    for rid in ROUNDS:
        rnd = params.load_round(rid, profile="ci", use_local=False)
        executed = profile_dir / rid / f"{rnd.notebook}.ipynb"
        assert executed.is_file() and not _errors_in(executed), rid
        record = json.loads((profile_dir / rid / "metrics.json").read_text())
        jsonschema.validate(record, metrics.schema())
        assert record["status"] == "ok" and record["round_id"] == rid and record["epochs_run"] == 1, rid
        assert record["base"] == rnd.base and record["weights_from"] == rnd.weights_from
        assert (profile_dir / rid / "train" / "weights" / "best.pt").is_file()
        assert (profile_dir / rid / "params.resolved.yaml").is_file()
        assert "command: yolo train model=" in (profile_dir / rid / "params.resolved.yaml").read_text()
        got = [(c["change"], c["key"], c["old"], c["new"]) for c in record["params_diff"]]
        if "sweep" in record:  # the best trial's arguments are the sweep round's (the sampler chose them)
            chosen = record["sweep"]["arguments"]
            assert {key: new for _, key, _, new in got} == {
                "train.optimizer": "SGD",
                **{f"train.{k}": v for k, v in chosen.items()},
            }, rid
        else:
            assert got == PARAMS_DIFF.get(rid, []), rid
        shares = [c["train_share"] for c in record["per_class"].values()]
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    r03 = json.loads((profile_dir / "r03_merge" / "metrics.json").read_text())
    assert r03["start_weights"].endswith("ci/r02_freeze_new_data/train/weights/best.pt")
    merged = yaml.safe_load(
        Path(r03["data"]["data_yaml"]).read_text()
    )  # a merge of both exports, classes matched by name
    assert merged["names"] == ["student", "desk", "sitae"]
    provenance = json.loads((Path(r03["data"]["data_yaml"]).parent / "provenance.json").read_text())
    assert [s["name"] for s in provenance["sources"]] == ["classroom_v1", "classroom_v2"]
    r08 = json.loads((profile_dir / "r08_rare_class" / "metrics.json").read_text())
    assert r08["train_args"]["cls_pw"] == 0.5 and r08["base"] == "r03_merge"
    listing = (profile_dir / "r08_rare_class" / "train_oversampled.txt").read_text().splitlines()
    assert len(listing) > len(set(listing))  # images with sitae repeated


@pytest.mark.notebook
@pytest.mark.slow
def test_env_report_comes_from_this_environment(ci_pipeline):
    report = json.loads((ci_pipeline / "ci" / "e00_env_setup" / "env_report.json").read_text())
    import sys

    assert report["prefix"] == sys.prefix  # the notebook kernel runs in the project's environment
    assert report["versions"]["ultralytics"].startswith("8.4")
    assert report["datasets"]["classroom_v1"]["splits"]["train"]["images"] == 24
    assert report["device"]["kind"] in {"cpu", "cuda", "mps"}
    # The doctor's findings, with the package behind each OpenMP runtime, are in the notebook's report too.
    assert {f["topic"] for f in report["findings"]} >= {"openmp", "device", "weights", "fonts"}
    assert all(r["package"] and not r["package"].startswith("unknown") for r in report["openmp"])


@pytest.mark.notebook
@pytest.mark.slow
def test_prediction_json_keeps_the_diary_shape(ci_pipeline):
    folder = ci_pipeline / "ci" / "p01_video"
    frames = json.loads((folder / "detections.json").read_text())
    schema = json.loads((ROOT / "lib/yolo_workbook/schemas/detections.schema.json").read_text())
    jsonschema.validate(frames, schema)
    assert [f["frame_id"] for f in frames] == list(range(40))  # the ci classroom video: 40 frames
    assert all(set(f) >= {"frame_id", "detections"} for f in frames)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["frames"] == 40 and summary["model"].endswith("ci/r07_lr_freeze6/train/weights/best.pt")


@pytest.mark.notebook
@pytest.mark.slow
def test_every_training_round_is_scored_on_the_video_and_the_prediction_is_counted(ci_pipeline):
    """The ci profile names its video's ground truth: every training round gets a video score (metrics.json,
    leaderboard, journal); p01_video's tracks are counted and scored, each listed tracker and window too."""
    profile_dir = ci_pipeline / "ci"
    truth_frames = 40  # the ci classroom video
    for rid in [r for r in ROUNDS if not r.startswith(("e", "p"))]:
        record = json.loads((profile_dir / rid / "metrics.json").read_text())
        video = record["video"]
        assert video["tracker"] == "bytetrack" and video["truth"].endswith("ci/classroom_video.truth"), rid
        assert video["score"]["frames_scored"] == truth_frames, rid
        assert set(video["score"]["classes"]) == {"student", "desk", "sitae"}, rid
        assert (profile_dir / rid / "video" / "tracks.mot.txt").is_file(), rid
        # each round's operating point is chosen on the other clip of the profile, never on the scored video
        assert video["operating_point"]["chosen_on"].endswith("ci/tuning_clip.mp4"), rid
        assert (profile_dir / rid / "video" / "tuning" / "tracks.mot.txt").is_file(), rid
    folder = profile_dir / "p01_video"
    doc = json.loads((folder / "attendance.json").read_text())
    jsonschema.validate(doc, json.loads((ROOT / "lib/yolo_workbook/schemas/attendance.schema.json").read_text()))
    assert (doc["tracker"], doc["window_s"], doc["stable_from"]) == ("bytetrack", 2, "tracks")
    assert [row["tracker"] for row in doc["choices"]["trackers"]] == ["bytetrack", "botsort"]
    assert [row["window_s"] for row in doc["choices"]["windows"]] == [2, 1, 4]
    header = (folder / "counts.csv").read_text().splitlines()[0]
    assert header.startswith("frame_id,time_s,student_raw,student_tracks,student_stable,")
    frames = json.loads((folder / "detections.json").read_text())
    assert all("track_id" in d for f in frames for d in f["detections"])
    point = doc["operating_point"]
    assert point["chosen_on"].endswith("ci/tuning_clip.mp4") and point["scored_on"].endswith("ci/classroom_video.mp4")
    tuned = json.loads((folder / "tuning" / "attendance.json").read_text())
    assert tuned["truth"].endswith("ci/tuning_clip.truth") and tuned["source"].endswith("ci/tuning_clip.mp4")
    fragment = yaml.safe_load((folder / "operating_point.yaml").read_text())
    assert fragment == {"predict": {"conf": point["conf"]}} and set(point["conf"]) == {"student", "desk", "sitae"}
    assert all(isinstance(c["headcount"], int) for c in doc["classes"].values())
    journal = (profile_dir / "journal.md").read_text()
    assert "| count err | IDF1 |" in journal and "on the classroom video: count error" in journal
    assert "precise enough for attendance? not yet:" in journal and "p01_video_operating_point.png" in journal
    assert "present (headcount, fragments of one person joined): " in journal
    assert "operating point chosen on " in journal and "ci/tuning_clip.mp4: conf {" in journal


@pytest.mark.notebook
@pytest.mark.slow
def test_plain_papermill_with_a_round_file_works_as_is(ci_pipeline, tmp_path):
    out = tmp_path / "out.ipynb"
    env = {"YOLO_WORKBOOK_OUTPUTS": str(ci_pipeline)}
    command = [
        str(BIN / "papermill"),
        "notebooks/04_tune_round.ipynb",
        str(out),
        "-f",
        "params/r05_augment.yaml",
        "-p",
        "profile",
        "ci",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=child_environment(env))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Passed unknown parameter" not in done.stderr
    record = json.loads((ci_pipeline / "ci" / "r05_augment" / "metrics.json").read_text())
    assert record["train_args"]["close_mosaic"] == 5 and record["train_args"]["scale"] == 0.9
    # The pipeline already ran this round with the same inputs: the notebook says so and trains nothing.
    assert "r05_augment is up to date" in out.read_text()
    assert not (ci_pipeline / "ci" / "r05_augment" / "history").exists()


def test_cli_parent_not_run_is_one_short_message(ci_data, outputs):
    done = cli("run", "params/r02_freeze_new_data.yaml", "--profile", "ci", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "round 'r01_base'" in done.stderr and "has not run" in done.stderr
    assert len(done.stderr.splitlines()) <= 4


def test_cli_missing_data_yaml_names_the_path(outputs):
    done = cli("run", "params/r01_base.yaml", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "data.yaml not found" in done.stderr and "gkrltlfgdmsrj.v1i.yolov8/data.yaml" in done.stderr


def test_cli_round_file_outside_params_is_refused(tmp_path):
    done = cli("run", str(tmp_path / "r01_base.yaml"))
    assert done.returncode == 1 and "round files live in" in done.stderr


def test_cli_resolve_prints_the_resolved_round():
    done = cli("resolve", "params/r07_lr_freeze6.yaml", "--profile", "demo")
    assert done.returncode == 0
    assert "freeze: 6" in done.stdout and "epochs: 4" in done.stdout and "from: r02_freeze_new_data" in done.stdout


@pytest.mark.notebook
def test_unknown_papermill_parameter_stops_the_run(ci_data, outputs, tmp_path):
    out = tmp_path / "out.ipynb"
    command = [
        str(BIN / "papermill"), "notebooks/02_base_train.ipynb", str(out),
        "-f", "params/r01_base.yaml", "-p", "profile", "ci", "-p", "epochz", "3",
    ]  # fmt: skip
    env = child_environment({"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode != 0
    assert "epochz are not parameters of 02_base_train" in done.stderr
    assert not (outputs / "ci" / "r01_base" / "train").exists()  # stopped before training


def _outputs_of(notebook: Path, call: str) -> list[dict]:
    """The outputs of the executed notebook's code cell that contains ``call``."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    (cell,) = [c for c in cells if c["cell_type"] == "code" and call in "".join(c["source"])]
    return cell["outputs"]


@pytest.mark.notebook
@pytest.mark.slow
def test_headless_runs_skip_the_widgets_and_keep_the_figures(ci_pipeline):
    widget_view = "application/vnd.jupyter.widget-view+json"
    tune = ci_pipeline / "ci" / "r04_lr_cos" / "04_tune_round.ipynb"
    comparison = _outputs_of(tune, "show_comparison(")
    assert sum("image/png" in o.get("data", {}) for o in comparison) == 2  # per-class AP and the curves
    editor = _outputs_of(tune, "round_editor(")
    assert "open this notebook in JupyterLab" in "".join("".join(o.get("text", "")) for o in editor)
    predict = ci_pipeline / "ci" / "p01_video" / "05_predict_json.ipynb"
    assert any("image/png" in o.get("data", {}) for o in _outputs_of(predict, "plots.annotated_frames("))
    for outputs in (comparison, editor, _outputs_of(predict, "frame_browser(")):
        assert not any(widget_view in o.get("data", {}) or o["output_type"] == "error" for o in outputs)


@pytest.mark.parametrize("start", ["weights/best.pt", "/abs/path/내 모델/best.pt", "yolov8s.yaml", "best.pt", ""])
def test_pipeline_accepts_every_model_from_form_that_check_accepts(start, params_copy, outputs):
    (params_copy / "e01_check.yaml").write_text(
        f"round_id: e01_check\nnotebook: 01_env_setup\nmodel:\n  from: {json.dumps(start, ensure_ascii=False)}\n",
        encoding="utf-8",
    )
    (params_copy / "r09_from_file.yaml").write_text(
        "round_id: r09_from_file\nextends: r02_freeze_new_data\nnotebook: 03_finetune\n"
        f"model:\n  from: {json.dumps(start or 'yolov8n.yaml', ensure_ascii=False)}\n",
        encoding="utf-8",
    )
    rounds = with_dependencies(["e01_check", "r09_from_file", "r02_freeze_new_data"], profile="ci")
    assert sorted(r.round_id for r in rounds) == ["e01_check", "r01_base", "r02_freeze_new_data", "r09_from_file"]
    assert [r.round_id for r in pipeline_order(rounds)] == [
        "e01_check",
        "r01_base",
        "r02_freeze_new_data",
        "r09_from_file",
    ]


def _listing(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` with its modification time (the lock folder aside: locks come and go)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if ".locks" not in p.parts}


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["cut short", "text", "no model inside"])
def test_corrupt_weights_are_one_line_naming_the_file_and_nothing_moves(damage, ci_pipeline, params_copy, tmp_path):
    good = ci_pipeline / "ci" / "r01_base" / "train" / "weights" / "best.pt"
    bad = tmp_path / "bad weights.pt"
    if damage == "cut short":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "text":
        bad.write_text("not a checkpoint")
    else:
        import torch

        torch.save({"state": torch.zeros(2)}, bad)
    (params_copy / "r02_freeze_new_data.yaml").write_text(
        (params_copy / "r02_freeze_new_data.yaml").read_text().replace("from: r01_base", f"from: {bad}")
    )
    env = {"YOLO_WORKBOOK_OUTPUTS": str(ci_pipeline), "YOLO_WORKBOOK_PARAMS": str(params_copy)}
    touched = [ci_pipeline / "ci" / "r02_freeze_new_data", ci_pipeline / "ci" / "p01_video"]  # what each would move
    before = [_listing(folder) for folder in touched]
    for command in (
        ("predict", "--profile", "ci", "--weights", str(bad)),
        ("run", str(params_copy / "r02_freeze_new_data.yaml"), "--profile", "ci"),
    ):
        done = cli(*command, env=env)
        errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "  fix:"))]
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert len(errors) == 2 and (f"weights file {bad} is" in errors[0] or f"{bad} is a PyTorch file" in errors[0])
    assert [_listing(folder) for folder in touched] == before  # no earlier result moved, no history/ written


# What the checks of a round do that costs (reading every label file, a checksum of the weights, their zip
# check, the data folders, the state of the round folder), counted in the runner's process and in the kernel's.
COUNTED = [
    ("training.train", "check_data"),
    ("training.checkpoints", "check_weights_file"),
    ("training.rerun", "file_sha256"),
    ("training.metrics", "dataset_fingerprint"),
    ("training.rerun", "round_state"),
]
# An IPython startup file: the kernel that papermill starts counts the same calls into the same file.
KERNEL_COUNTER = f"""
import os
from importlib import import_module


def _count(module, name):
    real = getattr(module, name)

    def counted(*args, **kwargs):
        with open(os.environ["WORKBOOK_TEST_CALLS"], "a", encoding="utf-8") as log:
            log.write(f"kernel {{name}}\\n")
        return real(*args, **kwargs)

    setattr(module, name, counted)


for module, name in {COUNTED!r}:
    _count(import_module("yolo_workbook." + module), name)
"""


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("edited", [False, True], ids=["unchanged", "profile edited before the kernel starts"])
def test_a_round_run_by_the_runner_is_checked_once_and_a_stale_check_is_not_trusted(
    edited, ci_data, outputs, params_copy, tmp_path, monkeypatch
):
    import importlib

    import papermill
    from ultralytics import YOLO

    weights = tmp_path / "start.pt"  # a weights file to start from: its checksum and zip check are counted too
    YOLO("yolov8n.yaml").save(weights)
    profile = params_copy / "profiles" / "ci.yaml"
    settings = yaml.safe_load(profile.read_text(encoding="utf-8"))
    settings["rounds"]["r01_base"]["model"]["from"] = str(weights)
    profile.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")

    calls = tmp_path / "calls.txt"
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-count.py").write_text(KERNEL_COUNTER, encoding="utf-8")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("WORKBOOK_TEST_CALLS", str(calls))

    def counting(name: str, real):
        def counted(*args, **kwargs):
            with calls.open("a", encoding="utf-8") as log:
                log.write(f"runner {name}\n")
            return real(*args, **kwargs)

        return counted

    for module_name, name in COUNTED:
        module = importlib.import_module(f"yolo_workbook.{module_name}")
        monkeypatch.setattr(module, name, counting(name, getattr(module, name)))
    if edited:  # between the runner's checks and the kernel: the round's params change (2 epochs instead of 1)
        execute = papermill.execute_notebook

        def edit_then_execute(*args, **kwargs):
            settings["rounds"]["r01_base"]["train"] = {"epochs": 2}
            profile.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
            return execute(*args, **kwargs)

        monkeypatch.setattr(papermill, "execute_notebook", edit_then_execute)

    executed = runner.run_round("r01_base", profile="ci", log_output=False)
    record = json.loads((outputs / "ci" / "r01_base" / "metrics.json").read_text())
    assert record["status"] == "ok" and record["start_weights"] == str(weights)
    counts = sorted(calls.read_text(encoding="utf-8").splitlines())
    once = sorted(f"runner {name}" for _, name in COUNTED)
    stale = "the runner's checks of this round no longer hold (its resolved params changed); checking again"
    if edited:  # the kernel did not trust the runner's checks: it checked again, and trained what the file says now
        assert counts == sorted([*once, *(f"kernel {name}" for _, name in COUNTED)])
        assert stale in executed.read_text() and record["epochs_run"] == 2
    else:  # every check once, in the runner; the kernel reused them all
        assert counts == once
        assert "checking again" not in executed.read_text() and record["epochs_run"] == 1
    assert record["inputs"]["params"]["train"]["epochs"] == record["epochs_run"]


def test_a_pipeline_rewrites_the_journal_only_after_rounds_whose_notebook_does_not(monkeypatch, outputs):
    ran, rewritten = [], []
    monkeypatch.setattr(runner, "run_round", lambda rid, **options: ran.append(rid) or Path(f"{rid}.ipynb"))
    monkeypatch.setattr(runner, "refresh_journal", lambda profile: rewritten.append(ran[-1]))
    runner.run_pipeline(["e00_env_setup", "p01_video"], profile="ci", log_output=False)
    assert ran == ["e00_env_setup", *ROUNDS[:2], "r07_lr_freeze6", "p01_video"]  # p01 needs r07, which needs r02 ...
    assert rewritten == ["e00_env_setup", "p01_video"]  # the training rounds' notebooks rewrote it in their last cell
    for name in runner.JOURNAL_NOTEBOOKS:  # what lets the pipeline skip it
        cells = nbformat.read(runner.notebook_path(name), as_version=4).cells
        assert "write_journal(rnd.profile)" in cells[-1].source, name
