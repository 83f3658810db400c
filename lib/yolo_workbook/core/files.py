"""Writing and reading the workbook's own records: complete files or none, never partial."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (complete or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; records are for reading by anyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (UTF-8, indented, non-ASCII kept readable) atomically."""
    return write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any | None:
    """Read a JSON record; ``None`` when it is missing or unreadable (a crash left it partial)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def archive_previous(folder: Path, names: list[str] | None = None) -> Path | None:
    """Move earlier results out of the way into ``folder/history/<timestamp>/``; never delete.

    Args:
        folder (Path): A round's output folder.
        names (list[str] | None): Entries to move; ``None`` moves everything but ``history``.

    Returns:
        (Path | None): The archive folder, or ``None`` when there was nothing to move.
    """
    if not folder.is_dir():
        return None
    entries = [p for p in folder.iterdir() if p.name != "history" and (names is None or p.name in names)]
    if not entries:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder / "history" / stamp
    suffix = 1
    while target.exists():
        suffix += 1
        target = folder / "history" / f"{stamp}-{suffix}"
    target.mkdir(parents=True)
    for entry in entries:
        shutil.move(str(entry), str(target / entry.name))
    return target
