"""Reading and writing files: the one YAML reader, the one atomic writer, JSON records, archives.

Every YAML file the workbook reads (round files, profiles, data.yaml, ultralytics' own tables)
goes through :func:`read_yaml` (a YAML value typed into a form: :func:`parse_yaml`); every file
it writes goes through :func:`atomic_output` (complete or not at all: written to a temporary file
beside the target, fsynced, then renamed over it), text through :func:`write_atomic` on it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
    document = parse_yaml(text, path=path, lines=lines)
    return document if document.data is not None else replace(document, data={})


def parse_yaml(text: str, *, path: Path = Path("<text>"), lines: bool = False) -> YamlDocument:
    """Parse YAML text safely, the way :func:`read_yaml` parses a file's text.

    Args:
        text (str): The YAML text (a whole document, or one value typed into a form: ``0.005``).
        path (Path): The file it came from, for the error (``<text>`` when none).
        lines (bool): Also map every mapping key to its line.

    Returns:
        (YamlDocument): The data as written: ``None`` for empty text or ``null`` (a file read by
        :func:`read_yaml` gives ``{}`` then).

    Raises:
        YamlReadError: The text is not valid YAML (with the line).

    Examples:
        >>> parse_yaml("0.005").data, parse_yaml("[1, 2]").data, parse_yaml("").data
        (0.005, [1, 2], None)
    """
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
    return YamlDocument(path, data, _key_lines(node) if lines else {})


@contextmanager
def atomic_output(path: Path, *, keep_suffix: bool = False, overwrite: bool = True) -> Iterator[Path]:
    """Write ``path`` complete or not at all: the block writes a temporary file, kept only on success.

    The block gets an empty temporary file beside ``path`` (same folder, so the rename stays on one
    file system) and writes it by any means (text, bytes, a copy, OpenCV). When the block ends
    without an error, the file is fsynced, made readable by anyone and renamed over ``path``; when
    it raises (or the rename fails), the temporary file is removed and ``path`` is as it was.

    Args:
        path (Path): The file to write; its folder is created.
        keep_suffix (bool): End the temporary name with ``path``'s suffix (``.mp4``), for writers
            that choose the format from the name. Otherwise it ends in ``.tmp``, so a glob for
            ``*.json`` or ``*.yaml`` never meets a file being written.
        overwrite (bool): ``False``: refuse (``FileExistsError``, nothing written) when ``path``
            exists, checked and claimed in one step (a hard link, no check-then-write race).

    Yields:
        (Path): The temporary file to write.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "figure.png"
        >>> with atomic_output(target) as partial:
        ...     _ = partial.write_bytes(b"\\x89PNG")
        >>> target.read_bytes()
        b'\\x89PNG'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp{path.suffix}" if keep_suffix else ".tmp"
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)  # the content is on disk before the name points to it
        finally:
            os.close(fd)
        os.chmod(partial, 0o644)  # mkstemp makes 0600; what the workbook writes is for reading by anyone
        if overwrite:
            os.replace(partial, path)
        else:
            os.link(partial, path)  # fails when the target exists
            partial.unlink()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def publish_folder(partial: Path, path: Path) -> Path:
    """Move a complete folder, written beside ``path`` under another name, into place in one step.

    A reader sees the whole folder or none: ``path`` must not exist (move an earlier one away first with
    :func:`archive_previous`). Both must be on one file system (write ``partial`` in ``path``'s parent).

    Args:
        partial (Path): The finished folder (e.g. ``round/.export.x1y2``).
        path (Path): Its name once complete (e.g. ``round/export``).

    Returns:
        (Path): ``path``.
    """
    if path.exists():
        raise FileExistsError(f"{path} exists: move it away first (archive_previous)")
    os.replace(partial, path)
    return path


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` through :func:`atomic_output`."""
    with atomic_output(path) as partial:
        partial.write_text(text, encoding="utf-8", newline="\n")
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
        names (list[str] | None): Entries to move, by name or glob pattern (``tracks.*.txt``); ``None`` moves
            everything but ``history``.

    Returns:
        (Path | None): The archive folder, or ``None`` when there was nothing to move.
    """
    if not folder.is_dir():
        return None
    entries = [
        p
        for p in folder.iterdir()
        if p.name != "history" and (names is None or any(fnmatch.fnmatchcase(p.name, name) for name in names))
    ]
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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in blocks (constant memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
