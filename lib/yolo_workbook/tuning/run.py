"""One run of a sweep: what every trial needs, and the ledger it writes as each trial starts and ends.

The sweep (:mod:`yolo_workbook.tuning.sweep`) makes a :class:`SweepRun` and hands it to a backend: its own
local loop, or Ray Tune's (:mod:`yolo_workbook.tuning.raybackend`). Both ask it which trials to train, with
which arguments, and give it each trial's row, so the ledger is written the same way whichever runs.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.config.sweeps import SweepSpec
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import trial as trials

LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass
class SweepRun:
    """One run of a sweep: what every trial needs, and the ledger it writes after each trial.

    Attributes:
        rnd (Round): The sweep round.
        spec (SweepSpec): Its ``sweep`` section, parsed.
        ledger (dict[str, Any]): Its ``trials.json``, kept up to date by :meth:`save`.
        start_weights (str): The weights every trial starts from.
        data_yaml (Path): The round's prepared data.yaml.
        names (list[str]): The class names of that data.
        started (float): When this run began (``time.time()``): the ledger's wall time adds what it took.
    """

    rnd: Round
    spec: SweepSpec
    ledger: dict[str, Any]
    start_weights: str
    data_yaml: Path
    names: list[str]
    started: float = dataclasses.field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.wall_before = float(self.ledger["seconds"]["wall"])

    def save(self, row: dict[str, Any] | None = None) -> None:
        """Put ``row`` (when given) into the ledger, update the best trial and the times, and write it."""
        if row is not None:
            ledgers.put_trial(self.ledger, row)
        best = ledgers.best_trial(self.ledger, self.spec.objective)
        self.ledger["best"] = best["number"] if best else None
        self.ledger["seconds"] = {
            "wall": round(self.wall_before + time.time() - self.started, 2),
            "trials": round(sum(r.get("train_seconds", 0.0) for r in ledgers.ended(self.ledger)), 2),
        }
        ledgers.write_ledger(self.rnd.output_dir, self.ledger)

    def todo(self) -> list[int]:
        """The numbers of the trials to train: the lowest that did not end (a stopped one first), up to the budget."""
        ended = {r["number"] for r in ledgers.ended(self.ledger)}
        need, numbers, number = max(self.spec.trials - len(ended), 0), [], 0
        while len(numbers) < need:
            if number not in ended:
                numbers.append(number)
            number += 1
        return numbers

    def arguments(self, number: int) -> dict[str, Any]:
        """A stopped trial's arguments, or new ones from the sampler."""
        stopped = next((r for r in ledgers.running(self.ledger) if r["number"] == number), None)
        return dict(stopped["arguments"]) if stopped else trials.suggest(self.spec, self.ledger, number)

    def say(self, row: dict[str, Any]) -> None:
        """Log how a trial ended: its arguments, its objective and the best trial so far."""
        shown = trials.shown(row["arguments"])
        value = "-" if row.get("objective") is None else f"{row['objective']:.4f}"
        best = self.ledger.get("best")
        LOGGER.info(
            f"{self.rnd.round_id}: trial {row['number']} {row['status']} after {row['epochs_run']} epochs"
            f" ({shown}): {self.spec.objective.text} {value}; best so far: trial {best}"
        )
