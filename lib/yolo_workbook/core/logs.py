"""The library logs; the faces decide what a person sees.

Every module logs to its own logger (``logging.getLogger(__name__)``, under ``yolo_workbook``) and never
prints. The faces (the CLI, a notebook's first cell through :func:`yolo_workbook.ui.notebook.open_round`)
call :func:`show` once: the workbook's lines then reach the terminal or the notebook's output as plain
lines, the way ``print`` wrote them, warnings prefixed ``warning:``. A program that imports the package
and calls neither sees only warnings (Python's default), and may route the ``yolo_workbook`` logger
wherever it likes.

Examples:
    >>> import logging, sys
    >>> from yolo_workbook.core import logs
    >>> handler = logs.show(stream=sys.stdout)
    >>> logging.getLogger("yolo_workbook.training.train").info("r01_base: resuming")
    r01_base: resuming
    >>> logs.hide(handler)
"""

from __future__ import annotations

import logging
import sys
from typing import IO

ROOT = "yolo_workbook"


# ``extra={NAMES_LEVEL: True}``: the message names its level itself (``file:line: warning: ...``, as compilers do).
NAMES_LEVEL = "names_level"


class _Plain(logging.Formatter):
    """The message as ``print`` wrote it; ``warning: ``/``error: `` before the higher levels."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if getattr(record, NAMES_LEVEL, False):
            return text
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        return f"warning: {text}" if record.levelno >= logging.WARNING else text


class _Console(logging.Handler):
    """Info lines to ``sys.stdout``, warnings and errors to ``sys.stderr``, each read at the line (Jupyter and
    pytest replace them)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self.fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.fixed or (sys.stderr if record.levelno >= logging.WARNING else sys.stdout)
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # logging must never stop the work it reports on
            self.handleError(record)


def show(level: int = logging.INFO, *, stream: IO[str] | None = None) -> logging.Handler:
    """Show the workbook's log lines from ``level`` up: info on standard output, warnings and errors on standard
    error (or every line on ``stream``). Calling it again replaces the handler.

    Returns:
        (logging.Handler): The handler added.
    """
    logger = logging.getLogger(ROOT)
    for handler in [h for h in logger.handlers if isinstance(h, _Console)]:
        logger.removeHandler(handler)
    handler = _Console(stream)
    handler.setFormatter(_Plain())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # one line each, not a second one from a root handler
    return handler


def hide(handler: logging.Handler) -> None:
    """Remove a handler :func:`show` added (tests)."""
    logging.getLogger(ROOT).removeHandler(handler)
