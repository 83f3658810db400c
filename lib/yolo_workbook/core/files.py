"""Reading and writing files: the one YAML reader, the one atomic writer, JSON records, archives.

Every YAML file the workbook reads (round files, profiles, data.yaml, ultralytics' own tables)
goes through :func:`read_yaml`; every file it writes goes through :func:`write_atomic` (complete
or not at all, fsynced before the rename).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file.

    Attributes:
        path (Path): The file.
        data (Any): The parsed value (``{}`` for an empty file).
        lines (dict[str, int]): ``dotted.key -> 1-based line`` for every mapping key (filled
            only when asked for with ``lines=True``).
    """

    path: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)


class YamlReadError(Exception):
    """A YAML file that is missing, unreadable, not UTF-8 or not valid YAML.

    Callers turn it into their own error (``ParamsError``, ``DatasetError``) or a collected problem.

    Attributes:
        path (Path): The file.
        line (int | None): The 1-based line of a syntax error, when known.
        reason (str): What is wrong, e.g. ``not found`` or ``not valid YAML (found a tab)``.
        fix (str): What to do.
    """

    def __init__(self, path: Path, line: int | None, reason: str, fix: str) -> None:
        self.path, self.line, self.reason, self.fix = path, line, reason, fix
        super().__init__(f"{path}{f', line {line}' if line else ''}: {reason}")


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    found: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            dotted = f"{prefix}.{key.value}" if prefix else str(key.value)
            found[dotted] = key.start_mark.line + 1
            found.update(_key_lines(value, dotted))
    return found


def read_yaml(path: Path, *, lines: bool = False) -> YamlDocument:
    """Read one YAML file safely (``yaml.safe_load``), parsing its text once.

    Args:
        path (Path): The file.
        lines (bool): Also map every mapping key to its line (for messages that name the line).

    Returns:
        (YamlDocument): The data, and the key lines when asked for.

    Raises:
        YamlReadError: The file is missing, unreadable, not UTF-8, or not valid YAML.

    Examples:
        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "r.yaml"
        >>> _ = file.write_text("why: base\\ntrain: {epochs: 3}")
        >>> read_yaml(file, lines=True).lines
        {'why': 1, 'train': 2, 'train.epochs': 2}
    """
    if not path.is_file():
        raise YamlReadError(path, None, "not found", "check the name and the folder")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlReadError(path, None, "not UTF-8 text", "save the file as UTF-8") from None
    except OSError as exc:
        raise YamlReadError(path, None, f"cannot be read ({exc.strerror})", "check the file's permissions") from None
    try:
        if lines:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.SafeLoader(text).construct_document(node) if node is not None else None
        else:
            node, data = None, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlReadError(
            path,
            mark.line + 1 if mark else None,
            f"not valid YAML ({problem})",
            "check indentation and quoting at that line",
        ) from None
    return YamlDocument(path, {} if data is None else data, _key_lines(node) if lines else {})


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
