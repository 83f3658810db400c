"""Journal records whose classes are the founding user's 학생, 책상, 시태 (the journal's unit and browser tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from yolo_workbook.reporting import journal
from yolo_workbook.training import metrics

HANGUL = ["학생", "책상", "시태"]
HANGUL_PROFILE = "ko"
HANGUL_RE = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")  # jamo, compatibility jamo, syllables


def hangul_record(round_id: str, base: str, ap50: list[float | None], overall: float, seconds: float) -> dict:
    """A ``metrics.json`` record with the founding user's class names, valid against the schema."""
    per_class = {
        name: {
            "id": cid,
            "in_val": value is not None,
            "instances": 0 if value is None else 20 + cid,
            "images": 0 if value is None else 10,
            "precision": None if value is None else 0.7,
            "recall": None if value is None else 0.6,
            "AP50": value,
            "AP50-95": None if value is None else round(value / 2, 4),
            "train_boxes": 100 - 40 * cid,
            "train_share": round((100 - 40 * cid) / 180, 4),
        }
        for cid, (name, value) in enumerate(zip(HANGUL, ap50, strict=True))
    }
    return {
        "schema_version": 2,
        "round_id": round_id,
        "profile": HANGUL_PROFILE,
        "notebook": "03_finetune" if base else "02_base_train",
        "status": "ok",
        "error": "",
        "finished_at": "2026-11-26T10:00:00+0900",
        "base": base,
        "weights_from": base or "yolov8n.pt",
        "start_weights": "yolov8n.pt",
        "data": {"use": ["교실"], "data_yaml": "data.yaml", "names": HANGUL},
        "train_args": {"epochs": 5, "lr0": 0.01},
        "epochs_planned": 5,
        "epochs_run": 5,
        "best_epoch": 4,
        "train_seconds": seconds,
        "params_diff": [{"change": "~", "key": "train.lr0", "old": 0.01, "new": 0.005}] if base else [],
        "overall": {"precision": 0.7, "recall": 0.6, "mAP50": overall, "mAP50-95": round(overall / 2, 4)},
        "per_class": per_class,
        "dataset_fingerprint": "sha256:0",
        "versions": {"python": "3.11"},
        "git_commit": "",
        "why": f"{round_id}: 시태가 드물어서 데이터 증강을 더 한다",
        "expect": "시태 AP50이 오르고 책상은 그대로",
        "inputs": {},
        "resumed": False,
    }


# r02 has the best mAP50 and 학생 AP50, r01 the best 시태 AP50; 책상 ties at 0.950 (both marked).
HANGUL_RECORDS = [
    hangul_record("r01_base", "", [0.800, 0.950, 0.612], 0.787, 79),
    hangul_record("r02_lr_low", "r01_base", [0.910, 0.950, 0.405], 0.755, 95),
    hangul_record("r03_no_sitae_in_val", "r02_lr_low", [0.850, 0.900, None], 0.700, 3725),
]


def write_hangul_journal(outputs: Path) -> tuple[Path, Path]:
    """``journal.md`` and ``journal.html`` of :data:`HANGUL_RECORDS`, written under ``outputs``."""
    import jsonschema

    for record in HANGUL_RECORDS:
        jsonschema.validate(record, metrics.schema())
        folder = outputs / HANGUL_PROFILE / record["round_id"]
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        (folder / "train").mkdir()
        lines = ["epoch,train/box_loss,train/cls_loss,val/cls_loss,metrics/mAP50-95(B)"]
        lines += [f"{e},{2 / e},{3 / e},{3.5 / e},{record['overall']['mAP50-95'] * e / 5}" for e in range(1, 6)]
        (folder / "train" / "results.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return journal.write_journal(HANGUL_PROFILE)
