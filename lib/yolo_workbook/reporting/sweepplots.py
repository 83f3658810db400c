"""Figures of a sweep round, from its ``trials.json``: the objective trial by trial, and against each argument.

Ended trials are dots; pruned trials (stopped early as poor) hollow triangles; failed and running trials
(no objective) crosses and bars along the bottom edge; the best trial a star.
"""

from __future__ import annotations

from typing import Any

from yolo_workbook.reporting.plots import _pyplot
from yolo_workbook.reporting.sweeptext import objective_text

# status -> matplotlib scatter style; a trial without an objective is drawn on the bottom edge. Each set of points
# has a gid: the status, "<status> (no objective)" or "best".
STYLES: dict[str, dict[str, Any]] = {
    "ok": {"marker": "o", "color": "tab:blue", "label": "ended"},
    "pruned": {"marker": "v", "facecolors": "none", "edgecolors": "tab:orange", "label": "pruned (stopped early)"},
    "failed": {"marker": "x", "color": "tab:red", "label": "failed (no objective)"},
    "running": {"marker": "|", "color": "0.5", "label": "running (not ended)"},
}


def _ordered(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(ledger["trials"], key=lambda t: t["number"])


def _has_value(trial: dict[str, Any]) -> bool:
    value = trial.get("objective")
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def running_best(ledger: dict[str, Any]) -> tuple[list[int], list[float]]:
    """The best objective so far after each ended (status ok) trial: trial numbers and values.

    Examples:
        >>> ledger = {"objective": {"direction": "minimize"}, "trials": [
        ...     {"number": 0, "status": "ok", "objective": 3.0}, {"number": 1, "status": "ok", "objective": 4.0},
        ...     {"number": 2, "status": "ok", "objective": 1.5}]}
        >>> running_best(ledger)
        ([0, 1, 2], [3.0, 3.0, 1.5])
    """
    pick = min if ledger["objective"]["direction"] == "minimize" else max
    numbers: list[int] = []
    values: list[float] = []
    for trial in _ordered(ledger):
        if trial["status"] == "ok" and _has_value(trial):
            numbers.append(trial["number"])
            values.append(trial["objective"] if not values else pick(values[-1], trial["objective"]))
    return numbers, values


def _scatter(ax: Any, ledger: dict[str, Any], position: Any, *, legend: bool) -> None:
    """Every trial at ``position(trial)`` on x, its objective on y (on the bottom edge when it has none)."""
    for status, style in STYLES.items():
        trials = [t for t in _ordered(ledger) if t["status"] == status]
        valued = [t for t in trials if _has_value(t)]
        missing = [t for t in trials if not _has_value(t)]
        label = style["label"] if legend else None
        style = {k: v for k, v in style.items() if k != "label"}
        if valued:
            ax.scatter(
                [position(t) for t in valued], [t["objective"] for t in valued], label=label, gid=status, **style
            )
            label = None
        if missing:  # x in data, y in axes fractions: just above the bottom edge, whatever the objective's range
            xs = [position(t) for t in missing]
            edge = {"transform": ax.get_xaxis_transform(), "clip_on": False, "gid": f"{status} (no objective)"}
            ax.scatter(xs, [0.03] * len(xs), label=label, **edge, **style)
    best = [t for t in ledger["trials"] if t["number"] == ledger.get("best") and _has_value(t)]
    if best:
        ax.scatter(
            [position(best[0])],
            [best[0]["objective"]],
            marker="*",
            s=220,
            facecolors="none",
            edgecolors="black",
            zorder=3,
            gid="best",
            label="best trial" if legend else None,
        )


def _range_axis(ax: Any, spec: dict[str, Any]) -> None:
    """The x-axis of a searched range: the whole range shown, log-scaled (ticks at 1, 2, 5) when sampled so."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = spec["low"], spec["high"]
    if spec.get("log") and low > 0:
        ax.set_xscale("log")
        ax.set_xlim(low / 1.25, high * 1.25)
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        margin = (high - low) * 0.05 or 0.5
        ax.set_xlim(low - margin, high + margin)


def objective_by_trial(ledger: dict[str, Any]) -> Any:
    """The objective of each trial in trial order, and the best so far as a step line.

    Args:
        ledger (dict[str, Any]): A ``trials.json``.

    Returns:
        (matplotlib.figure.Figure): One panel; y is the objective (``lower is better`` when minimized).
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 3.2))
    _scatter(ax, ledger, lambda t: t["number"], legend=True)
    numbers, best = running_best(ledger)
    if numbers:
        last = max(t["number"] for t in ledger["trials"])
        ax.step([*numbers, last], [*best, best[-1]], where="post", color="0.3", linewidth=1.2, label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(objective_text(ledger["objective"]))
    ax.set_title(f"{ledger['round_id']}: objective by trial")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    return fig


def objective_by_argument(ledger: dict[str, Any]) -> Any:
    """One panel per searched argument: each trial's value of it against its objective.

    A range sampled on a log scale (``log: true``) gets a log x-axis; a list of choices a categorical
    x-axis, in the order the space lists them.

    Args:
        ledger (dict[str, Any]): A ``trials.json``.

    Returns:
        (matplotlib.figure.Figure): The panels side by side, sharing the objective's y-axis.
    """
    plt = _pyplot()
    space = ledger["space"]
    count = max(1, len(space))
    fig, axes = plt.subplots(1, count, figsize=(3.2 * count + 1.5, 3), sharey=True, squeeze=False)
    for i, (ax, (key, spec)) in enumerate(zip(axes[0], space.items(), strict=False)):
        if isinstance(spec, list):
            labels = [str(choice) for choice in spec]

            def position(trial: dict[str, Any], key: str = key, labels: list[str] = labels) -> float:
                value = str((trial.get("arguments") or {}).get(key))
                return labels.index(value) if value in labels else float("nan")

            ax.set_xticks(range(len(labels)), labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:

            def position(trial: dict[str, Any], key: str = key) -> float:
                value = (trial.get("arguments") or {}).get(key)
                return value if isinstance(value, (int, float)) else float("nan")

            _range_axis(ax, spec)
        _scatter(ax, ledger, position, legend=i == count - 1)
        ax.set_xlabel(key + (" (log scale)" if isinstance(spec, dict) and spec.get("log") else ""))
    axes[0, 0].set_ylabel(objective_text(ledger["objective"]))
    axes[0, -1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.suptitle(f"{ledger['round_id']}: objective by searched argument", fontsize=10)
    fig.tight_layout()
    return fig
