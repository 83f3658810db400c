"""Figures of a video's attendance: counts over time (raw, stable, true) and each track as a bar over time."""

from __future__ import annotations

from typing import Any

from yolo_workbook.attendance.counts import conf_of, seconds_seen
from yolo_workbook.attendance.job import AttendanceResult
from yolo_workbook.reporting.plots import _pyplot


def _seconds(frame_ids: list[int], fps: float | None) -> tuple[list[float], str]:
    if fps:
        return [f / fps for f in frame_ids], "time (s)"
    return [float(f) for f in frame_ids], "frame"


def attendance_counts(result: AttendanceResult) -> Any:
    """One panel per class: the raw count per frame, the stable count and, when known, the true count."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    counts, truth, fps = result.counts, result.truth, result.summary["fps"]
    classes = list(counts.classes)
    fig, axes = plt.subplots(len(classes), 1, figsize=(9, 1.9 * len(classes)), sharex=True, squeeze=False)
    xs, label = _seconds(counts.frame_ids, fps)
    for ax, name in zip(axes[:, 0], classes, strict=True):
        ax.step(xs, counts.raw[name], where="mid", color="0.6", linewidth=0.8, label="raw (per frame)")
        ax.step(xs, counts.stable[name], where="mid", color="tab:blue", linewidth=2, label="stable")
        if truth is not None and name in truth.counts:
            true = truth.counts[name]
            ax.step(
                xs,
                [int(true[f]) if f < len(true) else 0 for f in counts.frame_ids],
                where="mid",
                color="black",
                linestyle="--",
                linewidth=1.2,
                label="true",
            )
        ax.set_ylabel(name)
        top = max([*counts.raw[name], *(truth.counts.get(name, [0]) if truth is not None else [0]), 1])
        ax.set_ylim(-0.3, top + 0.6)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].legend(loc="upper right", fontsize="small", ncols=3)
    axes[0, 0].set_title("count per class over time")
    axes[-1, 0].set_xlabel(label)
    fig.tight_layout()
    return fig


def track_bars(result: AttendanceResult) -> Any:
    """Each track as a bar from its first to its last frame, one row per track, coloured by class.

    Tracks seen shorter than ``attendance.min_seen_s``, or below their class's operating point (``predict.conf``
    on their mean confidence), are not counted and are drawn pale. None without a tracker.
    """
    if not result.tracks:
        return None
    plt = _pyplot()
    tracks, doc = result.tracks, result.summary
    fps, min_seen_s, vid_stride = doc["fps"], doc["min_seen_s"], doc["vid_stride"]
    classes = sorted({t.class_name for t in tracks})
    colours = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(classes)}
    ordered = sorted(tracks, key=lambda t: (t.class_name, t.first_frame))
    fig, ax = plt.subplots(figsize=(9, max(2.0, 0.16 * len(ordered) + 1)))
    scale = 1 / fps if fps else 1.0
    for row, track in enumerate(ordered):
        counted = seconds_seen(track, fps=fps, vid_stride=vid_stride) >= min_seen_s and (
            track.confidence >= conf_of(doc.get("conf"), track.class_name) - 1e-9
        )
        ax.barh(
            row,
            (track.last_frame - track.first_frame + 1) * scale,
            left=track.first_frame * scale,
            height=0.7,
            color=colours[track.class_name],
            alpha=1.0 if counted else 0.3,
        )
    ax.set_yticks(range(len(ordered)), [f"#{t.track_id}" for t in ordered], fontsize="x-small")
    ax.invert_yaxis()
    ax.set_xlabel("time (s)" if fps else "frame")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[name]) for name in classes]
    ax.legend(handles, classes, loc="lower right", fontsize="small")
    ax.set_title(f"tracks over time (pale, not counted: seen under {min_seen_s:g} s or below the operating point)")
    fig.tight_layout()
    return fig


def threshold_curves(result: AttendanceResult) -> Any:
    """One panel per class: the stable count's error against the operating point, on the tuning clip (where it is
    chosen, marked) and on the scored video (reported, never chosen on). None without ``operating_point``."""
    point = result.summary.get("operating_point")
    if not point:
        return None
    plt = _pyplot()
    classes = list(point["conf"])
    fig, axes = plt.subplots(1, len(classes), figsize=(3.2 * len(classes), 2.8), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], classes, strict=True):
        for side, style, label in (
            ("tuning", {"color": "tab:blue", "linewidth": 2}, f"tuning clip ({point['chosen_on']}): chosen here"),
            ("scoring", {"color": "tab:orange", "linestyle": "--"}, f"scored video ({point['scored_on']})"),
        ):
            curve = point[side][name]["curve"]
            ax.plot(curve["thresholds"], curve["count_mae"], label=label, **style)
        chosen = point["conf"][name]
        ax.axvline(chosen, color="black", linewidth=0.8)
        ax.plot([chosen], [point["tuning"][name]["count_mae"]], "o", color="tab:blue")
        ax.set_title(f"{name}: conf {chosen:g}")
        ax.set_xlabel("track mean confidence needed")
    axes[0, 0].set_ylabel("stable count error")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncols=2, fontsize="small")
    fig.suptitle("operating point per class: chosen on the tuning clip, reported on the scored video")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
