"""Comparing rounds: deltas against the base round, the weakest class, a verdict (the widget: widgets.py)."""

from __future__ import annotations

from typing import Any

from yolo_workbook.core.text import table


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by round id."""
    return {r["round_id"]: r for r in records}


def base_of(record: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The record of the round this one extends, when it has run."""
    return by_id(records).get(record.get("base") or "")


def class_deltas(record: dict[str, Any], base: dict[str, Any] | None, *, key: str = "AP50") -> dict[str, float | None]:
    """Per-class change of ``key`` against the base (None where either lacks the class in val)."""
    deltas: dict[str, float | None] = {}
    for name, entry in (record.get("per_class") or {}).items():
        before = ((base or {}).get("per_class") or {}).get(name) or {}
        now, then = entry.get(key), before.get(key)
        deltas[name] = round(now - then, 4) if now is not None and then is not None else None
    return deltas


def weakest_class(record: dict[str, Any]) -> dict[str, Any] | None:
    """The class with the lowest AP50 in val, with its share of the training boxes."""
    classes = (record.get("per_class") or {}).items()
    present = [(n, c) for n, c in classes if c.get("in_val") and c.get("AP50") is not None]
    if not present:
        return None
    name, entry = min(present, key=lambda item: item[1]["AP50"])
    return {"name": name, "AP50": entry["AP50"], "train_share": entry.get("train_share")}


def verdict(record: dict[str, Any], base: dict[str, Any] | None) -> str:
    """One line computed from the numbers, e.g. ``mAP50-95 +0.041 vs r03_merge; sitae AP50 -0.100``."""
    if record.get("status") != "ok" or not record.get("overall"):
        return f"{record.get('status', '?')}: {record.get('error') or 'no metrics'}"
    overall = record["overall"]
    weakest = weakest_class(record)
    if not base or not base.get("overall"):
        line = f"mAP50-95 {overall['mAP50-95']:.3f}, mAP50 {overall['mAP50']:.3f} (no base to compare with)"
    else:
        change = overall["mAP50-95"] - base["overall"]["mAP50-95"]
        line = f"mAP50-95 {change:+.3f} vs {base['round_id']}"
        deltas = class_deltas(record, base)
        if weakest and deltas.get(weakest["name"]) is not None:
            line += f"; {weakest['name']} AP50 {deltas[weakest['name']]:+.3f}"
        known = {n: d for n, d in deltas.items() if d is not None}
        if known:
            best, worst = max(known, key=known.get), min(known, key=known.get)
            if known[worst] < -0.02 and worst != (weakest or {}).get("name"):
                line += f"; {worst} AP50 {known[worst]:+.3f}"
            if known[best] > 0.02 and best != (weakest or {}).get("name"):
                line += f"; {best} AP50 {known[best]:+.3f}"
    if weakest:
        share = weakest.get("train_share")
        share_text = f", {share:.0%} of training boxes" if isinstance(share, (int, float)) else ""
        line += f" | weakest: {weakest['name']} (AP50 {weakest['AP50']:.3f}{share_text})"
    return line


def verdict_for(record: dict[str, Any], *, profile: str) -> str:
    """The verdict of a round against its base's record on disk (when the base has run)."""
    from yolo_workbook.training.metrics import load_records

    return verdict(record, base_of(record, load_records(profile)))


def format_comparison(records: list[dict[str, Any]]) -> str:
    """Per round: the verdict against its base (the leaderboard is :func:`metrics.format_leaderboard`)."""
    rows = [[record["round_id"], verdict(record, base_of(record, records))] for record in records]
    return table(rows, align="<<", minimum=[23])
