"""Training noise: a round trained again with other seeds (``repeat: N``), and the spread of its numbers.

The round's own run (its ``train/``, its ``best.pt``, its record) is run 1, with ``train.seed``. With
``repeat: N`` > 1, runs 2..N follow with seeds ``seed + 1`` .. ``seed + N - 1``, the same arguments
otherwise, each into ``repeats/seed_<seed>/`` of the round folder and validated as ultralytics validates
every training (its final evaluation of that run's ``best.pt``). Only their numbers go into the record
(``repeats`` in ``metrics.json``): each run's mAP50, mAP50-95 and AP50 per class, and per metric the
mean, standard deviation (n - 1), minimum and maximum over the runs.

The round's own record is written first; each repeat is added to it when it ends. A repeat that is
stopped leaves the record as it was (status ``ok``, the runs finished so far). Running the round again
then trains only the seeds the record lacks (a finished round with the same inputs is up to date:
``repeat`` is not one of its inputs); the folder of a stopped repeat moves to ``repeats/history/`` first.
Runs that the record holds stay there when ``repeat`` is lowered; training the round anew (``--force``,
changed inputs) moves ``repeats/`` with the rest of the round folder to ``history/``.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.core.files import archive_previous
from yolo_workbook.data import dataset
from yolo_workbook.training import metrics
from yolo_workbook.training.fit import fit

LOGGER = logging.getLogger(__name__)
FOLDER = "repeats"


def seeds(rnd: Round) -> list[int]:
    """The seeds of every run of the round, its own first: ``train.seed`` (ultralytics' default 0) + 0 .. repeat - 1."""
    first = int(rnd.train.get("seed", 0))
    return [first + k for k in range(max(rnd.repeat, 1))]


def run_of_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """The round's own run as a ``repeats.runs`` entry, from its record (None without metrics)."""
    overall = record.get("overall")
    if record.get("status") != "ok" or not overall:
        return None
    return {
        "seed": int((record.get("train_args") or {}).get("seed", 0)),
        "mAP50": overall["mAP50"],
        "mAP50-95": overall["mAP50-95"],
        "per_class": {name: entry.get("AP50") for name, entry in (record.get("per_class") or {}).items()},
        "train_seconds": record.get("train_seconds", 0.0),
        "folder": "train",
    }


def spread(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per metric (``mAP50``, ``mAP50-95``, ``<class> AP50``): n, mean, std (sample, n - 1), min and max over the
    runs that have it (a class absent from val has no AP50); metrics with fewer than two values are left out.

    Examples:
        >>> spread([{"mAP50": 0.5, "mAP50-95": 0.3, "per_class": {}}, {"mAP50": 0.7, "mAP50-95": 0.3, "per_class": {}}])
        {'mAP50': {'n': 2, 'mean': 0.6, 'std': 0.141421, 'min': 0.5, 'max': 0.7}, 'mAP50-95': {'n': 2, 'mean': 0.3, \
'std': 0.0, 'min': 0.3, 'max': 0.3}}
    """
    values: dict[str, list[float]] = {"mAP50": [], "mAP50-95": []}
    for run in runs:
        for key in ("mAP50", "mAP50-95"):
            if isinstance(run.get(key), (int, float)):
                values[key].append(float(run[key]))
        for name, ap50 in (run.get("per_class") or {}).items():
            if isinstance(ap50, (int, float)):
                values.setdefault(f"{name} AP50", []).append(float(ap50))
    out = {}
    for metric, found in values.items():
        if len(found) < 2:
            continue
        mean = sum(found) / len(found)
        std = math.sqrt(sum((v - mean) ** 2 for v in found) / (len(found) - 1))
        out[metric] = {
            "n": len(found),
            "mean": round(mean, 6),
            "std": round(std, 6),
            "min": round(min(found), 6),
            "max": round(max(found), 6),
        }
    return out


def repeats_field(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``repeats`` field of ``metrics.json``: the runs (the round's own first) and their spread."""
    return {"runs": runs, "spread": spread(runs)}


def missing_seeds(rnd: Round, record: dict[str, Any]) -> list[int]:
    """The seeds of the repeats that the round's record lacks (none for ``repeat: 1`` or a round without metrics)."""
    if rnd.repeat <= 1 or run_of_record(record) is None:
        return []
    done = {run["seed"] for run in (record.get("repeats") or {}).get("runs", [])}
    return [seed for seed in seeds(rnd)[1:] if seed not in done]


def train_missing(
    rnd: Round, record: dict[str, Any], *, start_weights: str, data_yaml: Path, metrics_path: Path
) -> dict[str, Any]:
    """Train the repeats that the round's record lacks, adding each to the record (written) as it ends.

    Args:
        rnd (Round): The resolved round.
        record (dict): Its ``metrics.json``, written, status ``ok``.
        start_weights (str): What the round's own run started from (checked).
        data_yaml (Path): The data.yaml it trained on.
        metrics_path (Path): Where the record is.

    Returns:
        (dict): The record, with ``repeats`` when the round has two runs or more.
    """
    missing = missing_seeds(rnd, record)
    if not missing:
        return record
    own = run_of_record(record)
    runs = list((record.get("repeats") or {}).get("runs") or [own])
    names = dataset.class_names(dataset.read_data_yaml(data_yaml))
    from yolo_workbook.core.fonts import setup_ultralytics

    setup_ultralytics(names)
    folder = rnd.output_dir / FOLDER
    LOGGER.info(
        f"{rnd.round_id}: repeat {rnd.repeat}: training seed(s) {', '.join(map(str, missing))} to measure training"
        f" noise, into {folder} (the round's own run, seed {own['seed'] if own else '?'}, is kept as it is)"
    )
    for seed in missing:
        archive_previous(folder, [f"seed_{seed}"])  # what a stopped repeat left
        try:
            run = train_one(rnd, seed, start_weights=start_weights, data_yaml=data_yaml, names=names, folder=folder)
        except KeyboardInterrupt:
            LOGGER.warning(f"{rnd.round_id}: repeat seed {seed} stopped; the record keeps the runs finished so far")
            raise
        except Exception as exc:  # the round's own result stands; the repeat is tried again on the next run
            traceback.print_exc()
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            LOGGER.warning(f"{rnd.round_id}: repeat seed {seed} failed ({reason}); run the round again to retry it")
            continue
        runs.append(run)
        record["repeats"] = repeats_field(runs)
        metrics.write_record(record, metrics_path)
        LOGGER.info(f"{rnd.round_id}: seed {seed}: mAP50 {run['mAP50']:.3f}, mAP50-95 {run['mAP50-95']:.3f}")
    return record


def train_one(
    rnd: Round, seed: int, *, start_weights: str, data_yaml: Path, names: list[str], folder: Path
) -> dict[str, Any]:
    """Train the round once more with ``seed`` into ``folder/seed_<seed>/`` and return its ``repeats.runs`` entry."""
    from ultralytics import YOLO

    model = YOLO(start_weights)
    started = time.time()
    arguments = {**rnd.train, "seed": seed}
    fit(rnd, model, data=str(data_yaml), project=str(folder), name=f"seed_{seed}", exist_ok=True, **arguments)
    det = model.trainer.validator.metrics
    per_class = metrics.per_class_numbers(det, names)
    return {
        "seed": seed,
        "mAP50": float(det.box.map50),
        "mAP50-95": float(det.box.map),
        "per_class": {name: entry["AP50"] for name, entry in per_class.items()},
        "train_seconds": round(time.time() - started, 2),
        "folder": f"{FOLDER}/seed_{seed}",
    }
