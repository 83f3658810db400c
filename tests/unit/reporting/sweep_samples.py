"""Hand-written ``trials.json`` ledgers for the sweep display tests (valid against ``trials.schema.json``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def trial(number: int, status: str, objective: float | None, arguments: dict, **extra: Any) -> dict:
    """One trial entry; ``extra`` overrides or adds fields (``epochs_run``, ``error``, ``metrics`` ...)."""
    entry = {
        "number": number,
        "folder": f"trials/t{number:03d}",
        "arguments": arguments,
        "status": status,
        "epochs_run": 3,
        "objective": objective,
        "intermediate": [],
        "metrics": None if objective is None else {"mAP50": 0.8, "mAP50-95": 0.5 + number / 100},
        "per_class": None,
        "count_err": None,
        "train_seconds": 60.0 + number,
        "started_at": "2026-11-26T10:00:00+0900",
        "finished_at": "2026-11-26T10:01:00+0900",
        "backend": "local",
    }
    return {**entry, **extra}


SPACE = {"lr0": {"low": 0.001, "high": 0.02, "log": True}, "cls_pw": {"low": 0.0, "high": 1.0}, "freeze": [6, 8, 10]}

# Maximize 시태 AP50: trial 2 is best (0.612); trial 1 was pruned after 1 epoch; trial 3 failed.
MAXIMIZE = {
    "schema_version": 1,
    "round_id": "r09_sweep_sitae",
    "profile": "ko",
    "inputs_sha256": "sha256:0",
    "objective": {"text": "시태 AP50", "metric": "AP50", "class": "시태", "direction": "maximize"},
    "space": SPACE,
    "budget": {"trials": 5, "epochs": 3, "early_stop": {"grace_epochs": 1, "reduction_factor": 2}},
    "seed": 0,
    "fixed": {"optimizer": "SGD"},
    "best": 2,
    "seconds": {"wall": 400.0, "trials": 300.0},
    "trials": [
        trial(0, "ok", 0.401, {"lr0": 0.0012, "cls_pw": 0.25, "freeze": 8}),
        trial(1, "pruned", 0.105, {"lr0": 0.0185, "cls_pw": 0.9, "freeze": 6}, epochs_run=1),
        trial(2, "ok", 0.612, {"lr0": 0.0051, "cls_pw": 0.5, "freeze": 10}),
        trial(3, "failed", None, {"lr0": 0.002, "cls_pw": 0.1, "freeze": 6}, epochs_run=0, error="CUDA out of memory"),
        trial(4, "ok", 0.550, {"lr0": 0.009, "cls_pw": 0.75, "freeze": 8}),
    ],
}

# Minimize the count error: trial 1 is best (1.2); trial 2 is still running; no seconds recorded.
MINIMIZE = {
    "schema_version": 1,
    "round_id": "r10_sweep_count",
    "profile": "ko",
    "inputs_sha256": "sha256:1",
    "objective": {"text": "count err", "metric": "count err", "class": None, "direction": "minimize"},
    "space": {"optimizer": ["SGD", "AdamW"], "mosaic": {"low": 0.0, "high": 1.0}},
    "budget": {"trials": 4, "epochs": 2, "early_stop": False},
    "seed": 3,
    "best": 1,
    "trials": [
        trial(0, "ok", 2.5, {"optimizer": "SGD", "mosaic": 0.5}, epochs_run=2, count_err=2.5),
        trial(1, "ok", 1.2, {"optimizer": "AdamW", "mosaic": 0.25}, epochs_run=2, count_err=1.2),
        trial(2, "running", None, {"optimizer": "SGD", "mosaic": 0.75}, epochs_run=0),
    ],
}

BEST_YAML = """round_id: r09_sweep_sitae_best
extends: r03_merge
notebook: 03_finetune
why: the best of r09_sweep_sitae's 5 trials (시태 AP50 0.612)
train:
  optimizer: SGD
  lr0: 0.0051
  cls_pw: 0.5
  freeze: 10
"""


def ledger(kind: dict) -> dict:
    """A deep copy of a sample ledger (tests change their copy freely)."""
    return copy.deepcopy(kind)


def write_sweep(round_dir: Path, doc: dict, best_yaml: str = "") -> Path:
    """``trials.json`` (and ``sweep.best.yaml`` when given) in ``round_dir``."""
    round_dir.mkdir(parents=True, exist_ok=True)
    (round_dir / "trials.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    if best_yaml:
        (round_dir / "sweep.best.yaml").write_text(best_yaml, encoding="utf-8")
    return round_dir
