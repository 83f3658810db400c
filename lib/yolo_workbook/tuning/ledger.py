"""``trials.json``: a sweep round's ledger of trials, written after each trial starts and ends.

The ledger is what makes a sweep resumable: a trial is ``running`` from the moment its arguments are
chosen until it ends (``ok``, ``pruned`` or ``failed``). A sweep that was stopped goes on from it: the
``running`` trial trains again with the same arguments, the ended ones never train again. Its format is
``schemas/trials.schema.json``; it is checked on every write and read.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.config.sweeps import Objective, SweepSpec
from yolo_workbook.core import schemas
from yolo_workbook.core.errors import SweepError
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.training.rerun import input_params

FILE_NAME = "trials.json"
TRIALS_DIR = "trials"
ENDED = ("ok", "pruned", "failed")
ROW_FILE = "trial.json"  # what a Ray trial leaves in its folder for the driver (raybackend)


def schema() -> dict[str, Any]:
    """``trials.schema.json``."""
    return schemas.load("trials.schema.json")


def trial_folder(number: int) -> str:
    """A trial's run folder, relative to the round folder: ``trials/t000``."""
    return f"{TRIALS_DIR}/t{number:03d}"


def inputs_sha256(inputs: dict[str, Any]) -> str:
    """A digest of a round's inputs (:func:`yolo_workbook.training.rerun.round_inputs`): what a ledger belongs to.

    What the round's re-run check compares, and only that: its params without what is not an input, the
    starting weights' content (not their path: a moved checkout is the same sweep) and the data's fingerprint.
    """
    decisive = {
        "params": input_params(inputs.get("params") or {}),
        "start_weights_sha256": inputs.get("start_weights_sha256"),
        "dataset_fingerprint": inputs.get("dataset_fingerprint"),
    }
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def new_ledger(rnd: Round, spec: SweepSpec, *, inputs_digest: str) -> dict[str, Any]:
    """An empty ledger for a sweep round."""
    return {
        "schema_version": 1,
        "round_id": rnd.round_id,
        "profile": rnd.profile,
        "inputs_sha256": inputs_digest,
        "objective": spec.objective.as_dict(),
        "space": rnd.sweep.get("space") or {},
        "budget": {"trials": spec.trials, "epochs": spec.epochs, "early_stop": spec.early_stop or False},
        "seed": spec.seed,
        "fixed": {k: v for k, v in rnd.train.items() if k not in spec.space and k != "epochs"},
        "best": None,
        "seconds": {"wall": 0.0, "trials": 0.0},
        "trials": [],
    }


def read_ledger(round_dir: Path) -> dict[str, Any] | None:
    """A round folder's ``trials.json``, checked against ``trials.schema.json``; None when it has none.

    Raises:
        SweepError: The file is not JSON, or not valid against the schema (naming the key), with the fix.
    """
    path = round_dir / FILE_NAME
    if not path.is_file():
        return None
    fix = "restore it from history/, or train the sweep anew with --force (the file and the trials move to history/)"
    found = read_json(path)
    if found is None:
        raise SweepError(f"{path}: not readable JSON (cut short by a crash?)", fix=fix)
    jsonschema = schemas.jsonschema()
    try:
        schemas.validate(found, schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(top level)"
        raise SweepError(f"{path}: key {where} is not valid ({exc.message})", fix=fix) from None
    return found


def write_ledger(round_dir: Path, ledger: dict[str, Any]) -> Path:
    """Check and write the ledger atomically."""
    schemas.validate(ledger, schema())
    return write_json(round_dir / FILE_NAME, ledger)


def put_trial(ledger: dict[str, Any], row: dict[str, Any]) -> None:
    """Add a trial row, or replace the row with the same number."""
    rows = [r for r in ledger["trials"] if r["number"] != row["number"]]
    ledger["trials"] = sorted([*rows, row], key=lambda r: r["number"])


def ended(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """The trials that ended (ok, pruned or failed): never trained again."""
    return [r for r in ledger["trials"] if r["status"] in ENDED]


def running(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """The trials that started but did not end (the sweep was stopped): trained again with the same arguments."""
    return [r for r in ledger["trials"] if r["status"] == "running"]


def best_trial(ledger: dict[str, Any], objective: Objective) -> dict[str, Any] | None:
    """The best ended trial by the objective: among those that trained every epoch, else among the pruned."""
    for status in ("ok", "pruned"):
        found = [r for r in ledger["trials"] if r["status"] == status and isinstance(r.get("objective"), (int, float))]
        if found:
            best = found[0]
            for row in found[1:]:
                if objective.better(row["objective"], best["objective"]):
                    best = row
            return best
    return None


def running_row(number: int, arguments: dict[str, Any], *, backend: str) -> dict[str, Any]:
    """The row of a trial that starts now."""
    return {
        "number": number,
        "folder": trial_folder(number),
        "arguments": arguments,
        "status": "running",
        "epochs_run": 0,
        "objective": None,
        "intermediate": [],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "backend": backend,
    }


def adopt_finished(ledger: dict[str, Any], round_dir: Path) -> list[int]:
    """Take into the ledger the trials that ended but whose end it lacks: a Ray trial writes its row into its folder
    (``trials/tNNN/trial.json``) before the driver records it, and a driver stopped in between must not train it
    again. Returns the numbers adopted."""
    adopted = []
    for row in running(ledger):
        written = read_json(round_dir / row["folder"] / ROW_FILE)
        same = isinstance(written, dict) and written.get("number") == row["number"]
        if same and written.get("status") in ENDED and written.get("arguments") == row["arguments"]:
            put_trial(ledger, written)
            adopted.append(row["number"])
    return adopted
