"""Comparing rounds: deltas against the base round, the weakest class, a verdict (the widget: widgets.py).

Where both rounds kept their validation's per-image detail (``val_stats.npz``), every delta of the verdict
carries its 95% bootstrap interval and a word (:mod:`yolo_workbook.reporting.intervals`). Where the round or its
base was trained with several seeds (``repeat: N``), that word also weighs the training noise they measured
(:mod:`yolo_workbook.reporting.noise`): ``better`` or ``worse`` only beyond both, else ``within noise``.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from yolo_workbook.core import paths
from yolo_workbook.core.text import table
from yolo_workbook.reporting import intervals
from yolo_workbook.reporting.noise import Noise, noise_of
from yolo_workbook.training.valstats import FILE_NAME, ValStats, load_val_stats


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


def oversampled_classes(record: dict[str, Any]) -> list[str]:
    """The classes the round oversampled (its ``data.oversample.classes``, kept in the record's inputs), or ``[]``."""
    data = ((record.get("inputs") or {}).get("params") or {}).get("data") or {}
    classes = (data.get("oversample") or {}).get("classes") if isinstance(data, dict) else None
    return [str(name) for name in classes] if isinstance(classes, list) else []


def weakest_class(record: dict[str, Any]) -> dict[str, Any] | None:
    """The class with the lowest AP50 in val, with its share of the training boxes.

    Classes that tie for the lowest AP50 (all at 0 after one epoch, say) are told apart by what the round is
    about: a class it oversampled (``data.oversample.classes``) first, then the class with the fewest training
    boxes, then the order of the classes.
    """
    classes = (record.get("per_class") or {}).items()
    present = [(n, c) for n, c in classes if c.get("in_val") and c.get("AP50") is not None]
    if not present:
        return None
    lowest = min(entry["AP50"] for _, entry in present)
    tied = [(n, c) for n, c in present if c["AP50"] - lowest < 1e-9]
    targeted = oversampled_classes(record)

    def rank(item: tuple[str, dict[str, Any]]) -> tuple[int, float]:
        boxes = item[1].get("train_boxes")
        return (0 if item[0] in targeted else 1, boxes if isinstance(boxes, (int, float)) else float("inf"))

    name, entry = min(tied, key=rank)  # min keeps the first of equals: the order of the classes
    return {"name": name, "AP50": entry["AP50"], "train_share": entry.get("train_share")}


def stats_dir(record: dict[str, Any]) -> Path | None:
    """The round folder of a record (where its ``val_stats.npz`` is), or None for an id that is not a folder name."""
    try:
        return paths.round_dir(str(record.get("round_id") or ""), str(record.get("profile") or ""))
    except Exception:  # an id or profile that cannot name a folder has no stats
        return None


def round_stats(record: dict[str, Any]) -> ValStats | None:
    """The ``val_stats.npz`` of a record's round; None for a round trained before they were kept."""
    folder = stats_dir(record)
    return load_val_stats(folder) if folder else None


def _stamp(record: dict[str, Any]) -> tuple[str, int]:
    folder = stats_dir(record)
    path = folder / FILE_NAME if folder else None
    return (str(path), path.stat().st_mtime_ns) if path and path.is_file() else ("", 0)


@functools.lru_cache(maxsize=64)
def _cached_comparison(stamp: tuple[str, int], base_stamp: tuple[str, int], against: str) -> intervals.Comparison:
    stats, base_stats = load_val_stats(Path(stamp[0]).parent), load_val_stats(Path(base_stamp[0]).parent)
    if stats is None or base_stats is None:
        raise ValueError("a val_stats.npz could not be read back")
    return intervals.compare_stats(stats, base_stats, against=against)


def comparison(record: dict[str, Any], base: dict[str, Any] | None) -> intervals.Comparison | str:
    """The intervals of a round against its base, or why there are none (``no interval: ...``)."""
    if not base:
        return "no interval: no base to compare with"
    stamp, base_stamp = _stamp(record), _stamp(base)
    missing = [r.get("round_id", "?") for r, s in ((base, base_stamp), (record, stamp)) if not s[0]]
    if missing:
        verb = "was" if len(missing) == 1 else "were"
        return f"no interval: {' and '.join(missing)} {verb} trained before val_stats were kept"
    try:
        return _cached_comparison(stamp, base_stamp, str(base["round_id"]))
    except (ValueError, IndexError) as exc:  # a val_stats file that cannot be read back
        return f"no interval: {exc}"


def _delta_text(delta: float, found: intervals.Comparison | str, metric: str, noise: Noise | None = None) -> str:
    """One delta of the verdict: its interval and one word (:func:`intervals.call_of`), with the training noise."""
    interval = found.intervals.get(metric) if isinstance(found, intervals.Comparison) else None
    if interval is None or interval.low is None or interval.high is None:  # the training noise's own call, if any
        return f"{delta:+.3f}" + (noise.text(metric, delta) if noise else "")
    band = noise.band(metric) if noise else None
    if noise is None or band is None:
        return interval.text()
    word = intervals.call_of(interval.low, interval.high, delta=interval.delta, band=band)
    return f"{dataclasses.replace(interval, call=word).text()} ({noise.source(metric)})"


def verdict(record: dict[str, Any], base: dict[str, Any] | None) -> str:
    """One line computed from the numbers, each delta with its 95% interval and word when both rounds kept
    their val_stats, e.g. ``mAP50-95 +0.041 [+0.01, +0.07] better vs r03_merge; sitae AP50 -0.006 [-0.05, +0.04]
    within noise``; otherwise the deltas alone and why there is no interval.

    When the round or its base has repeats, the word (``better``, ``worse``, ``within noise``) weighs the interval
    and their training noise together: ``better`` or ``worse`` only when the delta is beyond both, else ``within
    noise`` (:func:`intervals.call_of`), the band beside it, e.g. ``+0.008 [+0.00, +0.01] within noise (training
    noise ±0.043, 3 seeds of r03_merge)``. A delta without an interval says where it stands against the training
    noise alone, e.g. ``+0.040, beyond training noise ±0.028 (3 seeds of r03_merge)``."""
    if record.get("status") != "ok" or not record.get("overall"):
        return f"{record.get('status', '?')}: {record.get('error') or 'no metrics'}"
    overall = record["overall"]
    weakest = weakest_class(record)
    if not base or not base.get("overall"):
        line = f"mAP50-95 {overall['mAP50-95']:.3f}, mAP50 {overall['mAP50']:.3f} (no base to compare with)"
    else:
        found, noise = comparison(record, base), noise_of(record, base)
        change = overall["mAP50-95"] - base["overall"]["mAP50-95"]
        unpaired = isinstance(found, intervals.Comparison) and not found.paired
        line = f"mAP50-95 {_delta_text(change, found, 'mAP50-95', noise)} vs {base['round_id']}"
        line += " (unpaired: validated on different images)" if unpaired else ""
        deltas = class_deltas(record, base)
        if weakest and deltas.get(weakest["name"]) is not None:
            name = weakest["name"]
            line += f"; {name} AP50 {_delta_text(deltas[name], found, f'{name} AP50', noise)}"
        known = {n: d for n, d in deltas.items() if d is not None}
        if known:
            best, worst = max(known, key=known.get), min(known, key=known.get)
            if known[worst] < -0.02 and worst != (weakest or {}).get("name"):
                line += f"; {worst} AP50 {_delta_text(known[worst], found, f'{worst} AP50', noise)}"
            if known[best] > 0.02 and best != (weakest or {}).get("name"):
                line += f"; {best} AP50 {_delta_text(known[best], found, f'{best} AP50', noise)}"
        if isinstance(found, str):
            line += f" ({found})"
    line += video_text(record, base)
    if weakest:
        share = weakest.get("train_share")
        share_text = f", {share:.0%} of training boxes" if isinstance(share, (int, float)) else ""
        line += f" | weakest: {weakest['name']} (AP50 {weakest['AP50']:.3f}{share_text})"
    return line


def video_text(record: dict[str, Any], base: dict[str, Any] | None) -> str:
    """The video score in the verdict: ``; video count err 0.21 (r03_merge 0.35), IDF1 0.91 (0.88)``, or ``""``."""
    scored = ((record.get("video") or {}).get("score") or {}).get("overall")
    if not scored:
        return ""
    before = (((base or {}).get("video") or {}).get("score") or {}).get("overall") or {}
    parts = []
    for title, key in (("count err", "count_mae_stable"), ("IDF1", "idf1")):
        if scored.get(key) is None:
            continue
        then = before.get(key)
        against = f" ({base['round_id']} {then:.2f})" if then is not None and base and not parts else ""
        against = against or (f" ({then:.2f})" if then is not None else "")
        parts.append(f"{title} {scored[key]:.2f}{against}")
    return f"; video {', '.join(parts)}" if parts else ""


def comparison_record(record: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``comparison`` field of ``metrics.json`` (None when the round or its base has no val_stats), with the
    ``training_noise`` of the round and its base when either has repeats."""
    found = comparison(record, base) if record.get("status") == "ok" else "not finished"
    if not isinstance(found, intervals.Comparison):
        return None
    field = found.as_record()
    noise = noise_of(record, base)
    if noise:
        field["training_noise"] = noise.as_record({name: i.delta for name, i in found.intervals.items()})
    return field


def record_comparison(record: dict[str, Any], *, profile: str) -> dict[str, Any] | None:
    """Write the round's intervals against its base into its ``metrics.json`` (``comparison``), when both have
    val_stats; returns the field written, or None (nothing written)."""
    from yolo_workbook.training.metrics import load_records, write_record

    field = comparison_record(record, base_of(record, load_records(profile)))
    folder = stats_dir(record)
    if field is None or folder is None or not (folder / "metrics.json").is_file():
        return None
    record["comparison"] = field
    write_record(record, folder / "metrics.json")
    return field


def changed_images(
    record: dict[str, Any], base: dict[str, Any] | None, class_name: str
) -> intervals.ChangedImages | None:
    """Val images where ``class_name`` went from missed (in the base) to found (in this round) and the reverse;
    None when either round has no val_stats."""
    stats, base_stats = round_stats(record), round_stats(base) if base else None
    if stats is None or base_stats is None:
        return None
    return intervals.changed_images(base_stats, stats, class_name)


def verdict_for(record: dict[str, Any], *, profile: str) -> str:
    """The verdict of a round against its base's record on disk (when the base has run)."""
    from yolo_workbook.training.metrics import load_records

    return verdict(record, base_of(record, load_records(profile)))


def format_comparison(records: list[dict[str, Any]], *, changed: int = 0) -> str:
    """Per round: the verdict against its base (the leaderboard is :func:`~.leaderboard.format_leaderboard`); with
    ``changed`` > 0, then up to that many val images per round where its weakest class went from missed to found
    and the reverse."""
    rows = [[record["round_id"], verdict(record, base_of(record, records))] for record in records]
    text = table(rows, align="<<", minimum=[23])
    lines = []
    for record in records if changed > 0 else []:
        base, weakest = base_of(record, records), weakest_class(record)
        moved = changed_images(record, base, weakest["name"]) if weakest and base else None
        if moved is None or not (moved.now_found or moved.now_missed):
            continue
        for label, images in (("found now", moved.now_found), ("missed now", moved.now_missed)):
            names = [Path(p).name for p in images[:changed]]
            more = f" (+{len(images) - changed} more)" if len(images) > changed else ""
            if names:
                lines.append(f"{record['round_id']}: {moved.class_name} {label} in {', '.join(names)}{more}")
    return "\n".join([text, *(["", "images that changed against the base:", *lines] if lines else [])])
