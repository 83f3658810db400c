"""text: terminal tables align by display width, so a Hangul class name (two columns a character) shifts nothing.

The expected columns are counted here with ``unicodedata.east_asian_width``, not with the code under test.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from yolo_workbook.core import text as text_module
from yolo_workbook.data import check
from yolo_workbook.reporting import compare, leaderboard

NAMES = ["학생", "desk", "시태"]  # Hangul and ASCII class names in one table (round ids are ASCII: paths.py)


def columns(text: str) -> int:
    """Terminal columns of ``text``: wide and fullwidth characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cell_ends(line: str, cells: list[str]) -> list[int]:
    """The display column where each of ``cells`` ends in ``line`` (found left to right)."""
    ends, position = [], 0
    for cell in cells:
        found = line.index(cell, position)
        position = found + len(cell)
        ends.append(columns(line[:position]))
    return ends


def cell_starts(line: str, cells: list[str]) -> list[int]:
    """The display column where each of ``cells`` starts in ``line`` (found left to right)."""
    starts, position = [], 0
    for cell in cells:
        found = line.index(cell, position)
        starts.append(columns(line[:found]))
        position = found + len(cell)
    return starts


def _record(round_id: str, status: str, ap50: dict[str, float | None], seconds: float) -> dict[str, Any]:
    per_class = {
        name: {
            "in_val": value is not None,
            "AP50": value,
            "AP50-95": None if value is None else value / 2,
            "precision": None if value is None else 0.7,
            "recall": None if value is None else 0.6,
            "instances": 12 if value is not None else 0,
        }
        for name, value in ap50.items()
    }
    overall = {"mAP50": 0.81, "mAP50-95": 0.52, "precision": 0.7, "recall": 0.6} if status == "ok" else None
    return {
        "round_id": round_id,
        "status": status,
        "error": "" if status == "ok" else "CUDA out of memory",
        "data": {"names": list(ap50)},
        "overall": overall,
        "per_class": per_class if status == "ok" else None,
        "train_seconds": seconds,
        "best_epoch": 3,
        "epochs_run": 5,
    }


RECORDS = [
    _record("r01_base", "ok", {"학생": 0.957, "desk": 0.985, "시태": 0.408}, 79),
    _record("r02_freeze_new_data", "ok", {"학생": 0.9, "desk": None, "시태": 0.21}, 3725),
    _record("r03_a_round_id_longer_than_22", "interrupted", {"학생": None, "desk": None, "시태": None}, 5),
]


def test_leaderboard_columns_line_up_with_hangul_class_names():
    header, *rows = leaderboard.format_leaderboard(RECORDS).splitlines()
    titles = ["mAP50", "mAP50-95", "P", "R", "AP50 학생", "AP50 desk", "AP50 시태", "train time"]
    expected = cell_ends(header, titles)
    assert len(rows) == len(RECORDS)
    for line, record in zip(rows, RECORDS, strict=True):
        cells = line.split()[2:]  # after the round id and the status: one token per right-aligned column
        assert len(cells) == len(titles), line
        assert cell_ends(line, cells) == expected, f"misaligned:\n{header}\n{line}"
        assert cell_starts(line, [record["status"]]) == cell_starts(header, ["status"])


def test_round_result_columns_line_up_with_hangul_class_names():
    record = RECORDS[1]
    _, header, *rows = leaderboard.format_result(record).splitlines()
    expected = cell_ends(header, ["AP50", "AP50-95", "P", "R", "instances"])
    for line in rows:
        name, *cells = line.split()
        assert name in record["per_class"]
        if cells == ["absent", "from", "val"]:
            assert cell_ends(line, ["absent from val"]) == expected[-1:], f"misaligned:\n{header}\n{line}"
            continue
        assert cell_ends(line, cells) == expected, f"misaligned:\n{header}\n{line}"


def test_dataset_stats_columns_line_up_with_hangul_class_names():
    splits = {
        "train": {"images": 40, "per_class": {"학생": {"boxes": 120}, "desk": {"boxes": 90}, "시태": {"boxes": 12}}},
        "valid": {"images": 10, "per_class": {"학생": {"boxes": 30}, "desk": {"boxes": 25}, "시태": {"boxes": 3}}},
    }
    stats = {
        "names": NAMES,
        "splits": splits,
        "share_per_class": {"학생": 0.5357, "desk": 0.4107, "시태": 0.0536},
        "imbalance_ratio": 10.0,
        "rarest_class": "시태",
    }
    header, *rows = check.format_stats(stats).splitlines()[:-1]  # the last line is a sentence
    expected = cell_ends(header, ["train boxes", "valid boxes", "share"])
    for line in rows:
        cells = line.split()[1:]
        assert cell_ends(line, cells) == expected[: len(cells)], f"misaligned:\n{header}\n{line}"


def test_comparison_verdicts_start_in_one_column():
    lines = compare.format_comparison(RECORDS).splitlines()
    starts = {cell_starts(line, [line.split()[1]])[0] for line in lines}
    assert len(starts) == 1, "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "width"), [("", 0), ("desk", 4), ("학생", 4), ("AP50 시태", 9), ("ｆｕｌｌ", 8), ("e\u0301", 1)]
)
def test_display_width_counts_terminal_columns(text: str, width: int):
    from yolo_workbook.core.text import display_width

    assert display_width(text) == width


def test_pad_aligns_by_display_width_and_never_cuts():
    from yolo_workbook.core.text import pad

    assert pad("학생", 6) == "학생  " and pad("학생", 6, ">") == "  학생" and pad("학생", 7, "^") == " 학생  "
    assert pad("r01_base", 4) == "r01_base"
    assert columns(pad("책상", 10, ">")) == columns(pad("desk", 10, ">")) == 10
    with pytest.raises(ValueError, match="align"):
        pad("x", 3, "=")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0m00s"), (None, "0m00s"), (5.9, "0m05s"), (65, "1m05s"), (95.4, "1m35s"), (3725, "62m05s"), (-3, "0m00s")],
)
def test_format_duration_is_minutes_and_two_digit_seconds(seconds: float | None, text: str):
    assert text_module.format_duration(seconds) == text


def test_every_duration_the_workbook_prints_is_format_duration():
    """The leaderboard, a round's result, the journal and the pipeline summary show one format (62m05s)."""
    from yolo_workbook.orchestration.runner import RunOutcome, format_outcomes
    from yolo_workbook.reporting import journal

    record = RECORDS[1]  # 3725 s of training
    shown = {
        "leaderboard": leaderboard.format_leaderboard([record]),
        "result": leaderboard.format_result(record),
        "journal": journal._run_text(record),
        "pipeline": format_outcomes([RunOutcome(record["round_id"], "ok", 3725.8)]),
    }
    for where, text in shown.items():
        assert " 62m05s" in text, f"{where}: {text}"


def test_no_other_module_turns_seconds_into_minutes():
    """``format_duration`` is the only place that divides seconds by 60."""
    root = Path(text_module.__file__).parents[1]
    pattern = re.compile(r"//\s*60\b|%\s*60\b|divmod\(|/\s*60\b|/\s*3600\b")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path != Path(text_module.__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "use core.text.format_duration:\n" + "\n".join(found)


def test_a_table_without_rows_is_empty_text():
    assert text_module.table([], align="<<", minimum=[23]) == ""
    assert compare.format_comparison([]) == ""  # a profile with no finished round
