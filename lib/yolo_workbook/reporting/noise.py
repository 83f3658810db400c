"""Training noise in the verdict: how far two trainings of one round drift apart by the seed alone.

A round with ``repeat: N`` keeps N runs that differ only in their seed, and per metric their standard
deviation (``repeats.spread`` in ``metrics.json``, :mod:`yolo_workbook.training.repeats`).

The rule: the training noise ``s`` of a metric is the standard deviation of the repeated runs of the
round and of its base, whichever have repeats, pooled (each weighted by its runs minus one). The verdict
compares one run of each round (their own runs), so a delta that the seed alone makes has a standard
deviation of ``s * sqrt(2)``; the band is twice that, ``2 * sqrt(2) * s`` (about 95% of such deltas,
under a normal approximation). A delta inside the band is ``within training noise``, outside it
``beyond training noise``. The pooled deviation assumes the two rounds are about as noisy; with 3 seeds
it is itself rough (2 degrees of freedom): read the band as an order of magnitude.

This says nothing about the validation images: the bootstrap interval beside it does
(:mod:`yolo_workbook.reporting.intervals`). A delta can be beyond training noise and still within the
noise of a small val split, or the reverse. So where the verdict has both, it gives one word for both
(:func:`yolo_workbook.reporting.intervals.call_of`): ``better`` or ``worse`` only beyond both, else
``within noise``, with the band beside it (:meth:`Noise.source`); ``within training noise`` and
``beyond training noise`` are then only what ``metrics.json`` keeps per metric, and what the verdict says
where it has no interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

BAND = 2 * math.sqrt(2)  # the band, in pooled standard deviations of one run
SHOWN_RUNS = 10  # the journal's table of runs stops there


@dataclass(frozen=True)
class Noise:
    """The pooled training noise of a round and its base.

    Attributes:
        rounds (tuple[str, ...]): The rounds whose repeats measured it.
        std (dict[str, float]): Metric (``mAP50``, ``mAP50-95``, ``<class> AP50``) -> pooled standard deviation.
        runs (dict[str, int]): Metric -> how many runs measured it (all rounds together).
    """

    rounds: tuple[str, ...]
    std: dict[str, float] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)

    def band(self, metric: str) -> float | None:
        """``2 * sqrt(2) * std``: how far the seed alone moves a delta of this metric (None when not measured)."""
        return BAND * self.std[metric] if metric in self.std else None

    def call(self, metric: str, delta: float | None) -> str:
        """``within training noise``, ``beyond training noise``, or ``""`` when the metric or the delta is unknown."""
        band = self.band(metric)
        if band is None or delta is None:
            return ""
        return "within training noise" if abs(delta) <= band else "beyond training noise"

    def text(self, metric: str, delta: float | None) -> str:
        """``, within training noise ±0.085 (3 seeds of r03_merge)`` for a verdict without an interval, or ``""``."""
        call = self.call(metric, delta)
        if not call:
            return ""
        return f", {call} ±{self.band(metric):.3f} ({self.runs[metric]} seeds of {' and '.join(self.rounds)})"

    def source(self, metric: str) -> str:
        """``training noise ±0.085, 3 seeds of r03_merge``: the band beside a verdict's word, or ``""``."""
        band = self.band(metric)
        if band is None:
            return ""
        return f"training noise ±{band:.3f}, {self.runs[metric]} seeds of {' and '.join(self.rounds)}"

    def as_record(self, deltas: dict[str, float | None]) -> dict[str, Any]:
        """The ``training_noise`` field of ``metrics.json``'s ``comparison``, for the deltas given (metric -> delta)."""
        return {
            "rounds": list(self.rounds),
            "band_in_std": round(BAND, 4),
            "metrics": {
                metric: {
                    "std": round(std, 6),
                    "band": round(BAND * std, 6),
                    "runs": self.runs[metric],
                    "call": self.call(metric, deltas.get(metric)) or "no delta",
                }
                for metric, std in self.std.items()
            },
        }


def noise_of(record: dict[str, Any], base: dict[str, Any] | None) -> Noise | None:
    """The pooled training noise of ``record`` and ``base`` from their ``repeats``; None when neither has repeats."""
    measured = [r for r in (record, base) if r and ((r.get("repeats") or {}).get("spread"))]
    if not measured:
        return None
    squares: dict[str, float] = {}
    freedom: dict[str, int] = {}
    for found in measured:
        for metric, entry in found["repeats"]["spread"].items():
            n = int(entry["n"])
            squares[metric] = squares.get(metric, 0.0) + (n - 1) * float(entry["std"]) ** 2
            freedom[metric] = freedom.get(metric, 0) + n - 1
    std = {metric: math.sqrt(squares[metric] / freedom[metric]) for metric in squares if freedom[metric] > 0}
    runs = {metric: freedom[metric] + sum(1 for r in measured if metric in r["repeats"]["spread"]) for metric in std}
    return Noise(tuple(str(r["round_id"]) for r in measured), std, runs)


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def runs_table(record: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """The journal's table of a round's repeated runs: per seed mAP50, mAP50-95 and AP50 per class, then the mean
    ± std and the min – max of each column; at most :data:`SHOWN_RUNS` runs. None for a round trained once."""
    found = record.get("repeats") or {}
    runs, spread = found.get("runs") or [], found.get("spread") or {}
    if len(runs) < 2:
        return None
    names = list((record.get("data") or {}).get("names") or [])
    metrics = ["mAP50", "mAP50-95", *(f"{name} AP50" for name in names)]
    header = ["seed", *metrics]
    rows = []
    for run in runs[:SHOWN_RUNS]:
        values = [run.get("mAP50"), run.get("mAP50-95"), *((run.get("per_class") or {}).get(n) for n in names)]
        rows.append([str(run["seed"]) + (" (own)" if run.get("folder") == "train" else ""), *map(_cell, values)])
    if len(runs) > SHOWN_RUNS:
        rows.append([f"(+{len(runs) - SHOWN_RUNS} more runs)", *[""] * len(metrics)])
    rows.append(
        [
            "mean ± std",
            *(f"{spread[m]['mean']:.3f} ± {spread[m]['std']:.3f}" if m in spread else "–" for m in metrics),
        ]
    )
    rows.append(
        ["min – max", *(f"{spread[m]['min']:.3f} – {spread[m]['max']:.3f}" if m in spread else "–" for m in metrics)]
    )
    return header, rows
