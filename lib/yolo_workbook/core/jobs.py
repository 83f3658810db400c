"""One job shape for every step that writes a folder: opt in, lock, move the earlier result away, run, record.

Training a round, a sweep, a prediction, a video score, an export and the runner's notebook run all
go through :func:`start`, the way ultralytics' trainers and predictors share one engine and say only
what is particular to them. The job:

1. applies the round's OpenMP opt-in (``runtime.allow_duplicate_openmp``), before torch loads;
2. takes the lock of the folder (:mod:`yolo_workbook.core.locks`), or works under the lock that this
   process, or the runner that started it, already holds;
3. moves an earlier result out of the way with :meth:`Job.archive`: every entry of the folder, whichever
   module wrote it, goes into **one** ``history/<timestamp>/`` folder per run, never deleted. What this run
   wrote (:meth:`Job.claim`) stays, so nothing in the live folder is older than the run, and nothing of it
   is moved away by a later step of the same run;
4. hands over to the processes it starts (a notebook's kernel) its history folder and what it wrote, so a
   kernel that runs under ``yolo-workbook run`` archives into the runner's history folder and leaves the
   executed notebook alone (:meth:`Job.shared_with_children`).

Examples:
    >>> from yolo_workbook.core import jobs
    >>> with jobs.for_round(rnd) as job:  # doctest: +SKIP
    ...     job.archive()  # the earlier result -> <round>/history/<timestamp>/
    ...     train()
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from yolo_workbook.core import locks, openmp

LOGGER = logging.getLogger(__name__)
HISTORY = "history"
# The jobs this process runs, by folder: a step inside a step of the same folder joins it (as locks._HELD).
_ACTIVE: dict[str, Job] = {}


class RoundLike(Protocol):
    """What a job needs of a round (:class:`yolo_workbook.config.params.Round` has it)."""

    round_id: str
    profile: str
    runtime: dict[str, Any]

    @property
    def output_dir(self) -> Path: ...


@dataclass
class Job:
    """One run of a step over a folder, under that folder's lock (see the module docstring).

    Attributes:
        folder (Path): The folder the step writes (a round's folder, or its ``video/``).
        lock (locks.Lock): The lock it works under.
        history (Path | None): This run's history folder, once something moved there.
        own (set[str]): The folder's entries that this run wrote: never archived by it.
        handed (dict | None): What the process that started this one established under the lock (its checks).
    """

    folder: Path
    lock: locks.Lock
    history: Path | None = None
    own: set[str] = field(default_factory=set)
    handed: dict[str, Any] | None = None

    def archive(self, names: list[str] | None = None) -> Path | None:
        """Move the earlier result's entries into this run's history folder; never delete.

        Args:
            names (list[str] | None): Only these entries (names; a stopped run's ``train/`` that is resumed
                stays, for one); None: every entry but ``history/`` and what this run wrote.

        Returns:
            (Path | None): The history folder, or None when nothing moved.
        """
        if not self.folder.is_dir():
            return None
        wanted = None if names is None else set(names)
        entries = sorted(
            entry
            for entry in self.folder.iterdir()
            if entry.name != HISTORY
            and entry.name not in self.own
            and not entry.name.startswith(".")  # a file being written atomically (core.files.atomic_output)
            and (wanted is None or entry.name in wanted)
        )
        if not entries:
            return None
        if self.history is None or not self.history.is_dir():
            self.history = _new_history(self.folder)
        for entry in entries:
            target = self.history / entry.name
            if target.exists():  # the same name moved earlier in this run: keep both
                target = _free_name(target)
            shutil.move(str(entry), str(target))
        LOGGER.info("%s: earlier results moved to %s", self.folder.name, self.history)
        return self.history

    def claim(self, *names: str) -> None:
        """Mark entries of the folder as written by this run: :meth:`archive` leaves them in place."""
        self.own.update(names)

    @contextlib.contextmanager
    def shared_with_children(self, facts: dict[str, Any] | None = None) -> Iterator[None]:
        """Let the processes started inside this block (a notebook's kernel) work under this job: its lock, its
        history folder, what it wrote, and ``facts`` (JSON-ready: the runner's checks of the round)."""
        handoff = {
            "job": {
                "folder": str(self.folder),
                "history": str(self.history) if self.history else None,
                "own": sorted(self.own),
            },
            "facts": facts,
        }
        with self.lock.shared_with_children(handoff):
            yield


def _new_history(folder: Path) -> Path:
    """A new ``folder/history/<timestamp>[-n]/``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = _free_name(folder / HISTORY / stamp)
    target.mkdir(parents=True)
    return target


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``, ... the first that does not exist."""
    found, number = path, 1
    while found.exists():
        number += 1
        found = path.with_name(f"{path.name}-{number}")
    return found


@contextlib.contextmanager
def start(
    folder: Path, *, what: str, fix: str, runtime: dict[str, Any] | None = None, lock_as: Path | None = None
) -> Iterator[Job]:
    """Start a job over ``folder``: the OpenMP opt-in, then the folder's lock (see the module docstring).

    A job started over a folder that this process already runs a job over is that same job (a prediction
    inside "predict and count"): one lock, one history folder.

    Args:
        folder (Path): The folder the step writes (its lock: :func:`yolo_workbook.core.locks.lock_path`).
        what (str): What the lock guards, for a refusal, e.g. ``round 'r01_base' (profile demo)``.
        fix (str): What a user can do when another process holds it.
        runtime (dict | None): The round's ``runtime`` section (its OpenMP opt-in).
        lock_as (Path | None): The folder whose lock guards ``folder`` (default: ``folder``): a folder inside a
            round's folder has a lock of its own beside the round's, not inside it.

    Yields:
        (Job): The job, holding the lock.

    Raises:
        BusyError: Another live process holds the lock; nothing was done.
    """
    openmp.apply_opt_in(runtime or {})  # before torch loads, or it cannot help
    key = str(folder.absolute())
    if key in _ACTIVE:
        yield _ACTIVE[key]
        return
    guard = lock_as or folder
    with locks.hold(guard, what=what, fix=fix) as lock:
        job = Job(folder, lock)
        handed = locks.handed_over(guard)
        if isinstance(handed, dict) and isinstance(handed.get("job"), dict):
            parent = handed["job"]  # the runner that started this kernel: archive where it did
            job.history = Path(parent["history"]) if parent.get("history") else None
            job.own.update(str(name) for name in parent.get("own") or [])
            facts = handed.get("facts")
            job.handed = facts if isinstance(facts, dict) else None
        _ACTIVE[key] = job
        try:
            yield job
        finally:
            _ACTIVE.pop(key, None)


def for_round(rnd: RoundLike, folder: Path | None = None) -> contextlib.AbstractContextManager[Job]:
    """A job over a round's folder, or over a folder a step of the round writes (its ``video/``, a trial's).

    A folder inside the round's folder has a lock of its own, beside the round's lock
    (``outputs/<profile>/.locks/r03_merge.video.lock``): a Ray worker scores a trial while the sweep holds the round.
    """
    folder = folder or rnd.output_dir
    what = f"round '{rnd.round_id}' (profile {rnd.profile or 'none'})"
    lock_as = None
    if folder != rnd.output_dir:
        what += f", folder {folder.name}"
        try:
            inside = folder.relative_to(rnd.output_dir)
            lock_as = rnd.output_dir.parent / ".".join((rnd.round_id, *inside.parts))
        except ValueError:  # a folder elsewhere (score-video --folder): its own lock, beside it
            lock_as = None
    return start(folder, what=what, fix=locks.ROUND_BUSY_FIX, runtime=rnd.runtime, lock_as=lock_as)
