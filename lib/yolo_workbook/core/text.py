"""Fixed-width text for terminals and notebook output: widths in columns, and tables aligned by them.

A Hangul syllable takes two terminal columns, and f-string widths (``f"{name:<14}"``) count it
as one, so every column after a Korean class name shifts. Every fixed-width table of the package
pads with :func:`pad` and sizes its columns with :func:`column_widths` (``wcwidth`` measures).

Examples:
    >>> from yolo_workbook.core.text import pad, table
    >>> pad("학생", 6) + "|"
    '학생  |'
    >>> print(table([["class", "AP50"], ["학생", "0.957"], ["desk", "0.985"]], align="<>"))
    class   AP50
    학생   0.957
    desk   0.985
"""

from __future__ import annotations

from collections.abc import Sequence

from wcwidth import wcswidth, wcwidth


def display_width(text: str) -> int:
    """Terminal columns that ``text`` takes: 2 for a wide character (Hangul), 0 for a combining mark.

    Control characters count as zero columns (``wcwidth`` alone would give -1 for the whole text).
    """
    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcwidth(ch), 0) for ch in text)


def pad(text: object, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` terminal columns; longer text is kept whole, never cut.

    Args:
        text (object): What to show (``str()`` of it).
        width (int): Columns wanted.
        align (str): ``<`` left, ``>`` right, ``^`` centred.
    """
    text = str(text)
    gap = max(width - display_width(text), 0)
    if align == "<":
        return text + " " * gap
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    raise ValueError(f"align must be '<', '>' or '^', not {align!r}")


def column_widths(rows: Sequence[Sequence[str]], minimum: Sequence[int] = ()) -> list[int]:
    """Per column: its ``minimum`` width, or its widest cell plus one space when that is wider."""
    count = max((len(row) for row in rows), default=0)
    least = [*minimum, *[0] * (count - len(minimum))]
    widest = [max((display_width(row[i]) + 1 for row in rows if i < len(row)), default=0) for i in range(count)]
    return [max(pair) for pair in zip(least, widest, strict=True)]


def format_row(cells: Sequence[str], widths: Sequence[int], align: str, *, indent: str = "") -> str:
    """One line of a table: each cell padded to its column's width (trailing spaces dropped).

    A row may have fewer cells than there are columns (a totals row without a share, say).
    """
    line = "".join(pad(cell, width, side) for cell, width, side in zip(cells, widths, align, strict=False))
    return (indent + line).rstrip()


def table(rows: Sequence[Sequence[str]], *, align: str, minimum: Sequence[int] = (), indent: str = "") -> str:
    """Rows of cells (the header first) as aligned columns, one ``<`` / ``>`` / ``^`` per column in ``align``.

    A column is as wide as its ``minimum`` or as its widest cell plus one space, so a long round id
    or a Hangul class name moves the whole column, never a single line.
    """
    if not rows:
        return ""
    widths = column_widths(rows, minimum)
    return "\n".join(format_row(row, widths, align, indent=indent) for row in rows)


def format_duration(seconds: float | None) -> str:
    """A time span as minutes and zero-padded seconds, ``1m05s`` (whole seconds, cut not rounded).

    The one format of every duration the workbook prints: leaderboards, the journal, a round's
    result, the pipeline summary. Unknown (``None``) reads as ``0m00s``, as a record without a
    training time did before.

    Examples:
        >>> format_duration(65.9), format_duration(5), format_duration(3725), format_duration(None)
        ('1m05s', '0m05s', '62m05s', '0m00s')
    """
    minutes, rest = divmod(max(int(seconds or 0), 0), 60)
    return f"{minutes}m{rest:02d}s"
