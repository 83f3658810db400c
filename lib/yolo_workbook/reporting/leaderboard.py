"""The leaderboard: the rounds side by side, and one round's result, as text and as table cells.

Read from the rounds' records (``metrics.json``, :mod:`yolo_workbook.training.metrics`). The CLI
(``yolo-workbook compare``) and the notebooks print :func:`format_leaderboard`; the journal draws
:func:`leaderboard`'s cells as an HTML table with the best of each column in bold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yolo_workbook.core.text import column_widths, format_duration, format_row, table
from yolo_workbook.training.labelcache import dropped_lines

# The leaderboard's overall columns: (title, key of ``overall``). Every metric column is higher-is-better
# except the video's count error.
OVERALL_COLUMNS = (("mAP50", "mAP50"), ("mAP50-95", "mAP50-95"), ("P", "precision"), ("R", "recall"))
# The video score's columns, when a round has one: (title, key of ``video.score.overall``, lower is better).
VIDEO_COLUMNS = (("count err", "count_mae_stable", True), ("IDF1", "idf1", False))


@dataclass(frozen=True)
class Leaderboard:
    """The leaderboard as cells: :func:`format_leaderboard` prints it, the journal draws it as a table.

    Attributes:
        header (list[str]): Column titles: round, status, mAP50, mAP50-95, P, R, AP50 per class, the video
            score (count err: the stable count's mean absolute error per frame; IDF1) when a round has one,
            train time.
        rows (list[list[str]]): One row per round, each cell as shown (``-`` where there is no value).
        align (str): ``<`` (text) or ``>`` (number) per column.
        best (frozenset[tuple[int, int]]): ``(row, column)`` of the best value of each metric
            column (the highest; the lowest count error; ties all count; only where two rounds or more
            have a value). Train time is not ranked.
        lower_is_better (frozenset[int]): The columns whose best value is the lowest (the count error).
    """

    header: list[str]
    rows: list[list[str]]
    align: str
    best: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    lower_is_better: frozenset[int] = field(default_factory=frozenset)


def leaderboard(records: list[dict[str, Any]]) -> Leaderboard:
    """The rounds side by side: mAP50, mAP50-95, P, R, AP50 per class (all names of all rounds), video, time."""
    names: list[str] = []
    for record in records:
        for name in (record.get("data") or {}).get("names", []):
            if name not in names:
                names.append(name)
    video = VIDEO_COLUMNS if any(record.get("video") for record in records) else ()
    header = [
        "round",
        "status",
        *(title for title, _ in OVERALL_COLUMNS),
        *(f"AP50 {n}" for n in names),
        *(title for title, _, _ in video),
        "train time",
    ]
    values: list[list[float | None]] = []
    rows = []
    for record in records:
        overall = record.get("overall") or {}
        per_class = record.get("per_class") or {}
        numbers = [overall.get(key) for _, key in OVERALL_COLUMNS]
        numbers += [(per_class.get(n) or {}).get("AP50") for n in names]
        scored = ((record.get("video") or {}).get("score") or {}).get("overall") or {}
        numbers += [scored.get(key) for _, key, _ in video]
        numbers = [round(v, 3) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in numbers]
        values.append(numbers)
        cells = ["-" if v is None else f"{v:.3f}" for v in numbers]
        took = format_duration(record.get("train_seconds"))
        rows.append([record["round_id"], record.get("status", "?"), *cells, took])
    best = set()
    lower_is_better = {len(header) - 3 - len(video) + i for i, (_, _, lower) in enumerate(video) if lower}
    for column in range(len(header) - 3):
        present = {i: row[column] for i, row in enumerate(values) if row[column] is not None}
        if len(present) >= 2:
            top = (min if column in lower_is_better else max)(present.values())
            best |= {(i, column + 2) for i, value in present.items() if value == top}
    lower = frozenset(column + 2 for column in lower_is_better)
    return Leaderboard(header, rows, "<<" + ">" * (len(header) - 2), frozenset(best), lower)


def format_leaderboard(records: list[dict[str, Any]]) -> str:
    """A fixed-width table of rounds: mAP50, mAP50-95, P, R, per-class AP50, training time.

    Columns align by display width (a Hangul class name takes two columns a character).
    """
    if not records:
        return "(no finished rounds yet)"
    board = leaderboard(records)
    video = len(VIDEO_COLUMNS) if board.header[-2] == VIDEO_COLUMNS[-1][0] else 0
    classes = len(board.header) - 7 - video
    minimum = [22, 8, 7, 9, 7, 7, *[15] * classes, *[9] * video, 12]
    return table([board.header, *board.rows], align=board.align, minimum=minimum)


def format_result(record: dict[str, Any]) -> str:
    """Overall and per-class results of one round, with the training time (columns aligned by display width), and a
    warning line per split from which ultralytics left images out (``data_dropped``)."""
    overall = record.get("overall")
    warnings = [f"  warning: {line}" for line in dropped_lines(record.get("data_dropped"))]
    if not overall:
        return "\n".join(
            [f"{record['round_id']}: no metrics ({record['status']}: {record.get('error') or '-'})", *warnings]
        )
    rows = [["class", "AP50", "AP50-95", "P", "R", "instances"]]
    for name, c in (record.get("per_class") or {}).items():
        numbers = (c["AP50"], c["AP50-95"], c["precision"], c["recall"])
        rows.append([name, *(f"{v:.3f}" for v in numbers), str(c["instances"])] if c["in_val"] else [name])
    widths = column_widths(rows, [14, 7, 9, 7, 7, 11])
    lines = [
        f"{record['round_id']}: mAP50 {overall['mAP50']:.3f}  mAP50-95 {overall['mAP50-95']:.3f}"
        f"  P {overall['precision']:.3f}  R {overall['recall']:.3f}"
        f"  best epoch {record['best_epoch']}/{record['epochs_run']}  time {format_duration(record['train_seconds'])}",
    ]
    lines += warnings  # what ultralytics left out of the data: above the numbers it changed
    for row in rows:
        if len(row) == 1:  # a class absent from val: one note across the number columns
            lines.append(format_row([row[0], "absent from val"], [widths[0], sum(widths[1:])], "<>", indent="  "))
        else:
            lines.append(format_row(row, widths, "<>>>>>", indent="  "))
    return "\n".join(lines)
