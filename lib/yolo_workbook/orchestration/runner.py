"""Run round files headlessly: one notebook per round through papermill, or all of them in order."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.attendance import videoscore
from yolo_workbook.config.params import (
    NOTEBOOKS,
    TRAINING_NOTEBOOKS,
    Round,
    best_weights_of,
    is_round_reference,
    list_rounds,
    load_round,
    read_round_file,
)
from yolo_workbook.core import jobs, paths, schemas
from yolo_workbook.core.errors import BusyError, ParamsError, RoundChangedError, RoundFailedError, WorkbookError
from yolo_workbook.core.text import column_widths, format_duration, format_row
from yolo_workbook.training import repeats, rerun
from yolo_workbook.training.devices import check_round_devices
from yolo_workbook.training.train import check_round
from yolo_workbook.tuning import sweep

LOGGER = logging.getLogger(__name__)
# Rounds run in this order of kinds when nothing else decides: environment, training, prediction.
_KIND_ORDER = {"e": 0, "r": 1, "p": 2}
# The notebooks whose last cell rewrites the journal: after their rounds, a pipeline need not.
JOURNAL_NOTEBOOKS = TRAINING_NOTEBOOKS
NOTE_INDENT = "    "  # the lines of a pipeline table's note after its first, and its fix, below the round's row


@dataclass
class RunOutcome:
    """How one round went in a pipeline."""

    round_id: str
    status: str  # "ok", "refused", "failed" or "skipped"
    seconds: float
    message: str = ""  # whole, never cut: format_outcomes shows every line of it
    notebook: Path | None = None
    fix: str = ""  # what to do about a refused or failed round (the error's own fix)


def notebook_path(name: str) -> Path:
    """``notebooks/<name>.ipynb``."""
    if name not in NOTEBOOKS:
        raise ParamsError(f"unknown notebook {name!r}", fix=f"use one of: {', '.join(NOTEBOOKS)}")
    return paths.NOTEBOOKS_DIR / f"{name}.ipynb"


def round_id_of(path: str | Path) -> str:
    """The round id of a round file path (its stem), checking that the file is in ``params/``."""
    file = Path(path)
    if file.suffix not in (".yaml", ".yml"):
        raise ParamsError(f"{file}: a round file ends in .yaml", fix="e.g. params/r01_base.yaml")
    resolved = file.resolve() if file.is_absolute() else (Path.cwd() / file).resolve()
    if resolved.parent != paths.params_dir().resolve():
        raise ParamsError(
            f"{file}: round files live in {paths.params_dir()}", fix=f"move it there, e.g. params/{file.name}"
        )
    return file.stem


def run_round(round_id: str, *, profile: str = "", log_output: bool = True, force: bool = False) -> Path | None:
    """Execute a round's notebook with papermill into ``outputs/<profile>/<round_id>/``.

    The round is checked (lint, data, start weights, rerun state) before any kernel starts, so
    a typo or a weights_from round that has not run fails in a second. A finished round with unchanged inputs is up to
    date and does not run; one with changed inputs is refused unless ``force``; an interrupted one
    resumes. Earlier results move to ``history/``. The round's lock is taken first and held until
    its notebook ends: a second run of the same round (another terminal, JupyterLab) is refused
    with :class:`BusyError`, naming the process that runs it. The kernel works under that lock and
    reuses these checks while the files they read are unchanged (:mod:`yolo_workbook.training.rerun`).

    Args:
        round_id (str): The round's file stem in ``params/``.
        profile (str): Profile to overlay (``""`` for none).
        log_output (bool): Echo the notebook's output (training progress) to this terminal.
        force (bool): Train a finished round again (its old results are kept in ``history/``).

    Returns:
        (Path | None): The executed notebook, or None when the round was up to date.
    """
    schemas.jsonschema()  # before papermill imports it: spares this process 1.5-3 s (see core.schemas)
    import papermill

    rnd = load_round(round_id, profile=profile)
    with jobs.for_round(rnd) as job:  # held until the notebook ends: its kernel works under this job
        return _run_locked(rnd, job, log_output=log_output, force=force, papermill=papermill)


def _run_locked(rnd: Round, job: jobs.Job, *, log_output: bool, force: bool, papermill: Any) -> Path | None:
    """:func:`run_round` once it holds the round's job (its kernel works under the same job)."""
    round_id, out_dir = rnd.round_id, rnd.output_dir
    training = rnd.notebook in TRAINING_NOTEBOOKS
    checks = None
    if rnd.notebook != NOTEBOOKS[0]:  # the environment notebook loads no weights and trains nothing
        # The data of a training round, the starting weights of a training or prediction round (a weights_from
        # round that has not run, a .pt cut short) and the re-run state: checked here, before anything moves.
        checks = check_round(rnd, training=training)
        sweep.check_sweep(rnd)  # a sweep's section and its Ray cluster, before a kernel starts
        if training:
            check_round_devices(rnd)  # the GPUs it names, on this machine
    executed = out_dir / f"{rnd.notebook}.ipynb"
    if training and checks and checks.state:
        lacking = len(repeats.missing_seeds(rnd, checks.state.record or {})) or sweep.missing_trials(rnd)
        state = rerun.check_rerun(rnd, checks.state, force=force, lacking=lacking)  # as the kernel will decide
        if state.state == "up-to-date":
            if not videoscore.is_current(rnd):  # a round trained before the video had ground truth, or changed since
                LOGGER.info("== %s: up to date; scoring it on the video", round_id)
                LOGGER.info(videoscore.format_video_score(videoscore.score_round_on_video(rnd), rnd))
                refresh_journal(rnd.profile)
            return None
        if state.state == "complete":
            LOGGER.info("== %s: finished; training the repeats or trials it lacks", round_id)
        # train/ may be resumed: the kernel decides it, and moves the rest of an earlier result into the same
        # history folder when it trains anew (the checks it reuses read the folder as it is now).
        job.archive([executed.name])
    else:
        job.archive()
    job.claim(executed.name)  # the kernel leaves the notebook it runs in alone
    parameters = dict(read_round_file(round_id))
    parameters.update(profile=rnd.profile, force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    LOGGER.info("== %s (%s, profile %s) -> %s", round_id, rnd.notebook, rnd.profile or "none", executed)
    # The kernel works under this job, and reuses the checks above while what they read is unchanged.
    handoff = rerun.handoff(rnd, checks) if checks else None
    try:
        with job.shared_with_children(handoff):
            papermill.execute_notebook(
                str(notebook_path(rnd.notebook)),
                str(executed),
                parameters=parameters,
                cwd=str(paths.NOTEBOOKS_DIR),
                log_output=False,  # papermill's logger would repeat the stream below
                progress_bar=False,
                stdout_file=sys.stdout if log_output else None,
                stderr_file=sys.stderr if log_output else None,
                # Stop the kernel when its last cell ends: every cell has written its files by then (train_round
                # waits for ultralytics' background figures), and a graceful stop waits 1-3 s for an exit that
                # unloads torch and its data loader workers.
                shutdown_kernel="immediate",
            )
    except papermill.PapermillExecutionError as exc:
        reason = f"{exc.ename}: {str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ''}"
        raise RoundFailedError(
            f"round '{round_id}' failed in {rnd.notebook}, cell {exc.exec_count}: {reason}",
            fix=f"read the error in the executed notebook {executed}",
        ) from None
    return executed


def pipeline_order(rounds: list[Round]) -> list[Round]:
    """Order rounds so that each comes after the round whose weights it starts from."""
    pending = sorted(rounds, key=lambda r: (_KIND_ORDER.get(r.round_id[0], 9), r.round_id))
    ids = {r.round_id for r in rounds}
    ordered: list[Round] = []
    done: set[str] = set()
    while pending:
        ready = next(
            (
                r
                for r in pending
                if not is_round_reference(r.weights_from) or r.weights_from in done or r.weights_from not in ids
            ),
            None,
        )
        if ready is None:
            cycle = ", ".join(f"{r.round_id} <- {r.weights_from}" for r in pending)
            raise ParamsError(f"rounds start from each other's weights in a cycle: {cycle}")
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready.round_id)
    return ordered


def with_dependencies(round_ids: list[str], *, profile: str) -> list[Round]:
    """The requested rounds plus every round whose weights they need and which has not run."""
    resolved: dict[str, Round] = {}
    todo = list(round_ids)
    while todo:
        rid = todo.pop()
        if rid in resolved:
            continue
        rnd = load_round(rid, profile=profile, check=False)  # each round is checked when it runs
        resolved[rid] = rnd
        need = rnd.weights_from  # a round id, or a weights / model file, or nothing: only a round can be needed
        if not is_round_reference(need) or need in resolved:
            continue
        if need in round_ids or not best_weights_of(need, profile).is_file():
            todo.append(need)
    return list(resolved.values())


def run_pipeline(
    round_ids: list[str] | None = None, *, profile: str = "", log_output: bool = True, force: bool = False
) -> list[RunOutcome]:
    """Run rounds in lineage order; a failure skips only the rounds that depend on it.

    Args:
        round_ids (list[str] | None): Rounds to run (with the weights_from rounds they need); all when None.
        profile (str): Profile to overlay.
        log_output (bool): Echo notebook output.
        force (bool): Train finished rounds again (old results are kept in ``history/``).

    Returns:
        (list[RunOutcome]): One outcome per round, in the order they ran.
    """
    ids = round_ids or list_rounds()
    ordered = pipeline_order(with_dependencies(ids, profile=profile))
    LOGGER.info("pipeline: %s", " -> ".join(r.round_id for r in ordered))
    outcomes: list[RunOutcome] = []
    broken: set[str] = set()
    for rnd in ordered:
        if rnd.weights_from in broken:
            outcomes.append(RunOutcome(rnd.round_id, "skipped", 0.0, f"needs {rnd.weights_from}, which did not finish"))
            broken.add(rnd.round_id)
            continue
        started = time.time()
        try:
            executed = run_round(rnd.round_id, profile=profile, log_output=log_output, force=force)
            status, note = ("ok", "") if executed else ("ok", "up to date: nothing to run")
            outcomes.append(RunOutcome(rnd.round_id, status, time.time() - started, note, executed))
            if executed and rnd.notebook not in JOURNAL_NOTEBOOKS:
                refresh_journal(profile)
        except RoundChangedError as exc:  # its earlier results stay valid for the rounds after it
            outcomes.append(RunOutcome(rnd.round_id, "refused", time.time() - started, exc.message, fix=exc.fix))
        except BusyError as exc:  # another process runs it: the rounds after it cannot have its weights yet
            outcomes.append(RunOutcome(rnd.round_id, "refused", time.time() - started, exc.message, fix=exc.fix))
            broken.add(rnd.round_id)
        except Exception as exc:  # a failed round must not stop the independent ones
            first = str(exc).strip().splitlines()
            message = next((line for line in first if line.strip() and not line.startswith("-")), type(exc).__name__)
            fix = ""
            if isinstance(exc, WorkbookError):
                message, fix = exc.message, exc.fix
            outcomes.append(RunOutcome(rnd.round_id, "failed", time.time() - started, message, fix=fix))
            broken.add(rnd.round_id)
    return outcomes


def refresh_journal(profile: str) -> None:
    """Rewrite the lab journal after a round; a failure here never stops the pipeline."""
    from yolo_workbook.reporting.journal import write_journal

    try:
        write_journal(profile)
    except Exception as exc:  # the journal is a report: never let it cost a round
        LOGGER.warning("the journal could not be refreshed: %s", exc)


def format_outcomes(outcomes: list[RunOutcome]) -> str:
    """A summary table of a pipeline run (columns aligned by display width: notes may be Korean).

    A note is never cut: its first line ends the round's row, its other lines and the fix follow below
    the row, indented (an offline download's error names the file, the folders looked in and the way out).
    """
    rows, notes = [["round", "status", "time"]], [["note"]]
    for outcome in outcomes:
        rows.append([outcome.round_id, outcome.status, format_duration(outcome.seconds)])
        note = outcome.message or (str(outcome.notebook) if outcome.notebook else "")
        notes.append([*(note.splitlines() or [""]), *([f"fix: {outcome.fix}"] if outcome.fix else [])])
    widths = column_widths(rows, [22, 9, 9])
    lines = []
    for row, (first, *below) in zip(rows, notes, strict=True):
        lines.append(f"{format_row(row, widths, '<<>')}  {first}".rstrip())
        lines.extend(f"{NOTE_INDENT}{line}".rstrip() for line in below)
    return "\n".join(lines)
