"""``metrics.json``: one record per round, written by the package and read by everything else."""

from __future__ import annotations

import csv
import hashlib
import logging
import platform
import subprocess
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.core import paths, schemas
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.data import dataset
from yolo_workbook.data.merge import round_merge
from yolo_workbook.training import labelcache

LOGGER = logging.getLogger(__name__)
SCHEMA_VERSION = 2
# What each earlier version called a field: version 1 said "parent" for the round a round extends
# and "model_from" for model.from; version 2 names the two relations apart.
_RENAMED_SINCE = {1: {"parent": "base", "model_from": "weights_from"}}


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("ultralytics", "torch", "numpy", "yolo-workbook"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def git_commit() -> str:
    """The project's git commit (with ``+dirty`` when the tree has changes), or ``""``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit}+dirty" if commit and dirty else commit


def dataset_fingerprint(data_yamls: list[Path]) -> str:
    """A content hash of the data.yaml files and every label file of every split.

    It reads every label file: compute it once per round and pass it on (the runner hands it to
    the kernel with :func:`dataset_stamp`, which says whether it still holds).
    """
    return _dataset_digest(data_yamls, lambda label: label.read_bytes() if label.is_file() else b"")


def dataset_stamp(data_yamls: list[Path]) -> str:
    """What :func:`dataset_fingerprint` depends on, without reading a label file: the data.yaml files, the
    image names of every split, and each label file's size and modification time (``-`` when missing).

    Equal stamps mean an unchanged fingerprint, unless a label file was rewritten with the same size
    within the file system's time resolution.
    """

    def stamp(label: Path) -> bytes:
        try:
            facts = label.stat()
        except FileNotFoundError:
            return b"-;"
        return f"{facts.st_size}:{facts.st_mtime_ns};".encode()

    return _dataset_digest(data_yamls, stamp)


def _dataset_digest(data_yamls: list[Path], label_bytes: Callable[[Path], bytes]) -> str:
    """The SHA-256 of each data.yaml, then per split and image its name and ``label_bytes`` of its label file."""
    digest = hashlib.sha256()
    for data_yaml in data_yamls:
        digest.update(data_yaml.read_bytes())
        for split, entries in sorted(dataset.resolve_splits(data_yaml).items()):
            for entry in entries:
                for image in dataset.list_images(entry):
                    digest.update(f"{split}/{image.name}".encode())
                    digest.update(label_bytes(dataset.label_path(image)))
    return f"sha256:{digest.hexdigest()}"


def read_results_csv(path: Path) -> list[dict[str, float]]:
    """Rows of an ultralytics ``results.csv`` as floats (column names stripped of padding)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{k.strip(): float(v) for k, v in row.items() if k and v not in (None, "")} for row in rows]


def per_class_numbers(det: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """Class name -> id, in_val, instances, images, precision, recall, AP50, AP50-95 of a validation (``DetMetrics``);
    the numbers are None for a class absent from val."""
    present = [int(i) for i in det.ap_class_index]
    per_class: dict[str, dict[str, Any]] = {}
    for cid, name in enumerate(names):
        instances = int(det.nt_per_class[cid]) if det.nt_per_class is not None else 0
        images = int(det.nt_per_image[cid]) if det.nt_per_image is not None else 0
        entry: dict[str, Any] = {"id": cid, "in_val": cid in present, "instances": instances, "images": images}
        if cid in present:
            p, r, ap50, ap = det.class_result(present.index(cid))
            entry.update(precision=float(p), recall=float(r), AP50=float(ap50), **{"AP50-95": float(ap)})
        else:
            # ultralytics fills absent classes with the overall mAP; never report that as real.
            entry.update(precision=None, recall=None, AP50=None, **{"AP50-95": None})
        per_class[name] = entry
    return per_class


def build_record(
    rnd: Round,
    *,
    trainer: Any,
    train_dir: Path,
    start_weights: str,
    data_yaml: Path,
    wall_seconds: float,
    status: str,
    error: str = "",
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """Assemble the ``metrics.json`` record of a round from its trainer and ``results.csv``.

    ``fingerprint`` is the dataset fingerprint of the round's inputs (computed when None: that reads every label
    file, so a caller that has it passes it).
    """
    rows = read_results_csv(train_dir / "results.csv")
    names = dataset.class_names(dataset.read_data_yaml(data_yaml))
    det = getattr(getattr(trainer, "validator", None), "metrics", None)
    has_metrics = status == "ok" and det is not None and len(getattr(det, "ap_class_index", [])) > 0
    best_row = max(rows, key=lambda r: r.get("metrics/mAP50-95(B)", -1.0)) if rows else None
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "round_id": rnd.round_id,
        "profile": rnd.profile,
        "notebook": rnd.notebook,
        "status": status,
        "error": error,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base": rnd.base,
        "weights_from": rnd.weights_from,
        "start_weights": start_weights,
        "data": {"use": rnd.data_use, "data_yaml": str(data_yaml), "names": names},
        "train_args": rnd.train,
        "epochs_planned": int(rnd.train.get("epochs", 100)),
        "epochs_run": len(rows),
        "best_epoch": int(best_row["epoch"]) if best_row else None,
        "train_seconds": round(wall_seconds, 2),
        "overall": None,
        "per_class": None,
        "dataset_fingerprint": _fingerprint_of(rnd) if fingerprint is None else fingerprint,
        "versions": _versions(),
        "git_commit": git_commit(),
        "why": rnd.why,
        "expect": rnd.expect,
        "inputs": {},
        "resumed": False,
    }
    record["params_diff"] = _params_diff(rnd)
    merge = round_merge(rnd)  # several datasets: what the merge did to their class ids
    if merge:
        record["data"]["merge"] = merge
    if status != "interrupted":  # read once the training has read the data (its label caches are written then)
        dropped = labelcache.data_dropped(data_yaml)
        if dropped:
            record["data_dropped"] = dropped
    if has_metrics:
        record["overall"] = {
            "precision": float(det.box.mp),
            "recall": float(det.box.mr),
            "mAP50": float(det.box.map50),
            "mAP50-95": float(det.box.map),
        }
        record["per_class"] = per_class_numbers(det, names)
        train_boxes = _train_boxes(data_yaml, names)
        total = sum(train_boxes.values()) or 1
        for name, entry in record["per_class"].items():
            entry["train_boxes"] = train_boxes.get(name, 0)
            entry["train_share"] = round(train_boxes.get(name, 0) / total, 4)
    return record


def _fingerprint_of(rnd: Round) -> str:
    return dataset_fingerprint(rnd.data_paths()) if rnd.data_use else ""


def _train_boxes(data_yaml: Path, names: list[str]) -> dict[str, int]:
    try:
        train = dataset.count_dataset(data_yaml)["splits"].get("train", {})
    except Exception:  # a record is still written when the data cannot be counted again
        return {}
    return {name: train.get("per_class", {}).get(name, {}).get("boxes", 0) for name in names}


def _params_diff(rnd: Round) -> list[dict[str, Any]]:
    """The resolved params' changes against the round this one extends (same profile)."""
    from yolo_workbook.config.explain import diff_rounds
    from yolo_workbook.config.params import load_round

    if not rnd.base:
        return []
    try:
        base = load_round(rnd.base, profile=rnd.profile, check=False)
    except Exception:
        return []
    return [{"change": kind, "key": key, "old": old, "new": new} for kind, key, old, new in diff_rounds(base, rnd)]


def write_record(record: dict[str, Any], path: Path) -> Path:
    """Write a ``metrics.json`` atomically."""
    return write_json(path, record)


def load_records(profile: str) -> list[dict[str, Any]]:
    """Every readable ``metrics.json`` under ``outputs/<profile>/``, in round order.

    A record that a crash left unreadable is skipped with a warning, never fatal.
    """
    records = []
    for path in sorted(paths.profile_dir(profile).glob("*/metrics.json")):
        record = read_json(path)
        if not isinstance(record, dict) or "round_id" not in record:
            LOGGER.warning("skipping unreadable record %s", path)
            continue
        records.append(upgrade_record(record))
    return records


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any earlier schema version, with the field names of the current one.

    Examples:
        >>> upgrade_record({"schema_version": 1, "round_id": "r04", "parent": "r03", "model_from": "r02"})
        {'schema_version': 2, 'round_id': 'r04', 'base': 'r03', 'weights_from': 'r02'}
    """
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or version >= SCHEMA_VERSION:
        return record
    upgraded = dict(record)
    for since in range(version, SCHEMA_VERSION):
        for old, new in _RENAMED_SINCE.get(since, {}).items():
            if old in upgraded:
                upgraded = {new if key == old else key: value for key, value in upgraded.items()}
    upgraded["schema_version"] = SCHEMA_VERSION
    return upgraded


def schema() -> dict[str, Any]:
    """The JSON Schema of ``metrics.json``."""
    return schemas.load("metrics.schema.json")


def record_facts(record: dict[str, Any]) -> str:
    """The deterministic facts of a record (what nbval checks): status, epochs, classes, schema."""
    schemas.validate(record, schema())
    per_class = record.get("per_class") or {}
    absent = [n for n, c in per_class.items() if not c["in_val"]]
    return "\n".join(
        [
            f"status          {record['status']}",
            f"epochs          {record['epochs_run']} of {record['epochs_planned']}",
            f"classes         {', '.join(record['data']['names'])}",
            f"absent in val   {', '.join(absent) or 'none'}",
            "metrics.json    valid against schemas/metrics.schema.json",
        ]
    )
