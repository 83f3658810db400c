"""One process at a time per round folder, merged dataset and journal.

A lock is an operating-system file lock (``filelock``) on ``<parent>/.locks/<folder name>.lock``
beside the folder it guards (``outputs/<profile>/.locks/r01_base.lock`` for a round). The
operating system releases it when its process ends, however it ends (``kill -9``, a crash, power
loss), so a lock never outlives its holder and never needs clearing by hand.

Beside the lock, ``<name>.holder.json`` says who holds it: process id, host, start time and
command. A second run reads it for its error message. A holder killed before it could clean up
leaves that file behind; the next run that gets the lock sees it, says that it takes over, and
goes on (a round then resumes as usual).

A round run with ``yolo-workbook run`` is locked by the runner, and its notebook's kernel works
under that lock: the runner names the lock and its token in ``YOLO_WORKBOOK_HELD_LOCKS`` for the
processes it starts, and the kernel checks the token against the holder file. Beside it,
``YOLO_WORKBOOK_HANDOFF`` carries what the runner established under the lock (its checks of the
round), bound to the same token: a kernel reads it with :func:`handed_over` only while it works
under that lock, so a handoff never reaches another run of the round.

Examples:
    >>> from yolo_workbook.core import locks
    >>> with locks.hold(folder, what="round 'r01_base'", fix="..."):  # doctest: +SKIP
    ...     train()

A step that writes a round's folder does not take the lock itself: it starts a job
(:mod:`yolo_workbook.core.jobs`), which takes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.core.errors import BusyError
from yolo_workbook.core.files import read_json, write_json

LOGGER = logging.getLogger(__name__)
# Locks this process holds, by lock path: their token (a process holds a lock once, however nested).
_HELD: dict[str, str] = {}
_INHERITED_ENV = "YOLO_WORKBOOK_HELD_LOCKS"
_HANDOFF_ENV = "YOLO_WORKBOOK_HANDOFF"


@dataclass(frozen=True)
class Lock:
    """A lock this process holds (or works under, inherited from the process that started it).

    Attributes:
        path (Path): The lock file.
        token (str): What the holder file records, so a child can prove that it works under this lock.
        took_over (dict | None): The holder a killed process left behind, when this run took its lock over.
    """

    path: Path
    token: str
    took_over: dict[str, Any] | None = None

    @contextlib.contextmanager
    def shared_with_children(self, handoff: dict[str, Any] | None = None) -> Iterator[None]:
        """Let the processes started inside this block (a notebook's kernel) work under this lock.

        Args:
            handoff (dict | None): What this process established under the lock, as JSON-ready data,
                for those processes to read with :func:`handed_over` (None: nothing).
        """
        before = {name: os.environ.get(name) for name in (_INHERITED_ENV, _HANDOFF_ENV)}
        entries = _json_object(before[_INHERITED_ENV])
        os.environ[_INHERITED_ENV] = json.dumps({**entries, str(self.path): self.token})
        handed = {key: entry for key, entry in _json_object(before[_HANDOFF_ENV]).items() if key != str(self.path)}
        if handoff is not None:
            handed[str(self.path)] = {"token": self.token, "facts": handoff}
        os.environ[_HANDOFF_ENV] = json.dumps(handed, ensure_ascii=False)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _json_object(text: str | None) -> dict[str, Any]:
    """The JSON object in an environment variable, or ``{}`` when it is unset or not one."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def lock_path(folder: Path) -> Path:
    """The lock file that guards ``folder``: ``<parent>/.locks/<name>.lock`` (outside the folder, which may move)."""
    return folder.parent / ".locks" / f"{folder.name}.lock"


def holder_path(lock: Path) -> Path:
    """The holder file beside a lock file."""
    return lock.with_suffix(".holder.json")


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``process 123 on host 'lab-pc', since 2026-11-26 04:12:00 (yolo-workbook run ...)``."""
    if not holder:
        return "another process (it left no holder file)"
    command = " ".join(holder.get("command") or [])
    command = command if len(command) <= 120 else command[:117] + "..."
    return (
        f"process {holder.get('pid', '?')} on host '{holder.get('host', '?')}', since {holder.get('started', '?')}"
        + (f" ({command})" if command else "")
    )


def _inherited_token(path: Path) -> str | None:
    """The token of ``path`` when the process that started this one holds it for us, else None."""
    entries = os.environ.get(_INHERITED_ENV)
    if not entries:
        return None
    try:
        token = json.loads(entries).get(str(path))
    except (ValueError, AttributeError):
        return None
    holder = read_json(holder_path(path))
    if not token or not isinstance(holder, dict) or holder.get("token") != token:
        return None
    import psutil

    return token if psutil.pid_exists(int(holder.get("pid", -1))) else None


@contextlib.contextmanager
def hold(folder: Path, *, what: str, fix: str, wait: float = 0) -> Iterator[Lock]:
    """Hold the lock of ``folder`` for the block; refuse at once (or after ``wait`` seconds) when another holds it.

    Args:
        folder (Path): The folder to guard (it need not exist yet).
        what (str): What is guarded, for the message, e.g. ``round 'r01_base' (profile ci)``.
        fix (str): What the user can do when it is busy.
        wait (float): Seconds to wait for the other holder before refusing (0: refuse at once).

    Yields:
        (Lock): The lock held.

    Raises:
        BusyError: Another live process holds the lock; nothing was done.
    """
    from filelock import FileLock, Timeout

    path = lock_path(folder)
    key = str(path)
    if key in _HELD:  # this process holds it already (a step inside a step): nothing to take
        yield Lock(path, _HELD[key])
        return
    inherited = _inherited_token(path)
    if inherited:
        _HELD[key] = inherited
        try:
            yield Lock(path, inherited)
        finally:
            _HELD.pop(key, None)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    file_lock = FileLock(path, timeout=wait)
    try:
        file_lock.acquire()
    except Timeout:
        holder = read_json(holder_path(path))
        raise BusyError(
            f"{what} is in use by {describe_holder(holder if isinstance(holder, dict) else None)};"
            " nothing was run or moved",
            fix=fix,
        ) from None
    try:
        left = read_json(holder_path(path))
        took_over = left if isinstance(left, dict) and left.get("pid") != os.getpid() else None
        if took_over:
            LOGGER.warning("%s: taking over the lock left by %s, which is gone", what, describe_holder(took_over))
        token = uuid.uuid4().hex
        write_json(
            holder_path(path),
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S%z"),
                "command": sys.argv,
                "what": what,
                "token": token,
            },
        )
        _HELD[key] = token
        try:
            yield Lock(path, token, took_over)
        finally:
            _HELD.pop(key, None)
            holder_path(path).unlink(missing_ok=True)
    finally:
        file_lock.release()


def handed_over(folder: Path) -> dict[str, Any] | None:
    """What the process that started this one established under ``folder``'s lock and handed over
    (:meth:`Lock.shared_with_children`), or None.

    Only inside :func:`hold` of that folder, and only when this process holds the lock with the token
    the handoff was made under: a handoff of another run (a holder that is gone, a lock taken since)
    is never returned. What the facts still mean is for the caller to verify.
    """
    key = str(lock_path(folder))
    if key not in _HELD:
        return None
    entry = _json_object(os.environ.get(_HANDOFF_ENV)).get(key)
    if not isinstance(entry, dict) or entry.get("token") != _HELD[key]:
        return None
    facts = entry.get("facts")
    return facts if isinstance(facts, dict) else None


# What a user can do when another process runs the round (a job over a round: yolo_workbook.core.jobs.for_round).
ROUND_BUSY_FIX = (
    "wait until that run ends, or stop it there (Ctrl-C, or kill its process); a run that was killed"
    " frees the lock with its process, so running again then simply resumes it"
)
