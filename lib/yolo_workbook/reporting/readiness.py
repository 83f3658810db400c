"""The diary's question in one line: is any round, at its operating point, precise enough for attendance?

The bar is written once here (and in ``docs/how-to/attendance.md``): every class's stable count exact in at least
95% of the frames, at once, and a headcount error of 0 for every class. The round and its operating point are
chosen on the **tuning clip** (the round whose stable counts are exact, every class at once, in the most
tuning-clip frames) and the line reports that round on the **scored video**, where neither was chosen.

Examples:
    >>> answer([])  # no round has a video score with a tuning clip
    ''
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

BAR_EXACT = 0.95  # share of frames with every class's stable count exact, at once


def _point(record: dict[str, Any]) -> dict[str, Any] | None:
    return (record.get("video") or {}).get("operating_point")


def best_round(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The round whose operating point counts best on the tuning clip (ties: the later round in ``records``)."""
    scored = [r for r in records if r.get("status") == "ok" and _point(r)]
    if not scored:
        return None
    return max(reversed(scored), key=lambda r: _point(r)["tuning_exact_all"])


def answer(records: list[dict[str, Any]]) -> str:
    """``precise enough for attendance? ...``: the best round and operating point, scored on the video; ``""`` when
    no round was scored with a tuning clip (``attendance.tuning_clip``)."""
    best = best_round(records)
    if best is None:
        return ""
    point, video = _point(best), best["video"]
    conf = ", ".join(f"{name} {value:g}" for name, value in point["conf"].items())
    classes = ", ".join(f"{name} {c['scoring_exact']:.0%}" for name, c in point["classes"].items())
    exact = point["scoring_exact_all"]
    errors = point.get("scoring_headcount_err") or {}
    heads = ", ".join(f"{name} {'?' if e is None else f'{e:+d}'}" for name, e in errors.items())
    known = bool(errors) and all(e is not None for e in errors.values())
    word = "yes" if exact >= BAR_EXACT and known and not any(errors.values()) else "not yet"
    return (
        f"precise enough for attendance? {word}: {best['round_id']} at conf {{{conf}}} (round and point chosen on"
        f" {point['chosen_on']}) counts every class exactly in {exact:.0%} of {Path(video['source']).name}'s frames"
        f" ({classes}), headcount err {heads or '?'}; the bar is {BAR_EXACT:.0%} and 0"
    )
