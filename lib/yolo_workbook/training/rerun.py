"""Running a round again: up to date, resume after an interruption, or refuse a silent overwrite.

A round's *inputs* are its resolved parameters, the content of its starting weights and the
fingerprint of its data. ``metrics.json`` stores them; comparing them with the current ones says
what a new run would change.

States of a round folder:

- ``new``: nothing there yet: train.
- ``up-to-date``: finished (``ok``) with the same inputs: do nothing, say so.
- ``changed``: finished with other inputs: refuse, naming the changes, unless forced (the old
  results then move to ``history/``, never deleted).
- ``resume``: not finished (``interrupted`` or ``failed``) with the same inputs and a resumable
  ``last.pt``: continue from that file, by explicit path.
- ``finish``: not finished, but its checkpoint holds the last epoch (killed after training, during
  the final validation or the record): validate the best weights and write the record; nothing trains.
- ``restart``: not finished and not resumable: the partial results move to ``history/``, train anew.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.core.files import read_json
from yolo_workbook.training import checkpoints, metrics

# Words, bookkeeping and switches that do not change what is trained (a logger or an OpenMP opt-in).
_NOT_INPUTS = ("why", "expect", "files", "notebook", "chain", "runtime", "loggers")
# ultralytics rewrites last.pt in place; last.resume.pt is the workbook's whole copy of it.
LAST_CHECKPOINTS = ("last.pt", "last.resume.pt")


@dataclass
class RoundState:
    """What running a round now would do, and why."""

    state: str
    changes: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None
    last_weights: Path | None = None
    progress: dict[str, Any] | None = None  # of last_weights: epoch, epochs, train_args


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def round_inputs(rnd: Round, start_weights: str) -> dict[str, Any]:
    """What decides a round's result: resolved params, starting weights' content, data fingerprint."""
    weights = Path(start_weights)
    return {
        "params": {k: v for k, v in rnd.to_dict().items() if k not in _NOT_INPUTS},
        "start_weights": start_weights,
        "start_weights_sha256": file_sha256(weights) if weights.is_file() else "",
        "dataset_fingerprint": metrics.dataset_fingerprint(rnd.data_paths()),
    }


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flat(f"{prefix}.{key}" if prefix else str(key), sub))
        return out
    return {prefix: value}


def input_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Readable differences between two input sets (empty when the same)."""
    changes = []
    before, after = _flat("", old.get("params") or {}), _flat("", new.get("params") or {})
    for key in [*before, *(k for k in after if k not in before)]:
        if before.get(key) != after.get(key):
            changes.append(f"{key}: {before.get(key, '(unset)')} -> {after.get(key, '(unset)')}")
    if old.get("start_weights_sha256") != new.get("start_weights_sha256"):
        changes.append(f"the starting weights changed ({new.get('start_weights')})")
    if old.get("dataset_fingerprint") != new.get("dataset_fingerprint"):
        changes.append("the dataset changed (data.yaml or label files)")
    return changes


def resume_checkpoint(weights_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """``last.pt``, or its whole copy ``last.resume.pt`` when ``last.pt`` was cut short: the newer one, with
    how far it got (:func:`yolo_workbook.training.checkpoints.training_progress`); None when neither can resume."""
    found = [(weights_dir / name, checkpoints.training_progress(weights_dir / name)) for name in LAST_CHECKPOINTS]
    resumable = [(path, progress) for path, progress in found if progress and progress["epoch"] >= 0]
    return max(resumable, key=lambda item: item[1]["epoch"]) if resumable else None


def round_state(rnd: Round, inputs: dict[str, Any]) -> RoundState:
    """Decide what running ``rnd`` now should do (see the module docstring)."""
    folder = rnd.output_dir
    record_path = folder / "metrics.json"
    last = folder / "train" / "weights" / "last.pt"
    if not record_path.exists() and not (folder / "train").exists():
        return RoundState("new")
    record = read_json(record_path)
    if not isinstance(record, dict) or "status" not in record:
        changes = [f"{record_path} is unreadable (cut short by a crash?)"] if record_path.exists() else []
        return RoundState("restart", changes)
    if record.get("inputs"):
        changes = input_changes(record["inputs"], inputs)
    else:
        changes = ["its metrics.json records no inputs (written by an older version): they cannot be compared"]
    if record["status"] == "ok":
        return RoundState("changed" if changes else "up-to-date", changes, record)
    found = resume_checkpoint(last.parent) if not changes else None
    if found:
        checkpoint, progress = found
        trained = progress["epoch"] + 1 >= progress["epochs"] > 0
        if trained and (folder / "train" / "weights" / "best.pt").is_file():
            return RoundState("finish", [], record, checkpoint, progress)
        return RoundState("resume", [], record, checkpoint, progress)
    return RoundState("restart", changes, record)
