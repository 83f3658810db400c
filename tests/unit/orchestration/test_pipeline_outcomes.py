"""runner: the pipeline's summary keeps every failed round's whole error and its fix (issue 25)."""

from __future__ import annotations

from pathlib import Path

from yolo_workbook.core.errors import WeightsError
from yolo_workbook.orchestration import runner
from yolo_workbook.orchestration.runner import RunOutcome

# What round 1 raises offline without yolov8n.pt (training.weights), with a user's longer folders: 348 characters.
OFFLINE = (
    "params/r01_base.yaml: weights 'yolov8n.pt' are not on this machine and could not be downloaded"
    " (looked in /home/teacher/projects/yolo-workbook and /home/teacher/.config/Ultralytics):"
    " ❌  Download failure for https://github.com/ultralytics/assets/releases/download/v8.4.0/yolov8n.pt."
    " Environment may be offline."
)
OFFLINE_FIX = (
    "put yolov8n.pt in /home/teacher/projects/yolo-workbook or /home/teacher/.config/Ultralytics, or train from"
    " scratch with 'model: {from: yolov8n.yaml}' (the demo profile does this)"
)


def test_an_offline_start_keeps_its_whole_error_and_its_fix(monkeypatch, outputs):
    def offline(round_id, **options):
        raise WeightsError(OFFLINE, fix=OFFLINE_FIX)

    monkeypatch.setattr(runner, "run_round", offline)
    outcomes = runner.run_pipeline(["r02_freeze_new_data"], profile="ci", log_output=False)
    assert [(o.round_id, o.status) for o in outcomes] == [("r01_base", "failed"), ("r02_freeze_new_data", "skipped")]
    assert outcomes[0].message == OFFLINE  # not cut at 300 characters
    table = runner.format_outcomes(outcomes)
    assert OFFLINE in table, table
    assert outcomes[0].fix == OFFLINE_FIX and f"fix: {OFFLINE_FIX}" in table, table


def test_the_table_shows_each_line_of_a_note_and_the_fix_below_the_row():
    outcomes = [
        RunOutcome("r01_base", "failed", 2.5, OFFLINE, fix=OFFLINE_FIX),
        RunOutcome("r02_freeze_new_data", "skipped", 0.0, "needs r01_base, which did not finish"),
        RunOutcome("r03_merge", "refused", 1.0, "round 'r03_merge' changed:\n  train.epochs 50 -> 100", fix="--force"),
        RunOutcome("p01_video", "ok", 65.0, notebook=Path("outputs/ci/p01_video/05_predict_json.ipynb")),
    ]
    assert runner.format_outcomes(outcomes).splitlines() == [
        "round                 status        time  note",
        f"r01_base              failed       0m02s  {OFFLINE}",
        f"    fix: {OFFLINE_FIX}",
        "r02_freeze_new_data   skipped      0m00s  needs r01_base, which did not finish",
        "r03_merge             refused      0m01s  round 'r03_merge' changed:",
        "      train.epochs 50 -> 100",
        "    fix: --force",
        "p01_video             ok           1m05s  outputs/ci/p01_video/05_predict_json.ipynb",
    ]
