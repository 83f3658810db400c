"""trackers: ``predict.tracker`` names and tracker YAML copies, checked as ``yolo-workbook check`` reports them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write

from yolo_workbook.config import argrules, lint
from yolo_workbook.config.trackers import resolve_tracker, tracker_names, tracker_problem
from yolo_workbook.core.errors import ParamsError

# bytetrack.yaml as ultralytics ships it, values copied by hand (the copy a user starts from).
BYTETRACK = """tracker_type: bytetrack
track_high_thresh: 0.25
track_low_thresh: 0.1
new_track_thresh: 0.25
track_buffer: 30
match_thresh: 0.8
fuse_score: True
"""


@pytest.mark.parametrize(
    "name", ["bytetrack", "botsort", "ocsort", "fasttrack", "deepocsort", "bytetrack.yaml", "none"]
)
def test_every_shipped_tracker_and_none_is_accepted(name):
    assert tracker_problem(name) is None


@pytest.mark.parametrize(
    ("name", "tracker_type", "high"),
    [("bytetrack", "bytetrack", 0.25), ("bytetrack.yaml", "bytetrack", 0.25), ("deepocsort", "deepocsort", 0.3)],
)
def test_a_shipped_tracker_resolves_to_its_own_yaml(name, tracker_type, high):
    config = resolve_tracker(name)
    assert (config.tracker_type, config.args["track_high_thresh"]) == (tracker_type, high)
    assert config.path.name == f"{tracker_type}.yaml" and config.path.parent.name == "trackers"


def test_a_typo_gets_a_suggestion():
    assert tracker_problem("bytetrak") == (
        "'bytetrak' is not a tracker of this ultralytics",
        "did you mean 'bytetrack'?",
    )
    with pytest.raises(ParamsError, match="bytetrak") as raised:
        resolve_tracker("bytetrak")
    assert "did you mean 'bytetrack'?" in str(raised.value.fix)


@pytest.mark.parametrize("name", ["tracktrack", "tracktrack.yaml"])
def test_tracktrack_is_refused_with_the_reason(name):
    message, fix = tracker_problem(name)
    assert "tracktrack is not supported" in message and "predictor hooks" in message
    assert "bytetrack" in fix


@pytest.mark.parametrize("value", [3, "", None, "  "])
def test_a_value_that_is_no_name_is_refused(value):
    message, fix = tracker_problem(value)
    assert "is not a tracker" in message and "none" in fix


def test_tracker_names_is_always_a_list():
    assert tracker_names(None) == []
    assert tracker_names("bytetrack") == ["bytetrack"]
    assert tracker_names(["bytetrack", "botsort"]) == ["bytetrack", "botsort"]


def test_a_user_copy_with_a_changed_value_is_used_as_written(tmp_path):
    path = write(tmp_path, "mine.yaml", BYTETRACK.replace("track_high_thresh: 0.25", "track_high_thresh: 0.4"))
    assert tracker_problem(str(path)) is None
    config = resolve_tracker(str(path))
    assert (config.tracker_type, config.path, config.args["track_high_thresh"]) == ("bytetrack", path, 0.4)
    assert config.args["match_thresh"] == 0.8


def test_a_copy_that_leaves_keys_out_takes_them_from_the_shipped_file(tmp_path):
    path = write(tmp_path, "short.yaml", "tracker_type: bytetrack\ntrack_high_thresh: 0.4\n")
    args = resolve_tracker(str(path)).args
    # ultralytics' BYTETracker reads every key: a missing one would stop the prediction at its first box
    assert (args["track_high_thresh"], args["track_low_thresh"], args["new_track_thresh"]) == (0.4, 0.1, 0.25)
    assert (args["track_buffer"], args["match_thresh"], args["fuse_score"]) == (30, 0.8, True)


def test_an_int_is_taken_where_a_float_is_expected(tmp_path):
    path = write(tmp_path, "mine.yaml", BYTETRACK.replace("match_thresh: 0.8", "match_thresh: 1"))
    assert tracker_problem(str(path)) is None


@pytest.mark.parametrize(
    ("text", "message", "fix"),
    [
        (
            BYTETRACK + "track_bufer: 10\n",
            "'track_bufer' is not a setting of bytetrack",
            "did you mean 'track_buffer'?",
        ),
        (BYTETRACK.replace("track_buffer: 30", 'track_buffer: "30"'), "track_buffer is '30'", "track_buffer: 30"),
        (BYTETRACK.replace("fuse_score: True", "fuse_score: 1"), "fuse_score is 1; bytetrack expects bool", "True"),
        (
            BYTETRACK.replace("tracker_type: bytetrack", "tracker_type: bytetrak"),
            "tracker_type is 'bytetrak'",
            "bytetrack",
        ),
        (BYTETRACK.replace("tracker_type: bytetrack", "tracker_type: tracktrack"), "is not supported", ""),
        ("- a\n- b\n", "is not a mapping of tracker settings", "cfg/trackers"),
    ],
)
def test_a_bad_user_copy_names_the_file_key_and_fix(tmp_path, text, message, fix):
    path = write(tmp_path, "mine.yaml", text)
    problem = tracker_problem(str(path))
    assert problem is not None, text
    assert problem[0].startswith("mine.yaml") and message in problem[0], problem
    assert fix in problem[1], problem


def test_with_reid_is_refused(tmp_path):
    text = (
        (Path(resolve_tracker("botsort").path))
        .read_text(encoding="utf-8")
        .replace("with_reid: False", "with_reid: true")
    )
    assert "with_reid: true" in text
    path = write(tmp_path, "reid.yaml", text)
    assert tracker_problem(str(path)) == (
        "reid.yaml: with_reid needs a ReID model (a download)",
        "set with_reid: false",
    )


def test_a_missing_file_is_named(tmp_path):
    message, fix = tracker_problem(str(tmp_path / "gone.yaml"))
    assert message == f"tracker file not found: {tmp_path / 'gone.yaml'}" and "check the path" in fix


def test_a_list_with_one_bad_entry_is_reported_by_argument_problem():
    assert argrules.argument_problem("tracker", ["bytetrack", "botsort"], section="predict") is None
    assert argrules.argument_problem("tracker", "none", section="predict") is None
    problem = argrules.argument_problem("tracker", ["bytetrack", "ocsrt"], section="predict")
    assert problem == ("'ocsrt' is not a tracker of this ultralytics", "did you mean 'ocsort'?")


BASE = """round_id: r01_base
notebook: 02_base_train
datasets: {first: data/a.yaml}
data: {use: [first]}
model: {from: yolov8n.pt}
train:
  epochs: 50
"""


def _check(params_dir: Path, predict: str, attendance: str) -> list[lint.Problem]:
    write(params_dir, "r01_base.yaml", BASE)
    body = (
        f"round_id: p02_try\nextends: r01_base\nnotebook: 05_predict_json\npredict:\n{predict}attendance:\n{attendance}"
    )
    write(params_dir, "p02_try.yaml", body)
    return lint.check_rounds([params_dir / "p02_try.yaml"], params_dir=params_dir, use_local=False)


def test_good_tracker_and_attendance_settings_pass_the_check(params_dir):
    attendance = "  window_s: [2, 1, 4]\n  lost_s: 0.5\n  min_seen_s: 0\n  truth:\n  score_rounds: false\n"
    assert _check(params_dir, "  tracker: [bytetrack, botsort]\n", attendance) == []


@pytest.mark.parametrize(
    ("predict", "attendance", "line", "key", "message"),
    [
        ("  tracker: bytetrak\n", "  window_s: 2\n", 5, "predict.tracker", "'bytetrak' is not a tracker"),
        (
            "  tracker: [bytetrack, tracktrack]\n",
            "  window_s: 2\n",
            5,
            "predict.tracker",
            "tracktrack is not supported",
        ),
        ("  conf: 0.5\n", "  window_s: 0\n", 7, "attendance.window_s", "got 0"),
        ("  conf: 0.5\n", "  lost_s: 1\n  window_s: -2\n", 8, "attendance.window_s", "got -2"),
        ("  conf: 0.5\n", "  window_s: [1, 0]\n", 7, "attendance.window_s", "got [1, 0]"),
        ("  conf: 0.5\n", "  lost_s: 0\n", 7, "attendance.lost_s", "got 0"),
        ("  conf: 0.5\n", "  min_seen_s: -1\n", 7, "attendance.min_seen_s", "got -1"),
        ("  conf: 0.5\n", "  window: 2\n", 7, "attendance.window", "unknown key"),
    ],
)
def test_bad_tracker_and_attendance_values_name_file_line_and_key(params_dir, predict, attendance, line, key, message):
    problems = _check(params_dir, predict, attendance)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.level, problem.line, problem.key) == ("error", line, key), problem
    assert problem.file.endswith("p02_try.yaml") and message in problem.message, problem
    assert problem.fix
