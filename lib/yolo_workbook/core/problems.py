"""One finding of a check (round files, datasets): what, where, and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding of the check.

    Attributes:
        level (str): ``error`` (the round must not run) or ``warning`` (it runs, but look).
        file (str): The params file, relative to the project root.
        line (int | None): 1-based line of the key in that file, when known.
        key (str): The dotted key, e.g. ``train.scale``.
        message (str): What is wrong.
        fix (str): What to do.
    """

    level: str
    file: str
    line: int | None
    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        text = f"{where}: {self.level}:{key} {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text
