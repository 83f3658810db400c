"""``metrics.json``: one record per round, written by the package and read by everything else."""

from __future__ import annotations

import csv
import hashlib
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.core import paths, schemas
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.core.text import column_widths, format_duration, format_row, table
from yolo_workbook.data import dataset

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
            print(f"warning: skipping unreadable record {path}")
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


# The leaderboard's overall columns: (title, key of ``overall``). Every metric column is higher-is-better
# except the video's count error.
OVERALL_COLUMNS = (("mAP50", "mAP50"), ("mAP50-95", "mAP50-95"), ("P", "precision"), ("R", "recall"))
# The video score's columns, when a round has one: (title, key of ``video.score.overall``, lower is better).
VIDEO_COLUMNS = (("count err", "count_mae_stable", True), ("IDF1", "idf1", False))


@dataclass(frozen=True)
class Leaderboard:
    """The leaderboard as cells: :func:`format_leaderboard` prints it, the journal draws it as a table.

    Attributes:
        header (list[str]): Column titles: round, status, mAP50, mAP50-95, P, R, AP50 per class, the video
            score (count err: the stable count's mean absolute error per frame; IDF1) when a round has one,
            train time.
        rows (list[list[str]]): One row per round, each cell as shown (``-`` where there is no value).
        align (str): ``<`` (text) or ``>`` (number) per column.
        best (frozenset[tuple[int, int]]): ``(row, column)`` of the best value of each metric
            column (the highest; the lowest count error; ties all count; only where two rounds or more
            have a value). Train time is not ranked.
    """

    header: list[str]
    rows: list[list[str]]
    align: str
    best: frozenset[tuple[int, int]] = field(default_factory=frozenset)


def leaderboard(records: list[dict[str, Any]]) -> Leaderboard:
    """The rounds side by side: mAP50, mAP50-95, P, R, AP50 per class (all names of all rounds), video, time."""
    names: list[str] = []
    for record in records:
        for name in (record.get("data") or {}).get("names", []):
            if name not in names:
                names.append(name)
    video = VIDEO_COLUMNS if any(record.get("video") for record in records) else ()
    header = [
        "round",
        "status",
        *(title for title, _ in OVERALL_COLUMNS),
        *(f"AP50 {n}" for n in names),
        *(title for title, _, _ in video),
        "train time",
    ]
    values: list[list[float | None]] = []
    rows = []
    for record in records:
        overall = record.get("overall") or {}
        per_class = record.get("per_class") or {}
        numbers = [overall.get(key) for _, key in OVERALL_COLUMNS]
        numbers += [(per_class.get(n) or {}).get("AP50") for n in names]
        scored = ((record.get("video") or {}).get("score") or {}).get("overall") or {}
        numbers += [scored.get(key) for _, key, _ in video]
        numbers = [round(v, 3) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in numbers]
        values.append(numbers)
        cells = ["-" if v is None else f"{v:.3f}" for v in numbers]
        took = format_duration(record.get("train_seconds"))
        rows.append([record["round_id"], record.get("status", "?"), *cells, took])
    best = set()
    lower_is_better = {len(header) - 3 - len(video) + i for i, (_, _, lower) in enumerate(video) if lower}
    for column in range(len(header) - 3):
        present = {i: row[column] for i, row in enumerate(values) if row[column] is not None}
        if len(present) >= 2:
            top = (min if column in lower_is_better else max)(present.values())
            best |= {(i, column + 2) for i, value in present.items() if value == top}
    return Leaderboard(header, rows, "<<" + ">" * (len(header) - 2), frozenset(best))


def format_leaderboard(records: list[dict[str, Any]]) -> str:
    """A fixed-width table of rounds: mAP50, mAP50-95, P, R, per-class AP50, training time.

    Columns align by display width (a Hangul class name takes two columns a character).
    """
    if not records:
        return "(no finished rounds yet)"
    board = leaderboard(records)
    video = len(VIDEO_COLUMNS) if board.header[-2] == VIDEO_COLUMNS[-1][0] else 0
    classes = len(board.header) - 7 - video
    minimum = [22, 8, 7, 9, 7, 7, *[15] * classes, *[9] * video, 12]
    return table([board.header, *board.rows], align=board.align, minimum=minimum)


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


def format_result(record: dict[str, Any]) -> str:
    """Overall and per-class results of one round, with the training time (columns aligned by display width)."""
    overall = record.get("overall")
    if not overall:
        return f"{record['round_id']}: no metrics ({record['status']}: {record.get('error') or '-'})"
    rows = [["class", "AP50", "AP50-95", "P", "R", "instances"]]
    for name, c in (record.get("per_class") or {}).items():
        numbers = (c["AP50"], c["AP50-95"], c["precision"], c["recall"])
        rows.append([name, *(f"{v:.3f}" for v in numbers), str(c["instances"])] if c["in_val"] else [name])
    widths = column_widths(rows, [14, 7, 9, 7, 7, 11])
    lines = [
        f"{record['round_id']}: mAP50 {overall['mAP50']:.3f}  mAP50-95 {overall['mAP50-95']:.3f}"
        f"  P {overall['precision']:.3f}  R {overall['recall']:.3f}"
        f"  best epoch {record['best_epoch']}/{record['epochs_run']}  time {format_duration(record['train_seconds'])}",
    ]
    for row in rows:
        if len(row) == 1:  # a class absent from val: one note across the number columns
            lines.append(format_row([row[0], "absent from val"], [widths[0], sum(widths[1:])], "<>", indent="  "))
        else:
            lines.append(format_row(row, widths, "<>>>>>", indent="  "))
    return "\n".join(lines)
