"""metrics: records written before the base / weights_from rename stay readable."""

from __future__ import annotations

import json

from yolo_workbook.reporting import compare
from yolo_workbook.training import metrics


def _write(folder, record: dict) -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(record), encoding="utf-8")


def test_a_version_1_record_reads_with_the_new_names(outputs):
    overall = {"mAP50": 0.5, "mAP50-95": 0.3, "precision": 0.6, "recall": 0.5}
    _write(
        outputs / "old" / "r03_merge", {"schema_version": 1, "round_id": "r03_merge", "parent": "", "overall": overall}
    )
    _write(
        outputs / "old" / "r04_lr_cos",
        {
            "schema_version": 1,
            "round_id": "r04_lr_cos",
            "parent": "r03_merge",
            "model_from": "r02_freeze",
            "overall": overall,
        },
    )
    records = metrics.load_records("old")
    r04 = records[1]
    assert r04["base"] == "r03_merge" and r04["weights_from"] == "r02_freeze"
    assert "parent" not in r04 and "model_from" not in r04 and r04["schema_version"] == 2
    assert compare.base_of(r04, records)["round_id"] == "r03_merge"


def test_a_current_record_is_left_as_it_is():
    record = {"schema_version": 2, "round_id": "r04", "base": "r03", "weights_from": "r02", "parent": "kept"}
    assert metrics.upgrade_record(record) is record
