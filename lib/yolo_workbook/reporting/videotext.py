"""A video's attendance in words, for the journal: a round's video score, a prediction's counts and choices."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def video_line(record: dict[str, Any]) -> str:
    """A round's video score in one line, or ``""``."""
    video = record.get("video") or {}
    overall = (video.get("score") or {}).get("overall")
    if not overall:
        return ""
    parts = [
        f"count error {_fmt(overall.get('count_mae_stable'))} per frame (raw {_fmt(overall.get('count_mae_raw'))})",
        f"every class exact in {percent(overall.get('exact_stable'))} of frames",
    ]
    if overall.get("idf1") is not None:
        parts.append(
            f"IDF1 {_fmt(overall['idf1'])}, HOTA {_fmt(overall.get('hota'))}, {overall.get('id_switches')} ID switches"
        )
    tracker = video.get("tracker") or "no tracker"
    return f"{'; '.join(parts)} ({tracker}, stable count over {video.get('window_s')} s)"


def percent(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else "–"


def attendance_lines(doc: dict[str, Any]) -> list[str]:
    """A prediction's attendance: per class the stable count and the tracks counted, the score, the choices."""
    counted = ", ".join(
        f"{name} {c['stable_count']}" + ("" if c["counted_tracks"] is None else f" ({c['counted_tracks']} tracks)")
        for name, c in doc["classes"].items()
    )
    lines = [f"stable count (median over the video): {counted}"]
    heads = [f"{name} {c['headcount']}" for name, c in doc["classes"].items() if c.get("headcount") is not None]
    if heads:
        lines.append(f"present (headcount, fragments of one person joined): {', '.join(heads)}")
    if doc.get("reclassed"):
        moved = doc["reclassed"]
        lines.append(
            f"one class per track ({doc.get('track_class')}): {moved['detections']} detections in {moved['tracks']}"
            " tracks took their track's class"
        )
    score = doc.get("score")
    if score:
        overall = score["overall"]
        lines.append(
            f"against ground truth: count error {_fmt(overall['count_mae_stable'])} per frame (raw"
            f" {_fmt(overall['count_mae_raw'])}), every class exact in {percent(overall['exact_stable'])} of frames"
            + (f", IDF1 {_fmt(overall['idf1'])}" if overall.get("idf1") is not None else "")
            + (
                f", headcount error {overall['headcount_abs_err']}"
                if overall.get("headcount_abs_err") is not None
                else ""
            )
        )
    point = doc.get("operating_point")
    if point:
        conf = ", ".join(f"{name} {value:g}" for name, value in point["conf"].items())
        lines.append(
            f"operating point chosen on {point['chosen_on']}: conf {{{conf}}}; every class exact in"
            f" {percent(point['tuning_exact_all'])} of the tuning clip's frames, {percent(point['scoring_exact_all'])}"
            " of this video's (operating_point.yaml deploys it)"
        )
    choices = doc.get("choices") or {}
    for row in choices.get("windows", []):
        mark = " (best)" if row["window_s"] == choices.get("best_window_s") else ""
        lines.append(f"window {row['window_s']:g} s: count error {_fmt(row['count_mae_stable'])}{mark}")
    for row in choices.get("trackers", []):
        mark = " (best)" if row["tracker"] == choices.get("best_tracker") else ""
        lines.append(
            f"tracker {row['tracker']}: IDF1 {_fmt(row['idf1'])}, {row['counted_tracks']} tracks counted{mark}"
        )
    return lines
