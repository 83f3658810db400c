"""Running a round again: up to date, resume after an interruption, or refuse a silent overwrite.

A round's *inputs* are its resolved parameters, the content of its starting weights and the
fingerprint of its data. ``metrics.json`` stores them; comparing them with the current ones says
what a new run would change.

States of a round folder:

- ``new``: nothing there yet: train.
- ``up-to-date``: finished (``ok``) with the same inputs: do nothing, say so.
- ``changed``: finished with other inputs: refuse, naming the changes, unless forced (the old
  results then move to ``history/``, never deleted).
- ``resume``: not finished (``interrupted`` or ``failed``) with the same inputs and a resumable
  ``last.pt``: continue from that file, by explicit path.
- ``finish``: not finished, but its checkpoint holds the last epoch (killed after training, during
  the final validation or the record): validate the best weights and write the record; nothing trains.
- ``restart``: not finished and not resumable: the partial results move to ``history/``, train anew.
- ``complete``: up to date, but its record lacks runs it now asks for (``repeat: N``, a sweep's
  ``trials``): train only those (decided by :func:`check_rerun`).

These checks run once per round. ``yolo-workbook run`` runs them before it starts the notebook's
kernel, and hands what they established to the kernel (:func:`handoff`, through the round's job:
:meth:`yolo_workbook.core.jobs.Job.shared_with_children`). The kernel reuses it
(:func:`handed_checks`) only for the same round, profile and resolved params, and only when every
file the checks read is as it was (size and modification time); otherwise, and in a notebook run
without the runner (plain papermill, JupyterLab), it checks everything itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import Round
from yolo_workbook.core.errors import RoundChangedError
from yolo_workbook.core.files import file_sha256, read_json
from yolo_workbook.training import checkpoints, metrics

LOGGER = logging.getLogger(__name__)
# Words, bookkeeping and switches that do not change what is trained (a logger or an OpenMP opt-in); the
# settings of the round's video score (predict, attendance): the score is redone on its own when they change;
# and repeat: the round's own run is the same whatever it says (a finished round trains only its missing repeats).
_NOT_INPUTS = ("why", "expect", "files", "notebook", "chain", "runtime", "loggers", "predict", "attendance", "repeat")
# A sweep's budget and where its trials run: raising sweep.trials trains only the trials it lacks, and a sweep
# started on this machine may go on on a Ray cluster (tuning.sweep).
_SWEEP_NOT_INPUTS = ("trials", "backend", "ray")
# ultralytics rewrites last.pt in place; last.resume.pt is the workbook's whole copy of it.
LAST_CHECKPOINTS = ("last.pt", "last.resume.pt")
# Bytes of a handoff at most: it travels in an environment variable (Linux takes 128 KiB a variable).
_HANDOFF_LIMIT = 64 * 1024
# The files of a round folder that decide its state (besides metrics.json and whether train/ exists).
_STATE_CHECKPOINTS = tuple(f"train/weights/{name}" for name in (*LAST_CHECKPOINTS, "best.pt"))


@dataclass
class RoundState:
    """What running a round now would do, and why."""

    state: str
    changes: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None
    last_weights: Path | None = None
    progress: dict[str, Any] | None = None  # of last_weights: epoch, epochs, train_args


@dataclass
class RoundChecks:
    """What checking a round established before it runs (see the module docstring).

    Attributes:
        start_weights (str): What ``YOLO(...)`` loads, resolved and checked.
        stamps (dict): What the checks read, as it was before they read it (:func:`input_stamps`).
        inputs (dict | None): :func:`round_inputs` (training rounds; None for a prediction).
        state (RoundState | None): :func:`round_state`, before ``force`` (training rounds).
    """

    start_weights: str
    stamps: dict[str, Any]
    inputs: dict[str, Any] | None = None
    state: RoundState | None = None


def file_stamp(path: Path) -> list[int] | None:
    """``[size, modification time in ns]`` of a file, or None when there is none."""
    try:
        facts = path.stat()
    except OSError:
        return None
    return [facts.st_size, facts.st_mtime_ns]


def input_stamps(rnd: Round, start_weights: str, *, training: bool) -> dict[str, Any]:
    """Size and modification time of every file that the checks of ``rnd`` read: the starting weights file and,
    for a training round, the dataset (:func:`yolo_workbook.training.metrics.dataset_stamp`) and the round
    folder's record and checkpoints. Taken before the checks read them, so that a change made meanwhile shows."""
    weights = Path(start_weights)
    stamps: dict[str, Any] = {"weights": file_stamp(weights) if weights.is_absolute() else None}
    if training:
        folder = rnd.output_dir
        stamps["dataset"] = metrics.dataset_stamp(rnd.data_paths())
        stamps["round"] = {
            "train": (folder / "train").exists(),
            **{name: file_stamp(folder / name) for name in ("metrics.json", *_STATE_CHECKPOINTS)},
        }
    return stamps


def round_inputs(rnd: Round, start_weights: str) -> dict[str, Any]:
    """What decides a round's result: resolved params, starting weights' content, data fingerprint."""
    weights = Path(start_weights)
    return {
        "params": input_params(rnd.to_dict()),
        "start_weights": start_weights,
        "start_weights_sha256": file_sha256(weights) if weights.is_file() else "",
        "dataset_fingerprint": metrics.dataset_fingerprint(rnd.data_paths()),
    }


def input_params(params: dict[str, Any]) -> dict[str, Any]:
    """The part of a round's resolved params (``Round.to_dict()``) that decides what it trains."""
    found = {k: v for k, v in params.items() if k not in _NOT_INPUTS}
    if isinstance(found.get("sweep"), dict):
        found["sweep"] = {k: v for k, v in found["sweep"].items() if k not in _SWEEP_NOT_INPUTS}
    return found


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flat(f"{prefix}.{key}" if prefix else str(key), sub))
        return out
    return {prefix: value}


def input_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Readable differences between two input sets (empty when the same)."""
    changes = []
    before, after = (
        _flat("", input_params(inputs.get("params") or {})) for inputs in (old, new)
    )  # records written before a key joined _NOT_INPUTS hold it: it is not compared
    for key in [*before, *(k for k in after if k not in before)]:
        if before.get(key) != after.get(key):
            changes.append(f"{key}: {before.get(key, '(unset)')} -> {after.get(key, '(unset)')}")
    if old.get("start_weights_sha256") != new.get("start_weights_sha256"):
        changes.append(f"the starting weights changed ({new.get('start_weights')})")
    if old.get("dataset_fingerprint") != new.get("dataset_fingerprint"):
        changes.append("the dataset changed (data.yaml or label files)")
    return changes


def resume_checkpoint(weights_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """``last.pt``, or its whole copy ``last.resume.pt`` when ``last.pt`` was cut short: the newer one, with
    how far it got (:func:`yolo_workbook.training.checkpoints.training_progress`); None when neither can resume."""
    found = [(weights_dir / name, checkpoints.training_progress(weights_dir / name)) for name in LAST_CHECKPOINTS]
    resumable = [(path, progress) for path, progress in found if progress and progress["epoch"] >= 0]
    return max(resumable, key=lambda item: item[1]["epoch"]) if resumable else None


def round_state(rnd: Round, inputs: dict[str, Any]) -> RoundState:
    """Decide what running ``rnd`` now should do (see the module docstring)."""
    folder = rnd.output_dir
    record_path = folder / "metrics.json"
    last = folder / "train" / "weights" / "last.pt"
    if not record_path.exists() and not (folder / "train").exists():
        return RoundState("new")
    record = read_json(record_path)
    if not isinstance(record, dict) or "status" not in record:
        changes = [f"{record_path} is unreadable (cut short by a crash?)"] if record_path.exists() else []
        return RoundState("restart", changes)
    if record.get("inputs"):
        changes = input_changes(record["inputs"], inputs)
    else:
        changes = ["its metrics.json records no inputs (written by an older version): they cannot be compared"]
    if record["status"] == "ok":
        return RoundState("changed" if changes else "up-to-date", changes, record)
    found = resume_checkpoint(last.parent) if not changes else None
    if found:
        checkpoint, progress = found
        trained = progress["epoch"] + 1 >= progress["epochs"] > 0
        if trained and (folder / "train" / "weights" / "best.pt").is_file():
            return RoundState("finish", [], record, checkpoint, progress)
        return RoundState("resume", [], record, checkpoint, progress)
    return RoundState("restart", changes, record)


def check_rerun(rnd: Round, state: RoundState, *, force: bool, lacking: int = 0) -> RoundState:
    """Decide what running the round again does, and say it; refuse to replace a finished round with other inputs.

    The one place where this is decided: the runner (before a kernel starts), :func:`~yolo_workbook.training.train.
    train_round` and a sweep (in the kernel) all ask it.

    Args:
        rnd (Round): The round.
        state (RoundState): Its state (:func:`round_state`).
        force (bool): Train it again whatever its state.
        lacking (int): How many runs its finished record lacks: the repeats of ``repeat: N``
            (:func:`yolo_workbook.training.repeats.missing_seeds`) or a sweep's trials.

    Returns:
        (RoundState): ``state``; an up-to-date round that lacks runs comes back as ``complete`` (train only those);
        a forced run of an up-to-date round as ``changed`` (train again).

    Raises:
        RoundChangedError: The round finished with other inputs and ``force`` is off; nothing was run.
    """
    if state.state == "up-to-date" and lacking and not force:
        return replace(state, state="complete")
    if state.state == "up-to-date" and not force:
        finished = (state.record or {}).get("finished_at", "")
        LOGGER.info(
            "%s is up to date (finished %s; same params, starting weights and data): nothing to train."
            " To train it again anyway: --force (CLI) or -p force True (papermill).",
            rnd.round_id,
            finished,
        )
    elif state.state == "changed" and not force:
        changes = "\n".join(f"  - {change}" for change in state.changes)
        raise RoundChangedError(
            f"round '{rnd.round_id}' already finished with other inputs; nothing was run. What changed:\n{changes}",
            fix="to train it again: --force (CLI) or -p force True (papermill); the old results move to"
            f" {rnd.output_dir / 'history'}/, nothing is deleted. Or save the change as a new round file.",
        )
    elif state.state == "restart" and state.changes:
        LOGGER.info("%s: the earlier run did not finish (%s); training anew", rnd.round_id, "; ".join(state.changes))
    elif state.state == "up-to-date":
        return replace(state, state="changed")  # forced: train again
    return state


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples become lists), or raises TypeError."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def handoff(rnd: Round, checks: RoundChecks) -> dict[str, Any] | None:
    """``checks`` as JSON-ready data for the notebook's kernel, tied to the round, its profile and its resolved
    params; None when something in them is not plain data, or too long for an environment variable (the kernel
    then checks again)."""
    state = checks.state
    try:
        facts = _plain(
            {
                "round_id": rnd.round_id,
                "profile": rnd.profile,
                "notebook": rnd.notebook,
                "params": rnd.to_dict(),
                "start_weights": checks.start_weights,
                "stamps": checks.stamps,
                "inputs": checks.inputs,
                "state": None
                if state is None
                else {
                    "state": state.state,
                    "changes": state.changes,
                    "last_weights": str(state.last_weights) if state.last_weights else None,
                    "progress": state.progress,
                },
            }
        )
    except (TypeError, ValueError):
        return None
    return facts if len(json.dumps(facts, ensure_ascii=False).encode()) < _HANDOFF_LIMIT else None


def handed_checks(rnd: Round, facts: dict[str, Any] | None, *, training: bool) -> RoundChecks | None:
    """The checks that the runner handed to this kernel for ``rnd``, when they still hold; else None (check again).

    Args:
        rnd (Round): The round.
        facts (dict | None): What the runner handed over with the round's job (:attr:`yolo_workbook.core.jobs.Job.
            handed`: only a handoff made under the lock this process works under reaches it).
        training (bool): A training round's checks (else a prediction's).

    They hold when they are for the same round, profile, notebook and resolved params, and every file
    the checks read has the size and modification time it had (:func:`input_stamps`). When they do not,
    one line says why.
    """
    if facts is None:
        return None
    why = _why_not_current(rnd, facts, training=training)
    if why:
        LOGGER.info("%s: the runner's checks of this round no longer hold (%s); checking again", rnd.round_id, why)
        return None
    handed = facts.get("state")
    state = None
    try:
        if handed:  # the record is read again (its size and time are as the runner saw them): the handoff stays small
            record = read_json(rnd.output_dir / "metrics.json") if handed["state"] != "new" else None
            state = RoundState(
                str(handed["state"]),
                [str(change) for change in handed["changes"]],
                record if isinstance(record, dict) and "status" in record else None,
                Path(handed["last_weights"]) if handed["last_weights"] else None,
                handed["progress"],
            )
        return RoundChecks(str(facts["start_weights"]), facts["stamps"], facts["inputs"], state)
    except (KeyError, TypeError):  # not the shape handoff() writes (another version of the workbook?)
        return None


def _why_not_current(rnd: Round, facts: dict[str, Any], *, training: bool) -> str:
    """Why handed-over checks do not hold for ``rnd`` now (``""`` when they do)."""
    same = (facts.get("round_id"), facts.get("profile"), facts.get("notebook"))
    if same != (rnd.round_id, rnd.profile, rnd.notebook):
        return f"they are for round {same[0]!r}, profile {same[1]!r}, notebook {same[2]!r}"
    try:
        if facts.get("params") != _plain(rnd.to_dict()):
            return "its resolved params changed"
    except (TypeError, ValueError):
        return "its params are not plain data"
    if training and not (facts.get("inputs") and facts.get("state")):
        return "they hold no training checks"
    stamps = facts.get("stamps") or {}
    try:
        now = input_stamps(rnd, str(facts.get("start_weights", "")), training=training)
    except Exception as exc:  # a dataset folder gone, a data.yaml unreadable: the checks will say it properly
        return f"{type(exc).__name__} while comparing its files"
    for key, what in (("weights", "the starting weights"), ("dataset", "the dataset"), ("round", "its output folder")):
        if key in now and stamps.get(key) != now[key]:
            return f"{what} changed since"
    return ""
