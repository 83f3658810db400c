"""A sweep's trials as Ray Tune trials (``sweep.backend: ray``): on a local Ray, or on a Ray cluster.

Ray Tune runs the trials; the workbook keeps what it keeps with the local backend:

- **which arguments**: :class:`LedgerSearcher`, a Ray Tune ``Searcher`` that asks the same seeded sampler as
  the local backend (:func:`yolo_workbook.tuning.trial.suggest`) and numbers the trials; a trial that was
  running when the sweep stopped is asked for again with its arguments;
- **how a trial trains**: :func:`yolo_workbook.tuning.trial.run_trial`, in a Ray worker, reporting the
  objective after each epoch (``tune.report``); poor trials are stopped by Ray's ASHA scheduler
  (``sweep.early_stop``: ``grace_epochs``, ``reduction_factor``);
- **what is kept**: ``trials.json``, written by the driver (this process) as each trial starts and ends, and
  each trial's folder in the round folder. Ray's own experiment state goes to ``<round>/ray/``
  (``sweep.ray.storage`` elsewhere).

Which Ray: ``sweep.ray.address``, else ``RAY_ADDRESS``, else a local Ray started for the sweep and stopped
after it (:mod:`yolo_workbook.core.raycluster`, shared by any job that fans out on Ray). On a cluster every
node needs the project at the same path (its ``outputs/`` on shared storage) and the workbook installed: see
``docs/how-to/ray-cluster.md``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from yolo_workbook.core import openmp, paths, raycluster
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import trial as trials
from yolo_workbook.tuning.run import SweepRun

LOGGER = logging.getLogger(__name__)
ROW_FILE = ledgers.ROW_FILE


def check_backend(spec_ray: dict[str, Any], *, where: str = "") -> None:
    """Refuse, before a sweep moves anything, a Ray backend that cannot run: Ray missing, an address not answering.

    Raises:
        RayClusterError: With the fix (install the extra; start the cluster or correct the address).
    """
    raycluster.import_ray(where)
    address, origin = raycluster.ray_address(str(spec_ray.get("address") or ""), "sweep.ray.address")
    if address:
        raycluster.check_reachable(address, origin)


def start_ray(spec_ray: dict[str, Any]) -> tuple[Any, bool]:
    """A sweep's Ray (:func:`yolo_workbook.core.raycluster.start_ray`): ``sweep.ray.address``, ``RAY_ADDRESS``, or a
    local Ray; returns ``(ray, started_here)``."""
    return raycluster.start_ray(str(spec_ray.get("address") or ""), "sweep.ray.address")


def _searcher_class() -> type:
    from ray.tune.search import Searcher

    class LedgerSearcher(Searcher):
        """Ray Tune's source of trials: the sweep's own numbers and arguments, the ledger written as they go."""

        def __init__(self, run: SweepRun, metric: str, mode: str) -> None:
            super().__init__(metric=metric, mode=mode)
            self.run = run
            self.todo = run.todo()
            self.numbers: dict[str, int] = {}

        def suggest(self, trial_id: str) -> dict[str, Any] | None:
            if not self.todo:
                return Searcher.FINISHED
            number = self.todo.pop(0)
            arguments = self.run.arguments(number)
            self.numbers[trial_id] = number
            self.run.save(ledgers.running_row(number, arguments, backend="ray"))
            total, said = self.run.spec.trials, trials.shown(arguments)
            LOGGER.info("%s: trial %s of %s (Ray): %s", self.run.rnd.round_id, number, total, said)
            return {"number": number, "arguments": arguments}

        def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
            number = self.numbers.get(trial_id)
            if number is None:
                return
            row = ended_row(self.run, number, error=error)
            self.run.save(row)
            self.run.say(row)

        def save(self, checkpoint_path: str) -> None:  # the ledger is the sweep's state: nothing else to keep
            return None

        def restore(self, checkpoint_path: str) -> None:
            return None

    return LedgerSearcher


def ended_row(run: SweepRun, number: int, *, error: bool) -> dict[str, Any]:
    """A Ray trial's ledger row: the one it wrote when it ran to its end, else the one it wrote after its last
    epoch, ended here (a trial that ASHA stopped is ``pruned``; one that raised is ``failed``)."""
    folder = run.rnd.output_dir / ledgers.trial_folder(number)
    written = read_json(folder / ROW_FILE)
    mine = isinstance(written, dict) and written.get("number") == number
    if mine and written.get("status") in ledgers.ENDED:
        return written
    row = written if mine else next(r for r in run.ledger["trials"] if r["number"] == number)
    reported = list(row.get("intermediate") or [])
    last = next((v for v in reversed(reported) if v is not None), None)
    row = {
        **row,
        "status": "failed" if error else "pruned",
        "objective": None if error else last,  # its last epoch's: Ray stopped it before a final validation
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if error:
        row["error"] = f"the Ray trial raised: see its error file under {run_storage(run)}"
    return row


def run_storage(run: SweepRun) -> Path:
    """Where Ray Tune keeps the sweep's experiment state: ``sweep.ray.storage``, or ``<round>/ray``."""
    given = str(run.spec.ray.get("storage") or "")
    return paths.project_path(given) if given else run.rnd.output_dir / "ray"


def _trainable(config: dict[str, Any], context: dict[str, Any]) -> None:
    """One Ray trial (in a Ray worker): train it as the local backend does, report each epoch, leave its row."""
    from ray import tune

    run = context
    openmp.apply_opt_in(run["rnd"].runtime)  # in this worker too, before torch loads
    from yolo_workbook.core.fonts import setup_ultralytics

    setup_ultralytics(run["names"])
    number, arguments = int(config["number"]), dict(config["arguments"])
    maximize = run["spec"].objective.direction == "maximize"
    row_file = run["rnd"].output_dir / ledgers.trial_folder(number) / ROW_FILE
    partial, values, started = ledgers.running_row(number, arguments, backend="ray"), [], time.time()

    def report(epoch: int, value: float | None) -> bool:
        # The row so far first: ASHA may stop this process at the report, and the driver then builds the row from it.
        values.append(value)
        seconds = round(time.time() - started, 2)
        write_json(row_file, {**partial, "epochs_run": epoch, "intermediate": values, "train_seconds": seconds})
        if epoch < run["spec"].epochs:  # the last epoch is no rung (trial.rungs): the trial ends as it would locally
            tune.report({"objective": (0.0 if maximize else 1e9) if value is None else value, "epoch": epoch})
        return False  # ASHA stops the trial itself

    row = trials.run_trial(
        run["rnd"], run["spec"], number, arguments,
        start_weights=run["start_weights"], data_yaml=Path(run["data_yaml"]), names=run["names"],
        report=report if run["spec"].objective.per_epoch else None, backend="ray",
    )  # fmt: skip
    write_json(row_file, row)


def run_trials(run: SweepRun) -> None:
    """Train the sweep's missing trials as Ray Tune trials; the ledger is written by the searcher as they go."""
    if not run.todo():
        return
    ray, started_here = start_ray(run.spec.ray)
    try:
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        spec = run.spec
        mode = "max" if spec.objective.direction == "maximize" else "min"
        scheduler: Any = FIFOScheduler()
        if spec.early_stop and spec.objective.per_epoch:
            # max_t one past the last epoch: at max_t ASHA stops a trial, and a trial that trained every epoch must
            # still be validated and leave its row.
            scheduler = ASHAScheduler(
                time_attr="epoch", metric="objective", mode=mode, max_t=spec.epochs + 1,
                grace_period=spec.early_stop["grace_epochs"], reduction_factor=spec.early_stop["reduction_factor"],
            )  # fmt: skip
        context = {
            "rnd": run.rnd, "spec": spec, "start_weights": run.start_weights, "data_yaml": str(run.data_yaml),
            "names": run.names,
        }  # fmt: skip
        resources = {"cpu": float(spec.ray["cpus_per_trial"]), "gpu": float(spec.ray["gpus_per_trial"])}
        trainable = tune.with_resources(tune.with_parameters(_trainable, context=context), resources)
        searcher = _searcher_class()(run, metric="objective", mode=mode)
        storage = run_storage(run)
        storage.mkdir(parents=True, exist_ok=True)
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher, scheduler=scheduler, num_samples=len(run.todo()),
                max_concurrent_trials=int(spec.ray["concurrent"]),
            ),
            run_config=tune.RunConfig(
                storage_path=str(storage.resolve()), name=f"{run.rnd.profile or 'default'}_{run.rnd.round_id}",
                verbose=1,
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )  # fmt: skip
        tuner.fit()
    finally:
        if started_here:
            ray.shutdown()
    # What the searcher wrote is the truth (with a ray:// address it ran beside the cluster, not in this process).
    found = ledgers.read_ledger(run.rnd.output_dir)
    if found is not None:
        run.ledger = found
    stopped = ledgers.running(run.ledger)
    if stopped:  # Ray Tune returns from a Ctrl-C as from an end: the sweep did not end
        raise KeyboardInterrupt(
            f"{run.rnd.round_id}: the Ray sweep stopped with trial(s) {', '.join(str(r['number']) for r in stopped)}"
            " unfinished; run the round again to go on"
        )
