"""Re-runs, interruptions and failures: nothing is lost, nothing is silently overwritten."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import jsonschema
import psutil
import pytest
import yaml
from conftest import BIN, ROOT, child_environment, cli

from yolo_workbook.config import params
from yolo_workbook.core import jobs, locks, paths
from yolo_workbook.core.errors import RoundChangedError
from yolo_workbook.orchestration import runner
from yolo_workbook.training import checkpoints, metrics, rerun, train


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_second_run_is_up_to_date_and_a_changed_one_needs_force(ci_data, outputs, params_copy, capsys):
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    first = train.train_round(rnd)
    csv = first.round_dir / "train" / "results.csv"
    stamp = csv.stat().st_mtime_ns

    again = train.train_round(params.load_round("r01_base", profile="ci", use_local=False))
    assert "is up to date" in capsys.readouterr().out
    assert csv.stat().st_mtime_ns == stamp and not (first.round_dir / "history").exists()
    assert again.record == first.record

    # A logger switched on changes what is logged, not what is trained: still up to date, without --force.
    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["rounds"]["r01_base"].update(loggers={"tensorboard": True}))
    logged = params.load_round("r01_base", profile="ci", use_local=False)
    assert logged.loggers == {"tensorboard": True}
    assert train.train_round(logged).record == first.record and "is up to date" in capsys.readouterr().out
    assert csv.stat().st_mtime_ns == stamp

    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["train"].update(epochs=2))
    changed = params.load_round("r01_base", profile="ci", use_local=False)
    with pytest.raises(
        RoundChangedError, match=r"(?s)already finished with other inputs.*train.epochs: 1 -> 2.*--force"
    ):
        train.train_round(changed)
    assert csv.stat().st_mtime_ns == stamp  # refused: nothing touched

    forced = train.train_round(changed, force=True)
    assert forced.record["epochs_run"] == 2 and forced.record["status"] == "ok"
    kept = list((first.round_dir / "history").glob("*/metrics.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["epochs_run"] == 1
    assert not list(first.round_dir.glob("train[0-9]*"))


def _ci(round_id: str) -> params.Round:
    return params.load_round(round_id, profile="ci", use_local=False)


def _ci_data_copies(ci_data: dict[str, Path], tmp_path: Path, params_copy: Path) -> dict[str, Path]:
    """The ci exports copied under tmp_path (a test may edit them), the params copy's ci profile pointed at them."""
    copies = {}
    for name, data_yaml in (("classroom_v1", ci_data["first"]), ("classroom_v2", ci_data["second"])):
        copies[name] = tmp_path / "datasets" / data_yaml.parent.name
        shutil.copytree(data_yaml.parent, copies[name], ignore=shutil.ignore_patterns("*.cache"))
    _edit(
        params_copy / "profiles" / "ci.yaml",
        lambda d: d["datasets"].update({name: str(folder / "data.yaml") for name, folder in copies.items()}),
    )
    return copies


@pytest.mark.slow
def _trained(record: dict) -> dict:
    """A record without its video score (a pipeline adds it to an up-to-date round: it changes no training)."""
    return {key: value for key, value in record.items() if key != "video"}


def test_changed_starting_weights_or_data_are_refused_by_name_and_a_pipeline_goes_on(
    ci_data, outputs, params_copy, tmp_path
):
    copies = _ci_data_copies(ci_data, tmp_path, params_copy)
    r01 = train.train_round(_ci("r01_base"))
    r02 = train.train_round(_ci("r02_freeze_new_data"))
    profile = params_copy / "profiles" / "ci.yaml"
    settings = profile.read_text(encoding="utf-8")

    # A changed round in a pipeline is refused; its earlier results stay valid, so the rounds after it still run.
    _edit(profile, lambda d: d["rounds"]["r01_base"].update(train={"epochs": 2}))
    outcomes = runner.run_pipeline(["r01_base", "r02_freeze_new_data"], profile="ci", log_output=False)
    assert [(o.round_id, o.status) for o in outcomes] == [("r01_base", "refused"), ("r02_freeze_new_data", "ok")]
    assert "train.epochs: 1 -> 2" in outcomes[0].message and outcomes[1].message == "up to date: nothing to run"
    # up to date, r02 was still scored on the ci video (the profile names its ground truth): nothing else changed
    assert "video" in json.loads((r02.round_dir / "metrics.json").read_text())
    profile.write_text(settings, encoding="utf-8")

    # One label file of r02's dataset edited: refused, naming the dataset (and nothing else).
    label = sorted((copies["classroom_v2"] / "train" / "labels").glob("*.txt"))[0]
    original = label.read_bytes()
    label.write_bytes(original + b"0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(RoundChangedError, match=r"(?s)round 'r02_freeze_new_data' already finished") as refused:
        train.train_round(_ci("r02_freeze_new_data"))
    assert refused.value.message.endswith("What changed:\n  - the dataset changed (data.yaml or label files)")
    assert train.train_round(_ci("r01_base")).record == r01.record  # r01 trains on the other export: up to date
    label.write_bytes(original)  # the same content again: up to date
    assert _trained(train.train_round(_ci("r02_freeze_new_data")).record) == r02.record

    # r01 trained again: r02 starts from other weights (same path, other content) and is refused, naming them.
    forced = train.train_round(_ci("r01_base"), force=True)
    assert rerun.file_sha256(forced.best_weights) != r02.record["inputs"]["start_weights_sha256"]
    with pytest.raises(RoundChangedError) as refused:
        train.train_round(_ci("r02_freeze_new_data"))
    assert refused.value.message.endswith(f"What changed:\n  - the starting weights changed ({forced.best_weights})")
    assert _trained(json.loads((r02.round_dir / "metrics.json").read_text())) == r02.record  # refused: nothing touched


@pytest.mark.slow
def test_an_unfinished_round_that_cannot_resume_trains_anew_and_keeps_the_partial_run(
    ci_data, outputs, params_copy, monkeypatch, capsys
):
    load_model = train.load_model

    def disk_full(trainer):
        raise OSError(28, "No space left")

    def failing_in_the_first_epoch(weights, *, where):  # before ultralytics wrote any checkpoint
        model = load_model(weights, where=where)
        model.add_callback("on_train_epoch_start", disk_full)
        return model

    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(train, "load_model", failing_in_the_first_epoch)
        train.train_round(_ci("r01_base"))
    folder = outputs / "ci" / "r01_base"
    assert json.loads((folder / "metrics.json").read_text())["status"] == "failed"
    assert rerun.resume_checkpoint(folder / "train" / "weights") is None

    anew = train.train_round(_ci("r01_base"))  # the same inputs, nothing to resume from: trained anew, no --force
    assert anew.record["status"] == "ok" and anew.record["resumed"] is False and anew.record["epochs_run"] == 1
    (kept,) = (folder / "history").iterdir()
    assert json.loads((kept / "metrics.json").read_text())["error"].endswith("No space left")
    assert (kept / "train" / "args.yaml").is_file() and not (kept / "train" / "weights" / "best.pt").exists()

    (folder / "metrics.json").write_text('{"round_id": "r01_base", "status": "o')  # cut short by a crash
    capsys.readouterr()
    again = train.train_round(_ci("r01_base"))
    assert "metrics.json is unreadable (cut short by a crash?)); training anew" in capsys.readouterr().out
    assert again.record["status"] == "ok" and again.record["resumed"] is False
    kept = sorted((folder / "history").iterdir())  # <timestamp>, then <timestamp>-2 within the same second
    assert len(kept) == 2 and (kept[1] / "metrics.json").read_text().endswith('"o')
    assert (kept[1] / "train" / "weights" / "best.pt").is_file()
    assert [int(r["epoch"]) for r in metrics.read_results_csv(folder / "train" / "results.csv")] == [1]
    assert not list(folder.glob("train[0-9]*"))


@pytest.mark.slow
@pytest.mark.notebook
def test_a_round_trains_the_same_numbers_in_this_process_and_in_the_pipelines_kernel(ci_pipeline, outputs):
    """The same numbers on every run on the same machine: r01 here and in the ci pipeline's papermill kernel."""
    here = train.train_round(_ci("r01_base")).round_dir
    there = ci_pipeline / "ci" / "r01_base"

    def numbers(folder: Path) -> tuple[list[dict[str, float]], dict]:
        rows = [
            {k: v for k, v in row.items() if k != "time"}
            for row in metrics.read_results_csv(folder / "train" / "results.csv")
        ]
        record = json.loads((folder / "metrics.json").read_text())
        return rows, {key: record[key] for key in ("overall", "per_class", "epochs_run", "best_epoch")}

    rows, record = numbers(here)
    assert rows and all(rows[0][f"train/{loss}_loss"] > 0 for loss in ("box", "cls", "dfl"))  # something to compare
    assert numbers(there) == (rows, record)


def _kill_tree(process: subprocess.Popen) -> None:
    parent = psutil.Process(process.pid)
    for child in parent.children(recursive=True):
        child.kill()
    parent.kill()
    process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("point", ["before_checkpoint", "between_epochs", "after_last_epoch", "during_record"])
def test_a_round_killed_at_any_point_runs_again_to_the_same_end(point, ci_data, outputs, params_copy):
    """kill -9 at each point of a round (tests/kill_driver.py), then the CLI as a user would run it again."""
    epochs = 2
    _edit(params_copy / "profiles" / "ci.yaml", lambda d: d["rounds"]["r01_base"].update(train={"epochs": epochs}))
    env = child_environment({"YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(params_copy)})
    driver = [str(BIN / "python"), str(ROOT / "tests" / "kill_driver.py"), "r01_base", "ci", point]
    killed = subprocess.run(driver, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    folder = outputs / "ci" / "r01_base"
    weights = folder / "train" / "weights"
    assert json.loads((folder / "metrics.json").read_text())["status"] == "interrupted"
    rows_before = metrics.read_results_csv(folder / "train" / "results.csv")
    if point == "between_epochs":  # as if the kill had cut ultralytics' in-place write of last.pt short
        (weights / "last.pt").write_bytes((weights / "last.pt").read_bytes()[:1000])

    if point == "after_last_epoch":  # the issue's reproduction, as a user runs it: the CLI, papermill, a kernel
        again = cli("run", str(params_copy / "r01_base.yaml"), "--profile", "ci", "--quiet", env=env)
        said = (folder / "02_base_train.ipynb").read_text()
    else:  # the same train_round in a new process, without a kernel's start-up
        again = subprocess.run([*driver[:-1], "none"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        said = again.stdout
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "warning: round 'r01_base' (profile ci): taking over the lock left by process" in again.stderr  # not blocked
    record = json.loads((folder / "metrics.json").read_text())
    jsonschema.validate(record, metrics.schema())
    assert record["status"] == "ok" and record["epochs_run"] == epochs
    assert record["overall"] is not None and sum(c["instances"] for c in record["per_class"].values()) > 0
    rows = metrics.read_results_csv(folder / "train" / "results.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))  # the epochs of an uninterrupted run
    if point == "before_checkpoint":  # nothing to resume: trained anew, the partial run kept in history/
        assert rows_before == [] and record["resumed"] is False
        assert list((folder / "history").glob("*/train"))
    elif point == "between_epochs":  # resumed from the whole copy: the first epoch is the one trained before
        assert len(rows_before) == 1 and rows[0] == rows_before[0] and record["resumed"] is True
    else:  # all epochs were trained: finished without training again
        assert rows == rows_before and record["resumed"] is True
        assert "nothing is trained again" in said
        assert not (folder / "history").exists()
    for name in ("best.pt", "last.pt"):  # stripped of the optimizer, as ultralytics leaves a finished run
        assert checkpoints.training_progress(weights / name) is None, name
    assert not list(folder.glob("train[0-9-]*"))


@pytest.mark.slow
@pytest.mark.notebook
def test_pipeline_failure_skips_only_dependents_and_keeps_everything(ci_data, outputs, params_copy):
    _edit(params_copy / "r02_freeze_new_data.yaml", lambda d: d["train"].update(device="cuda:7"))
    # After the failing round in the pipeline's order, but trained from scratch: it needs nothing that failed.
    (params_copy / "r09_scratch.yaml").write_text(
        "round_id: r09_scratch\nextends: r01_base\nnotebook: 02_base_train\nmodel:\n  from: yolov8n.yaml\n"
    )
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(params_copy)}
    done = cli("pipeline", "--profile", "ci", "--quiet", "r01_base", "r03_merge", "r09_scratch", env=env)
    assert done.returncode == 1
    assert "pipeline: r01_base -> r02_freeze_new_data -> r03_merge -> r09_scratch" in done.stdout
    summary = done.stdout[done.stdout.index("round ") :]
    assert "r01_base              ok" in summary
    # A GPU this machine lacks is refused before r02's kernel starts (training.devices), naming file and key.
    assert "r02_freeze_new_data   failed" in summary and "r02_freeze_new_data.yaml: train.device 'cuda:7'" in summary
    assert "r03_merge             skipped" in summary and "needs r02_freeze_new_data" in summary
    assert "r09_scratch           ok" in summary
    assert json.loads((outputs / "ci" / "r09_scratch" / "metrics.json").read_text())["status"] == "ok"
    assert (outputs / "ci" / "r01_base" / "train" / "weights" / "best.pt").is_file()
    assert not (outputs / "ci" / "r02_freeze_new_data").exists()  # nothing ran, nothing was written


def test_truncated_record_is_reported_and_skipped(outputs, capsys):
    good = outputs / "ci" / "r01_base" / "metrics.json"
    bad = outputs / "ci" / "r02_freeze_new_data" / "metrics.json"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text(json.dumps({"round_id": "r01_base", "status": "ok"}))
    bad.write_text('{"round_id": "r02_freeze_new_data", "status": "o')
    assert [r["round_id"] for r in metrics.load_records("ci")] == ["r01_base"]
    assert "warning: skipping unreadable record" in capsys.readouterr().err
    done = cli("compare", "--profile", "ci", env={"YOLO_WORKBOOK_OUTPUTS": str(outputs)})
    assert done.returncode == 0 and "r01_base" in done.stdout


def _files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("form", ["../../{name}", "{tmp}/{name}", "a/../../{name}"])
def test_hostile_round_ids_and_profiles_never_leave_outputs(form, ci_data, tmp_path):
    """A round id or profile that points elsewhere is refused by its name, even where a valid file lies there."""
    project = tmp_path / "a" / "b"  # deep enough that every hostile path below stays inside tmp_path
    folder, outputs = project / "params", project / "outputs"
    shutil.copytree(paths.params_dir(), folder, ignore=shutil.ignore_patterns("local.yaml"))
    (folder / "a").mkdir()
    (folder / "profiles" / "a").mkdir()
    round_id, profile = form.format(tmp=tmp_path, name="r99_away"), form.format(tmp=tmp_path, name="away")
    # The files the hostile names point at, valid: without the name check, the pipeline would run them.
    round_text = (folder / "r01_base.yaml").read_text().replace("round_id: r01_base", f"round_id: {round_id}")
    Path(f"{folder / round_id}.yaml").write_text(round_text.replace("from: yolov8n.pt", "from: yolov8n.yaml"))
    Path(f"{folder / 'profiles' / profile}.yaml").write_text((folder / "profiles" / "ci.yaml").read_text())
    before = _files_under(tmp_path)
    env = {"YOLO_WORKBOOK_OUTPUTS": str(outputs), "YOLO_WORKBOOK_PARAMS": str(folder)}
    for args, what in (
        ((round_id, "--profile", "ci"), f"round id {round_id!r}"),
        (("--profile", profile, "r01_base"), f"profile {profile!r}"),
    ):
        done = cli("pipeline", "--quiet", *args, env=env)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout[-2000:] + done.stderr[-2000:]
        assert f"{what} cannot be used as a folder name under outputs/" in done.stderr
    assert _files_under(tmp_path) == before  # nothing written anywhere, outputs/ included


@pytest.fixture()
def start_weights(tmp_path: Path) -> Path:
    """A whole ultralytics checkpoint (an untrained YOLOv8n), for a round that starts from a weights file."""
    from ultralytics import YOLO

    path = tmp_path / "start weights.pt"
    YOLO("yolov8n.yaml").save(path)
    return path


def _change(what: str, rnd: params.Round, *, label: Path, weights: Path, profile: Path) -> params.Round:
    """Change one thing that the checks of ``rnd`` read; the round as loaded afterwards."""
    if what == "a label file":
        label.write_bytes(label.read_bytes() + b"0 0.5 0.5 0.2 0.2\n")
    elif what == "the starting weights":
        weights.write_bytes(weights.read_bytes())  # the same content, written again: its time says it changed
    elif what == "the output folder":
        (rnd.output_dir / "metrics.json").write_text('{"round_id": "r01_base", "status": "failed"}')
    elif what == "the round's params":
        _edit(profile, lambda d: d["rounds"]["r01_base"].update(train={"epochs": 2}))
    return _ci("r01_base")


@pytest.mark.parametrize(
    ("what", "why"),
    [
        ("a label file", "the dataset changed since"),
        ("the starting weights", "the starting weights changed since"),
        ("the output folder", "its output folder changed since"),
        ("the round's params", "its resolved params changed"),
    ],
)
def test_the_runners_checks_are_reused_only_while_what_they_read_is_unchanged(
    what, why, ci_data, outputs, params_copy, tmp_path, start_weights, capsys
):
    """The handoff as the runner makes it, read as the kernel reads it (here in one process, under one lock)."""
    copies = _ci_data_copies(ci_data, tmp_path, params_copy)
    profile = params_copy / "profiles" / "ci.yaml"
    _edit(profile, lambda d: d["rounds"]["r01_base"]["model"].update({"from": str(start_weights)}))
    rnd = _ci("r01_base")
    rnd.output_dir.mkdir(parents=True)
    label = sorted((copies["classroom_v1"] / "train" / "labels").glob("*.txt"))[0]
    with jobs.for_round(rnd) as job:
        assert job.handed is None and rerun.handed_checks(rnd, job.handed, training=True) is None  # the kernel checks
        checks = train.check_round(rnd, training=True)
        assert checks.start_weights == str(start_weights) and checks.state.state == "new"
        with job.shared_with_children(rerun.handoff(rnd, checks)):
            handed = _kernels_view(rnd)
            assert rerun.handed_checks(rnd, handed, training=True) == checks  # as it was: reused, nothing read again
            assert capsys.readouterr().out == ""
            changed = _change(what, rnd, label=label, weights=start_weights, profile=profile)
            assert rerun.handed_checks(changed, handed, training=True) is None
            assert f"r01_base: the runner's checks of this round no longer hold ({why}); checking again" in (
                capsys.readouterr().out
            )
    assert _kernels_view(rnd) is None  # and never outside the lock


def _kernels_view(rnd):
    """What a kernel started under the round's job reads as the runner's checks (core.jobs.start does the same)."""
    handed = locks.handed_over(rnd.output_dir)
    return handed["facts"] if handed else None


def test_a_handoff_counts_only_for_its_round_under_its_lock(ci_data, outputs, params_copy, monkeypatch, capsys):
    rnd, other = _ci("r01_base"), _ci("r04_lr_cos")
    checks = train.check_round(rnd, training=True)
    facts = rerun.handoff(rnd, checks)
    with jobs.for_round(rnd) as job:
        lock = job.lock
        with job.shared_with_children(facts):
            assert rerun.handed_checks(rnd, _kernels_view(rnd), training=True) == checks
            assert rerun.handed_checks(rnd, _kernels_view(rnd), training=False) is not None  # only the weights
            with jobs.for_round(other) as other_job:
                assert other_job.handed is None  # another round's lock: nothing handed
                assert rerun.handed_checks(other, _kernels_view(rnd), training=True) is None  # another round's checks
        # A handoff under another token (a run of this round that is gone): not this lock's.
        monkeypatch.setenv("YOLO_WORKBOOK_HANDOFF", json.dumps({str(lock.path): {"token": "gone", "facts": facts}}))
        assert locks.handed_over(rnd.output_dir) is None
        monkeypatch.setenv("YOLO_WORKBOOK_HANDOFF", json.dumps({str(lock.path): {"token": lock.token, "facts": facts}}))
        assert locks.handed_over(rnd.output_dir) == facts
    assert locks.handed_over(rnd.output_dir) is None  # the lock released: nothing is handed over any more
    prediction = rerun.handoff(rnd, rerun.RoundChecks("yolov8n.yaml", {"weights": None}))
    with jobs.for_round(rnd) as job, job.shared_with_children(prediction):
        assert rerun.handed_checks(rnd, _kernels_view(rnd), training=True) is None  # it needs its inputs and state
    assert "(they hold no training checks); checking again" in capsys.readouterr().out


def test_a_forced_run_of_an_up_to_date_round_trains_again_and_the_state_is_not_changed_in_place():
    rnd = _ci("r01_base")
    state = rerun.RoundState("up-to-date", [], {"status": "ok", "finished_at": "now"})
    assert rerun.check_rerun(rnd, state, force=True).state == "changed"
    assert state.state == "up-to-date"  # the runner hands this state to its kernel, which decides with its own force


def test_a_handoff_too_long_for_an_environment_variable_is_not_made():
    rnd = _ci("r01_base")
    checks = rerun.RoundChecks("yolov8n.yaml", {"weights": None})
    assert rerun.handoff(rnd, checks) is not None
    rnd.why = "출석 " * 30_000  # 210 kB in UTF-8: the kernel would not even start with it in its environment
    assert rerun.handoff(rnd, checks) is None  # the kernel then checks the round itself
