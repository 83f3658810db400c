"""One trial of a sweep: choose its arguments, train it into ``trials/tNNN/``, measure its objective.

Both backends run a trial through :func:`run_trial` (the local one in this process, the Ray one in a Ray
worker), so a trial trains, reports and is measured the same way wherever it runs. The arguments come from
Optuna's TPE sampler (:func:`suggest`), given every trial that ended so far and seeded with
``sweep.seed + trial number``: the same sweep asks for the same arguments, stopped and resumed or not. With
fewer trials behind it than its start-up count, TPE samples at random.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.config.sweeps import Objective, SweepSpec
from yolo_workbook.core.files import archive_previous
from yolo_workbook.training import metrics
from yolo_workbook.training.finish import trained_metrics
from yolo_workbook.training.fit import fit
from yolo_workbook.tuning import ledger as ledgers

# Called after each epoch with (epoch, objective after it or None); returns True to stop the trial (pruned).
EpochReport = Callable[[int, float | None], bool]


def distributions(spec: SweepSpec) -> dict[str, Any]:
    """The search space as Optuna distributions."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    found: dict[str, Any] = {}
    for key, dim in spec.space.items():
        if "choices" in dim:
            found[key] = CategoricalDistribution(dim["choices"])
        elif dim["int"]:
            found[key] = IntDistribution(int(dim["low"]), int(dim["high"]), log=dim["log"])
        else:
            found[key] = FloatDistribution(float(dim["low"]), float(dim["high"]), log=dim["log"])
    return found


STARTUP_TRIALS = 10  # Optuna's default; fixed, so that raising sweep.trials does not change earlier draws


def startup_trials(spec: SweepSpec) -> int:
    """Trials that TPE samples at random before it models the others (fixed: see :data:`STARTUP_TRIALS`)."""
    return STARTUP_TRIALS


def study(spec: SweepSpec, ledger: dict[str, Any], number: int) -> Any:
    """An in-memory Optuna study holding every ended trial of the ledger, its sampler seeded for trial ``number``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = distributions(spec)
    sampler = optuna.samplers.TPESampler(seed=spec.seed + number, n_startup_trials=startup_trials(spec))
    found = optuna.create_study(direction=spec.objective.direction, sampler=sampler)
    states = {"ok": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED}
    for row in ledgers.ended(ledger):
        state = states.get(row["status"], optuna.trial.TrialState.FAIL)
        if state == optuna.trial.TrialState.COMPLETE and row.get("objective") is None:
            state = optuna.trial.TrialState.FAIL
        params = {k: v for k, v in row["arguments"].items() if k in space}
        if set(params) != set(space):
            continue  # asked with another space (a ledger of other inputs is not resumed: defensive)
        steps = {i + 1: v for i, v in enumerate(row.get("intermediate") or []) if v is not None}
        found.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=space,
                value=row["objective"] if state == optuna.trial.TrialState.COMPLETE else None,
                intermediate_values=steps,
                state=state,
            )
        )
    return found


def rungs(spec: SweepSpec) -> list[int]:
    """The epochs after which early stopping compares a trial with the others: ``grace_epochs`` x
    ``reduction_factor`` ** k before the trial's last epoch (Ray's ASHA rungs with ``max_t`` = epochs + 1, the
    last epoch left out: a trial that trained every epoch is validated and kept, on both backends)."""
    if not spec.early_stop:
        return []
    grace, factor = spec.early_stop["grace_epochs"], spec.early_stop["reduction_factor"]
    count = int(math.log((spec.epochs + 1) / grace) / math.log(factor) + 1)
    return [grace * factor**k for k in range(count) if grace * factor**k < spec.epochs]


def stops_early(spec: SweepSpec, ledger: dict[str, Any], epoch: int, value: float | None) -> bool:
    """Whether a trial stops after ``epoch`` with this objective: asynchronous successive halving, the rule of
    Ray's ASHA scheduler (``ray.tune.schedulers.AsyncHyperBandScheduler``), on the ended trials' objectives
    after the same epoch. At a rung, a trial stops when it is below the ``1 - 1/reduction_factor`` percentile
    of the others there (above it, for an objective to minimize); with no other trial there, it goes on."""
    if value is None or epoch not in rungs(spec) or not spec.early_stop:
        return False
    recorded = [
        row["intermediate"][epoch - 1]
        for row in ledgers.ended(ledger)
        if len(row.get("intermediate") or []) >= epoch and row["intermediate"][epoch - 1] is not None
    ]
    if not recorded:
        return False
    import numpy as np

    sign = 1.0 if spec.objective.direction == "maximize" else -1.0
    cutoff = np.nanpercentile([sign * v for v in recorded], (1 - 1 / spec.early_stop["reduction_factor"]) * 100)
    return bool(sign * value < cutoff)


def suggest(spec: SweepSpec, ledger: dict[str, Any], number: int) -> dict[str, Any]:
    """The arguments of trial ``number``, given the trials that ended (deterministic for a seed and a ledger)."""
    trial = study(spec, ledger, number).ask(distributions(spec))
    return {key: _plain(trial.params[key]) for key in spec.space}


def _plain(value: Any) -> Any:
    """numpy scalars (what some samplers return) as Python numbers (not rounded: a rounded end leaves the range)."""
    return value.item() if hasattr(value, "item") else value


def shown(arguments: dict[str, Any]) -> str:
    """A trial's arguments for a log line: ``lr0=0.005176, cls_pw=0.7152, freeze=6`` (4 significant digits)."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in arguments.items())


def trial_arguments(rnd: Round, spec: SweepSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    """The train arguments of a trial: the round's, with the searched ones and the sweep's epochs."""
    return {**rnd.train, **arguments, "epochs": spec.epochs}


def objective_value(objective: Objective, overall: dict[str, Any], per_class: dict[str, dict[str, Any]]) -> Any:
    """The objective from a validation's overall numbers and per-class numbers (None when the class has no AP)."""
    if objective.metric in ("mAP50", "mAP50-95"):
        return overall.get(objective.metric)
    if objective.metric in ("AP50", "AP50-95"):
        return (per_class.get(objective.class_name or "") or {}).get(objective.metric)
    return None  # count err: measured on the video after training


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _epoch_objective(objective: Objective, trainer: Any, names: list[str]) -> float | None:
    det = getattr(getattr(trainer, "validator", None), "metrics", None)
    if det is None or not objective.per_epoch:
        return None
    overall = {"mAP50": float(det.box.map50), "mAP50-95": float(det.box.map)}
    value = objective_value(objective, overall, metrics.per_class_numbers(det, names))
    return None if value is None else round(float(value), 6)


class _EpochWatch:
    """ultralytics callbacks: the objective after each epoch into the row, and a stop when ``report`` says so."""

    def __init__(self, objective: Objective, names: list[str], report: EpochReport | None) -> None:
        self.objective, self.names, self.report = objective, names, report
        self.values: list[float | None] = []
        self.pruned = False
        self._loop_over = False  # the epoch loop stopped: the next on_fit_epoch_end is ultralytics' final_eval

    def on_pretrain_routine_start(self, trainer: Any) -> None:
        # ultralytics' own Ray Tune callback reports its metrics in every Ray trial; this trial reports its own.
        for event, funcs in trainer.callbacks.items():
            trainer.callbacks[event] = [f for f in funcs if "raytune" not in getattr(f, "__module__", "")]

    def on_fit_epoch_end(self, trainer: Any) -> None:
        if self._loop_over:
            return
        value = _epoch_objective(self.objective, trainer, self.names)
        self.values.append(value)
        if self.report is not None and self.report(len(self.values), value) and not trainer.stop:
            self.pruned, trainer.stop = True, True
        self._loop_over = bool(trainer.stop)


def run_trial(
    rnd: Round,
    spec: SweepSpec,
    number: int,
    arguments: dict[str, Any],
    *,
    start_weights: str,
    data_yaml: Path,
    names: list[str],
    report: EpochReport | None = None,
    backend: str = "local",
) -> dict[str, Any]:
    """Train trial ``number`` into ``<round>/trials/tNNN/`` and return its ``trials.json`` row.

    A folder of the same trial left by a stopped sweep moves to ``trials/history/`` first. The objective is
    measured on the trial's ``best.pt`` as ultralytics' final validation measured it (or, for ``count err``,
    on the video: :mod:`yolo_workbook.attendance.videoscore`'s settings, files in the trial's ``video/``).

    Args:
        rnd (Round): The sweep round.
        spec (SweepSpec): Its parsed sweep section.
        number (int): The trial's number (0, 1, ...).
        arguments (dict): The searched arguments of this trial.
        start_weights (str): What each trial starts from (the round's checked starting weights).
        data_yaml (Path): The data.yaml to train on.
        names (list[str]): The data's class names.
        report (EpochReport | None): Called after each epoch; True stops the trial (pruned).
        backend (str): ``local`` or ``ray``, for the row.

    Returns:
        (dict): The row: status ``ok``, ``pruned`` or ``failed`` (KeyboardInterrupt is raised, not recorded).
    """
    from ultralytics import YOLO

    row = ledgers.running_row(number, arguments, backend=backend)
    folder = rnd.output_dir / row["folder"]
    archive_previous(folder.parent, [folder.name])
    watch = _EpochWatch(spec.objective, names, report)
    started = time.time()
    try:
        model = YOLO(start_weights)
        model.add_callback("on_pretrain_routine_start", watch.on_pretrain_routine_start)
        model.add_callback("on_fit_epoch_end", watch.on_fit_epoch_end)
        train_args = trial_arguments(rnd, spec, arguments)
        fit(rnd, model, data=str(data_yaml), project=str(folder.parent), name=folder.name, exist_ok=True, **train_args)
        best = folder / "weights" / "best.pt"
        det = trained_metrics(model.trainer, best, {**train_args, "data": str(data_yaml)}, None)
        det = det.validator.metrics
        per_class = metrics.per_class_numbers(det, names)
        overall = {"mAP50": round(float(det.box.map50), 6), "mAP50-95": round(float(det.box.map), 6)}
        value = objective_value(spec.objective, overall, per_class)
        count_err = None
        if spec.objective.metric == "count err":
            count_err = video_count_error(rnd, folder / "weights" / "best.pt", folder / "video")
            value = count_err
        if watch.pruned:  # its value where it was stopped, as on Ray: what early stopping compared
            value = next((v for v in reversed(watch.values) if v is not None), None)
        row.update(
            status="pruned" if watch.pruned else "ok",
            objective=None if value is None else round(float(value), 6),
            metrics=overall,
            per_class={n: {k: _rounded(e[k]) for k in ("AP50", "AP50-95")} for n, e in per_class.items()},
            count_err=count_err,
        )
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # one trial's failure is recorded; the sweep goes on with the others
        traceback.print_exc()
        row.update(status="failed", error=(str(exc).strip().splitlines() or [type(exc).__name__])[0][:300])
    row.update(
        epochs_run=len(metrics.read_results_csv(folder / "results.csv")),
        intermediate=watch.values,
        train_seconds=round(time.time() - started, 2),
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    return row


def video_count_error(rnd: Round, weights: Path, folder: Path) -> float | None:
    """The stable count's mean absolute error per frame of ``weights`` on the round's video (its video score's
    settings), with the prediction's files in ``folder``; None when the truth scores no class."""
    from yolo_workbook.attendance import videoscore

    score = videoscore.score_weights_on_video(rnd, weights, folder).summary.get("score") or {}
    value = (score.get("overall") or {}).get("count_mae_stable")
    return None if value is None else round(float(value), 6)
