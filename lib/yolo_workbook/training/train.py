"""Train one round: resolve its data and starting weights, run ultralytics, record the result."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.config import classmap
from yolo_workbook.config.argrules import RESERVED_TRAIN_KEYS, argument_problem
from yolo_workbook.config.explain import yolo_command
from yolo_workbook.config.params import Round, save_resolved
from yolo_workbook.core import jobs, paths
from yolo_workbook.core.errors import DatasetError, ParamsError
from yolo_workbook.data import dataset
from yolo_workbook.data.merge import merge_datasets, merged_dir, oversample
from yolo_workbook.training import labelcache, metrics, repeats, rerun, valstats
from yolo_workbook.training.devices import check_round_devices
from yolo_workbook.training.finish import keep_resume_copy, trained_metrics, validate_trained, wait_for_background_plots
from yolo_workbook.training.fit import fit
from yolo_workbook.training.loggers import check_loggers
from yolo_workbook.training.weights import load_model, resolve_start_weights

LOGGER = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What :func:`train_round` wrote.

    Attributes:
        round_dir (Path): ``outputs/<profile>/<round_id>/``.
        best_weights (Path): ``train/weights/best.pt``.
        metrics_path (Path): ``metrics.json``.
        record (dict): The content of ``metrics.json``.
    """

    round_dir: Path
    best_weights: Path
    metrics_path: Path
    record: dict[str, Any]


def check_train_args(rnd: Round) -> dict[str, Any]:
    """Validate the train section with ultralytics' own rules; errors name the file and key."""
    for key in (*RESERVED_TRAIN_KEYS, "freeze"):  # what ultralytics takes silently: config.argrules' rules
        problem = argument_problem(key, rnd.train[key], section="train") if key in rnd.train else None
        if problem:
            raise ParamsError(f"{rnd.where('train', key)}: train.{key} {problem[0]}", fix=problem[1])
    from ultralytics.cfg import get_cfg

    try:
        get_cfg(overrides=dict(rnd.train))
    except (SyntaxError, TypeError, ValueError) as exc:
        key = next((k for k in rnd.train if f"'{k}'" in str(exc)), "")
        where = rnd.where("train", key) if key else " + ".join(rnd.files)
        first = str(exc).strip().splitlines()
        reason = next((line for line in first if line.strip() and "'yolo" not in line), str(exc))
        raise ParamsError(
            f"{where}: train{'.' + key if key else ''} is not accepted by ultralytics: {reason.strip()}",
            fix="see https://docs.ultralytics.com/usage/cfg/#train-settings for names, types and ranges",
        ) from None
    check_round_devices(rnd)
    return dict(rnd.train)


def check_data(rnd: Round) -> list[Path]:
    """The data.yaml files of the round, each checked to exist with its train and val folders."""
    sources = rnd.data_paths()
    if not sources:
        raise ParamsError(
            f"{rnd.where('data', 'use')}: round '{rnd.round_id}' uses no dataset",
            fix="add 'data: {use: [name]}' naming a dataset of the 'datasets:' section",
        )
    for path, name in zip(sources, rnd.data_use, strict=True):
        dataset.resolve_splits(path, dataset=name)  # the error names the path looked for
    return sources


def prepare_data(rnd: Round, round_dir: Path) -> Path:
    """The data.yaml to train on: the single source, or a merge of several (classes matched by
    name, shared by the rounds that use the same sources), then the oversampled list if asked.
    The round's data was checked before (:func:`check_round`)."""
    sources = rnd.data_paths()
    data_yaml = sources[0]
    if len(sources) > 1:
        folder = merged_dir(paths.profile_dir(rnd.profile), sources, rnd.data_use)
        data_yaml = merge_datasets(sources, folder, names=rnd.data_use)
    if rnd.oversample:
        options = rnd.oversample
        facts = oversample(
            data_yaml,
            round_dir / "data.yaml",
            classes=list(options.get("classes") or []),
            target_share=float(options.get("target_share", 0)),
        )
        LOGGER.info(
            f"oversampling {', '.join(facts['classes'])}: {facts['share_before']:.1%} -> {facts['share_after']:.1%}"
            f" of training boxes ({facts['added']} image entries repeated)"
        )
        data_yaml = round_dir / "data.yaml"
    return data_yaml


def yolo_train_command(rnd: Round) -> list[str]:
    """The plain ``yolo train ...`` command that runs the same training as this round."""
    return yolo_command(rnd, start_weights=resolve_start_weights(rnd))


def train_round(rnd: Round, *, force: bool = False) -> TrainResult:
    """Train one round into ``outputs/<profile>/<round_id>/`` and write its ``metrics.json``.

    Running a round again is safe: a finished round with the same params, starting weights and
    data is up to date (nothing runs); one whose inputs changed is refused unless ``force``; an
    interrupted one resumes from its own ``last.pt``. Earlier results move to
    ``history/<timestamp>/``, never deleted. Until training ends, the record says ``interrupted``. With
    ``repeat: N``, N - 1 more runs with other seeds follow and are added to the record
    (:mod:`yolo_workbook.training.repeats`).

    Args:
        rnd (Round): The resolved round (see :func:`yolo_workbook.config.params.load_round`).
        force (bool): Train again even when the round finished with other inputs (or is up to date).

    Returns:
        (TrainResult): Paths of what was written, and the metrics record.

    Examples:
        >>> from yolo_workbook.config.params import load_round
        >>> result = train_round(load_round("r01_base", profile="ci"))  # doctest: +SKIP
        >>> result.record["overall"]["mAP50"]  # doctest: +SKIP
        0.62
    """
    if rnd.sweep:
        raise ParamsError(
            f"{rnd.where('sweep', 'space')}: round '{rnd.round_id}' is a sweep (it has a 'sweep:' section)",
            fix="run it with yolo_workbook.tuning.sweep.train_or_sweep (notebooks 03 and 04), or yolo-workbook run",
        )
    with jobs.for_round(rnd) as job:  # the OpenMP opt-in before torch loads; the lock before anything is read or moved
        check_loggers(rnd)
        train_args = check_train_args(rnd)
        # The runner's checks when it ran them for this kernel and they still hold; else every check here.
        checks = rerun.handed_checks(rnd, job.handed, training=True) or check_round(rnd, training=True)
        return _train_locked(rnd, job, train_args, checks, force=force)


def check_round(rnd: Round, *, training: bool) -> rerun.RoundChecks:
    """Check a round before it runs: its data (training), its starting weights, and (training) what running it
    now would do. The runner does this before it starts a kernel; :func:`train_round` when no runner did.

    Args:
        rnd (Round): The resolved round.
        training (bool): A training round (data, inputs and re-run state), or a prediction (weights only).

    Returns:
        (RoundChecks): The checked starting weights and, for a training round, its inputs and state.

    Raises:
        ParamsError: The round uses no dataset.
        DatasetError: A data.yaml, or a split folder it names, is missing; or (a training round that is not up to
            date) its data has errors that ultralytics would drop images for (:func:`refuse_data_errors`).
        WeightsFromNotRunError: ``model.from`` names a round that has not run under this profile.
        WeightsError: The weights file is cut short, damaged, or cannot be found or downloaded.
    """
    if training:
        check_data(rnd)  # a missing data.yaml fails here, before the weights are looked for
    weights = resolve_start_weights(rnd)
    stamps = rerun.input_stamps(rnd, weights, training=training)  # before the files are read for the inputs
    if not training:
        return rerun.RoundChecks(weights, stamps)
    inputs = rerun.round_inputs(rnd, weights)
    state = rerun.round_state(rnd, inputs)
    if state.state != "up-to-date":  # what it will train on: an image ultralytics drops would be dropped silently
        refuse_data_errors(rnd)
    return rerun.RoundChecks(weights, stamps, inputs, state)


# A refusal lists this many errors; ``data check`` lists them all.
ERRORS_SHOWN = 5


def refuse_data_errors(rnd: Round) -> None:
    """Refuse a round whose datasets have errors in the splits it trains on (the ``data check``'s rules).

    ultralytics would leave out each such image with one log line ("ignoring corrupt image/label") and train
    on the rest; the round would end ``ok`` on less data than the user believes. About 0.1 s for the demo data
    (two exports, 424 images, on 2 CPU cores).

    Raises:
        DatasetError: The errors, the first few with file, line and fix, and the command that lists them all.
    """
    from yolo_workbook.data.check import check_dataset, training_errors

    for path, name in zip(rnd.data_paths(), rnd.data_use, strict=True):
        errors = training_errors(check_dataset(path))
        if not errors:
            continue
        shown = "\n".join(f"  {problem}" for problem in errors[:ERRORS_SHOWN])
        more = f"\n  ... and {len(errors) - ERRORS_SHOWN} more" if len(errors) > ERRORS_SHOWN else ""
        raise DatasetError(
            f"{rnd.where('data', 'use')}: dataset '{name}' has {len(errors)} error(s) in the splits round"
            f" '{rnd.round_id}' trains on; ultralytics would leave those images out and train on the rest:\n"
            f"{shown}{more}",
            fix=f"fix each as its line says, then run the round again ('yolo-workbook data check {path}' lists them"
            " all)",
        )


def _train_locked(
    rnd: Round, job: jobs.Job, train_args: dict[str, Any], checks: rerun.RoundChecks, *, force: bool
) -> TrainResult:
    round_dir = rnd.output_dir
    best, metrics_path = round_dir / "train" / "weights" / "best.pt", round_dir / "metrics.json"
    weights, inputs, state = checks.start_weights, checks.inputs, checks.state
    if inputs is None or state is None:
        raise ValueError(f"the checks of round '{rnd.round_id}' are a prediction's, not a training round's")
    lacking = repeats.missing_seeds(rnd, state.record or {})
    state = rerun.check_rerun(rnd, state, force=force, lacking=len(lacking))
    if state.state == "up-to-date":
        return TrainResult(round_dir, best, metrics_path, state.record or {})
    if state.state == "complete":  # its own run is done: the repeats it lacks, on the data it trained on
        LOGGER.info("%s: finished; training the %d repeat(s) it lacks", rnd.round_id, len(lacking))
        data_yaml = prepare_data(rnd, round_dir)
        found = repeats.train_missing(
            rnd, state.record or {}, start_weights=weights, data_yaml=data_yaml, metrics_path=metrics_path
        )
        return TrainResult(round_dir, best, metrics_path, found)
    resume_from = state.last_weights if state.state in ("resume", "finish") and not force else None
    round_dir.mkdir(parents=True, exist_ok=True)
    earlier_seconds = 0.0
    if resume_from:
        rows = metrics.read_results_csv(round_dir / "train" / "results.csv")
        earlier_seconds = rows[-1].get("time", 0.0) if rows else 0.0
        if state.state == "finish":
            LOGGER.info(
                f"{rnd.round_id}: all {len(rows)} epochs were trained before the run was stopped; validating"
                f" {best} and writing the record (nothing is trained again)"
            )
        else:
            LOGGER.info(
                f"{rnd.round_id}: resuming the interrupted training from {resume_from} ({len(rows)} epochs done)"
            )
    finishing = state.state == "finish" and resume_from is not None  # validates best.pt: no model to load here
    # Loaded before anything moves: a file that cannot be loaded stops the round with one line naming it.
    model = None if finishing else load_model(resume_from or weights, where=rnd.where("model", "from"))
    if not resume_from:
        job.archive()  # the whole earlier result (its video score, export, repeats...), into one history folder
    data_yaml = prepare_data(rnd, round_dir)
    save_resolved(rnd, round_dir / "params.resolved.yaml", command=yolo_command(rnd, start_weights=weights))
    from yolo_workbook.core.fonts import setup_ultralytics

    data_names = dataset.class_names(dataset.read_data_yaml(data_yaml))
    setup_ultralytics(data_names)
    transfer = None
    if not resume_from:  # how the head's class rows go from the weights' classes to the data's
        weights_names = [str(n) for _, n in sorted((getattr(model, "names", None) or {}).items())]
        transfer = classmap.head_transfer(weights_names, data_names, cls_remap=bool(train_args.get("cls_remap", True)))
        if transfer and transfer["how"] != "same":
            LOGGER.info(f"{rnd.round_id}: {transfer['text']}")

    def record(status: str, error: str = "", trainer: Any = None) -> dict[str, Any]:
        built = metrics.build_record(
            rnd,
            trainer=trainer,
            train_dir=round_dir / "train",
            start_weights=weights,
            data_yaml=data_yaml,
            wall_seconds=earlier_seconds + time.time() - started,
            status=status,
            error=error,
            fingerprint=inputs["dataset_fingerprint"],  # hashed once, with the inputs
        )
        built.update(inputs=inputs, resumed=resume_from is not None)
        if not resume_from:
            built["class_transfer"] = transfer
        elif state.record and "class_transfer" in state.record:  # said when the round started
            built["class_transfer"] = state.record["class_transfer"]
        metrics.write_record(built, metrics_path)
        return built

    started = time.time()
    record("interrupted", "training started; this record is replaced when it ends")
    recorder = valstats.ValStatsRecorder()  # holds the last validation: ultralytics' final_eval
    try:
        if finishing:
            trainer: Any = validate_trained(best, (state.progress or {}).get("train_args") or {}, round_dir, recorder)
        else:
            model.add_callback("on_model_save", keep_resume_copy)
            model.add_callback("on_val_start", recorder.on_val_start)
            if resume_from:
                fit(rnd, model, resume=str(resume_from), data=str(data_yaml))
            else:
                fit(rnd, model, data=str(data_yaml), project=str(round_dir), name="train", exist_ok=False, **train_args)
            trainer = trained_metrics(model.trainer, best, {**train_args, "data": str(data_yaml)}, recorder)
    except KeyboardInterrupt:
        record("interrupted", "KeyboardInterrupt: run the round again to resume it")
        raise
    except Exception as exc:
        record("failed", (str(exc).strip().splitlines() or [type(exc).__name__])[0], getattr(model, "trainer", None))
        traceback.print_exc()
        raise
    wait_for_background_plots()
    recorder.save(round_dir)
    final = record("ok", "", trainer)  # written before any repeat: a stopped repeat leaves it whole
    for line in labelcache.dropped_lines(final.get("data_dropped")):
        LOGGER.warning(f"{rnd.round_id}: {line}")
    final = repeats.train_missing(rnd, final, start_weights=weights, data_yaml=data_yaml, metrics_path=metrics_path)
    return TrainResult(round_dir, best, metrics_path, final)
