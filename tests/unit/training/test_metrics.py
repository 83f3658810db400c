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


def test_a_round_on_merged_data_records_the_merge_class_mapping(ci_data, outputs, tmp_path):
    import jsonschema

    from yolo_workbook.config import params
    from yolo_workbook.training import train

    rnd = params.load_round("r03_merge", profile="ci", use_local=False)
    data_yaml = train.prepare_data(rnd, tmp_path)  # the merge of classroom_v1 and classroom_v2
    record = metrics.build_record(
        rnd, trainer=None, train_dir=tmp_path / "train", start_weights="best.pt", data_yaml=data_yaml,
        wall_seconds=0.0, status="interrupted", fingerprint="sha256:0",
    )  # fmt: skip
    assert record["data"]["merge"] == {
        "names": ["student", "desk", "sitae"],
        "sources": [
            {"name": "classroom_v1", "names": ["student", "desk", "sitae"], "moved": []},
            {"name": "classroom_v2", "names": ["desk", "student", "sitae"], "moved": [[0, 1], [1, 0]]},
        ],
    }
    jsonschema.validate(record, metrics.schema())
    one = params.load_round("r01_base", profile="ci", use_local=False)
    single = metrics.build_record(
        one, trainer=None, train_dir=tmp_path / "train", start_weights="yolov8n.yaml", data_yaml=ci_data["first"],
        wall_seconds=0.0, status="interrupted", fingerprint="sha256:0",
    )  # fmt: skip
    assert "merge" not in single["data"]  # one dataset: nothing merged
