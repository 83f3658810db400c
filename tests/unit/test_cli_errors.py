"""cli: how the command line reports what a user typed wrong: the option by name, a fix that says what to pass."""

from __future__ import annotations

import pytest

from yolo_workbook import cli

TRACKERS = "none, botsort, bytetrack, deepocsort, fasttrack, ocsort"


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 1
    return capsys.readouterr().err


def test_a_bad_option_names_the_option_and_says_what_to_pass(outputs, capsys):
    err = _fails(["predict", "--profile", "ci", "--tracker", "nosuch"], capsys)
    assert err == (
        "error: round 'p01_video' has 1 problem(s); nothing was run:\n"
        "command line: error: --tracker: 'nosuch' is not a tracker of this ultralytics\n"
        f"    fix: use one of: {TRACKERS}, or a tracker YAML path\n"
        "  fix: give --tracker a value as its fix above says, or leave it out to use the round's own;"
        " no params file needs a change\n"
    )


def test_each_bad_option_is_named_and_its_example_is_written_as_an_option(outputs, capsys):
    err = _fails(["predict", "--profile", "ci", "--conf", "3", "--window", "0", "--weights", "r01_base:onx"], capsys)
    assert err == (
        "error: round 'p01_video' has 3 problem(s); nothing was run:\n"
        "command line: error: --window: must be seconds (a number > 0), or a list of them, got 0.0\n"
        "    fix: e.g. --window 2\n"
        "command line: error: --weights: names format 'onx' of round 'r01_base', which is not an export format"
        " (known: onnx, openvino)\n"
        "    fix: write r01_base:onnx (or r01_base for its best.pt)\n"
        "command line: error: --conf: 3.0 is outside [0, 1]\n"
        "    fix: e.g. --conf 0.5\n"
        "  fix: give --window, --weights, --conf values as their fixes above say, or leave them out to use the"
        " round's own; no params file needs a change\n"
    )


def test_a_bad_option_of_score_video_names_the_option(outputs, capsys):
    err = _fails(["score-video", "--profile", "ci", "--min-seen", "-1"], capsys)
    assert "command line: error: --min-seen: " in err and "overrides" not in err, err
    assert "yolo-workbook check" not in err, err


def test_a_weights_option_that_fails_later_names_the_option_in_one_error_and_one_fix(outputs, capsys):
    err = _fails(["predict", "--profile", "ci", "--weights", "r01_base:onnx"], capsys)
    assert err == (
        f"error: --weights: no onnx export at {outputs / 'ci' / 'r01_base' / 'export' / 'best.onnx'}\n"
        "  fix: export it first: yolo-workbook export r01_base --profile ci --format onnx\n"
    )
