"""A sweep round: trials instead of one training, the best of them becoming the round.

``train_or_sweep(rnd)`` is what the training notebooks call: a round without a ``sweep`` section trains
once (:func:`yolo_workbook.training.train.train_round`); a sweep round runs its trials, one at a time in
this process (``backend: local``) or as Ray Tune trials (``backend: ray``,
:mod:`yolo_workbook.tuning.raybackend`), and then makes its best trial the round's own: the trial's run
folder is copied to ``train/``, validated as ultralytics' final evaluation validates, and recorded in
``metrics.json`` with the trial's arguments as the round's ``train_args`` and a ``sweep`` field. Later rounds
start from its weights (``model.from: <sweep round>``) like any round's; ``sweep.best.yaml`` is a round file
with the chosen arguments, ready to copy.

Re-running is safe, as for any round: under the round's lock; a finished sweep with the same inputs is up to
date (more ``trials`` than it ran trains only the new ones); changed inputs are refused without ``force``
(the old sweep moves to ``history/``); a stopped sweep goes on from ``trials.json``, training again only the
trial that was running, with its arguments.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.config.explain import yolo_command
from yolo_workbook.config.params import Round, next_round_id, save_resolved
from yolo_workbook.config.sweeps import SweepSpec, parse_sweep
from yolo_workbook.core import jobs
from yolo_workbook.core.errors import SweepError
from yolo_workbook.core.files import publish_folder, write_atomic
from yolo_workbook.data import dataset
from yolo_workbook.training import metrics, rerun, valstats
from yolo_workbook.training.finish import validate_trained
from yolo_workbook.training.train import (
    TrainResult,
    check_round,
    check_train_args,
    prepare_data,
    train_round,
)
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning import raybackend
from yolo_workbook.tuning import trial as trials
from yolo_workbook.tuning.run import SweepRun

LOGGER = logging.getLogger(__name__)
BEST_FILE = "sweep.best.yaml"


def train_or_sweep(rnd: Round, *, force: bool = False) -> TrainResult:
    """Train the round: once, or, when it has a ``sweep`` section, as a sweep whose best trial becomes the round.

    Args:
        rnd (Round): The resolved round.
        force (bool): Train a finished round again (its earlier results move to ``history/``).

    Returns:
        (TrainResult): The round's folder, best weights and record (for a sweep: its best trial's).

    Examples:
        >>> from yolo_workbook.config.params import load_round
        >>> result = train_or_sweep(load_round("r09_sweep_sitae", profile="demo"))  # doctest: +SKIP
        >>> result.record["sweep"]["arguments"]  # doctest: +SKIP
        {'lr0': 0.0061, 'cls_pw': 0.71, 'freeze': 8}
    """
    if not rnd.sweep:
        return train_round(rnd, force=force)
    return run_sweep(rnd, force=force)


def missing_trials(rnd: Round, record: dict[str, Any] | None = None) -> int:
    """How many trials a sweep round lacks (0 for a round that is not a sweep, or has ended them all)."""
    if not rnd.sweep:
        return 0
    ledger = ledgers.read_ledger(rnd.output_dir)
    budget = int(rnd.sweep.get("trials") or parse_sweep(rnd).trials)
    return max(budget - len(ledgers.ended(ledger)) if ledger else budget, 0)


def check_sweep(rnd: Round) -> SweepSpec | None:
    """A sweep round's section parsed, and its backend able to run (Ray installed, its cluster answering):
    what the runner checks before it starts a kernel. None for a round that is not a sweep.

    Raises:
        ParamsError: The sweep section is not valid.
        RayClusterError: Ray is missing, or the cluster's address does not answer.
    """
    if not rnd.sweep:
        return None
    spec = parse_sweep(rnd)  # its objective's class was checked with the round (config.classnames)
    if spec.backend == "ray":  # before anything moves: Ray installed, the cluster's address answering
        raybackend.check_backend(spec.ray, where=rnd.where("sweep", "backend"))
    return spec


def run_sweep(rnd: Round, *, force: bool = False) -> TrainResult:
    """Run a sweep round's missing trials and make its best trial the round's (see the module docstring).

    Raises:
        ParamsError: The sweep section or the train arguments are not valid.
        RoundChangedError: The sweep finished with other inputs and ``force`` is off; nothing ran.
        SweepError: No trial ended with an objective; the Ray backend is missing or unreachable.
    """
    with jobs.for_round(rnd) as job:  # the OpenMP opt-in before torch loads; the lock before anything is read or moved
        spec = check_sweep(rnd) or parse_sweep(rnd)
        check_train_args(rnd)
        checks = rerun.handed_checks(rnd, job.handed, training=True) or check_round(rnd, training=True)
        return _sweep_locked(rnd, job, spec, checks, force=force)


def _sweep_locked(rnd: Round, job: jobs.Job, spec: SweepSpec, checks: rerun.RoundChecks, *, force: bool) -> TrainResult:
    round_dir = rnd.output_dir
    inputs, state = checks.inputs or {}, checks.state
    if state is None:
        raise ValueError(f"the checks of round '{rnd.round_id}' are a prediction's, not a training round's")
    digest = ledgers.inputs_sha256(inputs)
    try:
        ledger = ledgers.read_ledger(round_dir)
    except SweepError:
        if not force:
            raise
        ledger = None  # forced: the damaged file moves to history/ with the rest, below
    same = ledger is not None and ledger["inputs_sha256"] == digest
    lacking = max(spec.trials - len(ledgers.ended(ledger)), 0) if ledger is not None else spec.trials
    state = rerun.check_rerun(rnd, state, force=force, lacking=lacking if same else 0)  # or refuses other inputs
    if state.state == "up-to-date":
        return _result(round_dir, state.record or {})
    if state.state == "complete":
        LOGGER.info(
            f"{rnd.round_id}: finished with {spec.trials - lacking} trials; training the {lacking} more it asks"
        )
        job.archive(["metrics.json"])  # the finished record is replaced once the trials end
    if same and not force and state.state in ("complete", "resume", "finish", "restart", "new"):
        if state.state != "complete":
            done = len(ledgers.ended(ledger))
            LOGGER.info(f"{rnd.round_id}: going on with the stopped sweep: {done} of {spec.trials} trials ended before")
    else:
        job.archive()  # the whole earlier result, trials.json and trials/ included: nothing is deleted
        ledger = None
    round_dir.mkdir(parents=True, exist_ok=True)
    ledger = ledger or ledgers.new_ledger(rnd, spec, inputs_digest=digest)
    for number in ledgers.adopt_finished(ledger, round_dir):
        LOGGER.info(f"{rnd.round_id}: trial {number} had ended (its trial.json); it is not trained again")
    ledger["budget"] = {"trials": spec.trials, "epochs": spec.epochs, "early_stop": spec.early_stop or False}
    data_yaml = prepare_data(rnd, round_dir)
    names = dataset.class_names(dataset.read_data_yaml(data_yaml))
    command = yolo_command(rnd, start_weights=checks.start_weights)  # the shared part; trials.json has the rest
    save_resolved(rnd, round_dir / "params.resolved.yaml", command=command)
    from yolo_workbook.core.fonts import setup_ultralytics

    setup_ultralytics(names)
    interrupted = metrics.build_record(
        rnd, trainer=None, train_dir=round_dir / "train", start_weights=checks.start_weights, data_yaml=data_yaml,
        wall_seconds=0.0, status="interrupted", error="sweep running; this record is replaced when it ends",
        fingerprint=inputs.get("dataset_fingerprint"),
    )  # fmt: skip
    interrupted.update(inputs=inputs)
    metrics.write_record(interrupted, round_dir / "metrics.json")
    run = SweepRun(rnd, spec, ledger, start_weights=checks.start_weights, data_yaml=data_yaml, names=names)
    if spec.backend == "ray":
        raybackend.run_trials(run)
    else:
        run_local(run)
    return promote(run, inputs=inputs)


def run_local(run: SweepRun) -> None:
    """Train the sweep's missing trials one at a time in this process, writing the ledger before and after each."""
    for number in run.todo():
        arguments = run.arguments(number)

        def report(epoch: int, value: float | None) -> bool:
            return trials.stops_early(run.spec, run.ledger, epoch, value)

        LOGGER.info(f"{run.rnd.round_id}: trial {number} of {run.spec.trials}: {trials.shown(arguments)}")
        run.save(ledgers.running_row(number, arguments, backend="local"))
        row = trials.run_trial(
            run.rnd, run.spec, number, arguments, start_weights=run.start_weights, data_yaml=run.data_yaml,
            names=run.names, report=report,
        )  # fmt: skip
        run.save(row)
        run.say(row)


def promote(run: SweepRun, *, inputs: dict[str, Any]) -> TrainResult:
    """Make the best trial the round's own: its folder as ``train/``, validated, recorded; ``sweep.best.yaml``."""
    rnd, spec, ledger = run.rnd, run.spec, run.ledger
    round_dir = rnd.output_dir
    best = ledgers.best_trial(ledger, spec.objective)
    if best is None:
        failed = [r for r in ledger["trials"] if r["status"] == "failed"]
        reason = f" (trial {failed[0]['number']}: {failed[0].get('error', '')})" if failed else ""
        raise SweepError(
            f"{rnd.round_id}: no trial of the sweep ended with a value of {spec.objective.text}{reason}",
            fix=f"read {round_dir / ledgers.FILE_NAME} and the trials' folders; correct the round, then run it"
            " again with --force (the trials move to history/)",
        )
    with jobs.for_round(rnd) as job:  # the sweep's own job (a step inside it joins it): the run's history folder
        job.archive(["train", valstats.FILE_NAME])  # what an earlier, stopped promotion left
    partial = round_dir / ".train.partial"
    shutil.rmtree(partial, ignore_errors=True)  # our own scratch copy of a stopped promotion, never a result
    shutil.copytree(round_dir / best["folder"], partial, ignore=shutil.ignore_patterns("video"))
    publish_folder(partial, round_dir / "train")
    chosen = dataclasses.replace(rnd, train=trials.trial_arguments(rnd, spec, best["arguments"]))
    recorder = valstats.ValStatsRecorder()
    best_pt = round_dir / "train" / "weights" / "best.pt"
    trainer = validate_trained(best_pt, {**chosen.train, "data": str(run.data_yaml)}, round_dir, recorder)
    recorder.save(round_dir)
    record = metrics.build_record(
        chosen, trainer=trainer, train_dir=round_dir / "train", start_weights=run.start_weights,
        data_yaml=run.data_yaml, wall_seconds=float(ledger["seconds"]["wall"]), status="ok",
        fingerprint=inputs.get("dataset_fingerprint"),
    )  # fmt: skip
    record.update(
        inputs=inputs,
        sweep={
            "trials": len(ledgers.ended(ledger)),
            "planned": spec.trials,
            "best": best["number"],
            "objective": spec.objective.as_dict(),
            "value": best["objective"],
            "arguments": best["arguments"],
            "backend": spec.backend,
        },
    )
    write_atomic(round_dir / BEST_FILE, best_round_file(rnd, ledger))
    metrics.write_record(record, round_dir / "metrics.json")
    LOGGER.info(
        f"{rnd.round_id}: the best of {len(ledgers.ended(ledger))} trials is trial {best['number']}"
        f" ({spec.objective.text} {best['objective']:.4f}); its weights are the round's: {best_pt}\n"
        f"{rnd.round_id}: its arguments as a round file to copy: {round_dir / BEST_FILE}"
    )
    return _result(round_dir, record)


def _result(round_dir: Path, record: dict[str, Any]) -> TrainResult:
    return TrainResult(round_dir, round_dir / "train" / "weights" / "best.pt", round_dir / "metrics.json", record)


def best_round_file(rnd: Round, ledger: dict[str, Any]) -> str:
    """A round file that trains once with the arguments the sweep chose: it extends the sweep round (whose
    ``sweep`` section is not inherited) and sets them in ``train``; ready to copy to ``params/``."""
    objective = ledgers.best_trial(ledger, parse_sweep(rnd).objective)
    if objective is None:
        return ""
    slug = rnd.round_id.split("_", 1)[1] if "_" in rnd.round_id else rnd.round_id
    round_id = next_round_id(rnd.round_id, f"{slug}_best")
    header = (
        "# yaml-language-server: $schema=../lib/yolo_workbook/schemas/round.schema.json\n"
        f"# The arguments sweep {rnd.round_id} chose: trial {objective['number']} of {len(ledgers.ended(ledger))},"
        f" {ledger['objective']['text']} {objective['objective']:.4f}.\n"
        f"# Copy it to params/{round_id}.yaml; it trains once with the round's full epochs.\n"
    )
    body = {
        "round_id": round_id,
        "extends": rnd.round_id,
        "notebook": rnd.notebook,
        "why": f"The best of {rnd.round_id}'s trials by {ledger['objective']['text']}, trained with the full epochs.",
        "train": dict(objective["arguments"]),
    }
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
