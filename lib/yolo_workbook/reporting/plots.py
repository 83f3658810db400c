"""Figures for the notebooks: dataset balance, per-class AP across rounds, training curves, confusion matrices."""

from __future__ import annotations

from typing import Any

import numpy as np

from yolo_workbook.core import paths
from yolo_workbook.prediction.detections import Detections
from yolo_workbook.training import metrics


def _pyplot() -> Any:
    """matplotlib's pyplot, with a font that draws Hangul registered first."""
    import matplotlib.pyplot as plt

    from yolo_workbook.core.fonts import setup_matplotlib

    setup_matplotlib()
    return plt


def class_balance(counts_by_dataset: dict[str, dict[str, Any]]) -> Any:
    """Grouped bars of boxes per class and split, one panel per dataset."""
    plt = _pyplot()

    usable = {k: v for k, v in counts_by_dataset.items() if "splits" in v}
    fig, axes = plt.subplots(1, max(1, len(usable)), figsize=(5 * max(1, len(usable)), 3.2), squeeze=False)
    for ax, (name, counts) in zip(axes[0], usable.items(), strict=False):
        splits = list(counts["splits"])
        width = 0.8 / max(1, len(splits))
        for i, split in enumerate(splits):
            values = [counts["splits"][split]["per_class"][c]["boxes"] for c in counts["names"]]
            ax.bar([x + i * width for x in range(len(values))], values, width, label=split)
        ax.set_xticks([x + width * (len(splits) - 1) / 2 for x in range(len(counts["names"]))], counts["names"])
        ax.set_title(name)
        ax.set_ylabel("boxes")
        ax.legend()
    fig.tight_layout()
    return fig


def per_class_ap(records: list[dict[str, Any]], *, key: str = "AP50") -> Any:
    """Grouped bars: per-class AP of each round (classes absent from val are left out)."""
    plt = _pyplot()

    usable = [r for r in records if r.get("per_class")]
    names: list[str] = []
    for record in usable:
        names += [n for n in record["per_class"] if n not in names]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names) * max(1, len(usable)) / 2), 3.5))
    width = 0.8 / max(1, len(usable))
    for i, record in enumerate(usable):
        values = [(record["per_class"].get(n) or {}).get(key) for n in names]
        ax.bar([x + i * width for x in range(len(names))], [v or 0 for v in values], width, label=record["round_id"])
    ax.set_xticks([x + width * (len(usable) - 1) / 2 for x in range(len(names))], names)
    ax.set_ylim(0, 1)
    ax.set_ylabel(key)
    ax.set_title(f"per-class {key} by round")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    return fig


def training_curves(records: list[dict[str, Any]], *, profile: str) -> Any:
    """Losses and mAP by epoch from each round's ``results.csv``, several rounds overlaid."""
    plt = _pyplot()
    panels = [
        ("train/box_loss", "train box loss"),
        ("train/cls_loss", "train class loss"),
        ("val/cls_loss", "val class loss"),
        ("metrics/mAP50-95(B)", "val mAP50-95"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(14, 3.2))
    for record in records:
        rows = metrics.read_results_csv(paths.round_dir(record["round_id"], profile) / "train" / "results.csv")
        if not rows:
            continue
        epochs = [row["epoch"] for row in rows]
        for ax, (column, _) in zip(axes, panels, strict=True):
            ax.plot(epochs, [row.get(column, float("nan")) for row in rows], marker=".", label=record["round_id"])
    for ax, (_, title) in zip(axes, panels, strict=True):
        ax.set(xlabel="epoch", title=title)
    axes[-1].legend(fontsize="small")
    fig.tight_layout()
    return fig


def round_vs_base(record: dict[str, Any], base: dict[str, Any] | None) -> Any:
    """Per-class AP50 of a round beside its base's, each bar labelled with the change."""
    plt = _pyplot()
    names = list(record.get("per_class") or {})
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(names)), 3))
    runs = [r for r in (base, record) if r and r.get("per_class")]
    width = 0.8 / max(1, len(runs))
    for i, run in enumerate(runs):
        values = [(run["per_class"].get(n) or {}).get("AP50") or 0 for n in names]
        bars = ax.bar([x + i * width for x in range(len(names))], values, width, label=run["round_id"])
        if run is record and base and base.get("per_class"):
            for bar, name in zip(bars, names, strict=True):
                before = (base["per_class"].get(name) or {}).get("AP50")
                now = (record["per_class"].get(name) or {}).get("AP50")
                if before is not None and now is not None:
                    ax.annotate(
                        f"{now - before:+.2f}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=8,
                    )
    ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(names))], names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("AP50")
    ax.set_title(f"{record['round_id']}: per-class AP50" + (f" vs {base['round_id']}" if base else ""))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def annotated_frames(frames: list[Detections], source: str, *, count: int = 4) -> Any:
    """A few frames of a video (or images) with their detections drawn."""
    from pathlib import Path

    import cv2

    plt = _pyplot()

    with_detections = [f for f in frames if len(f)] or frames
    step = max(1, len(with_detections) // count)
    chosen = with_detections[::step][:count]
    fig, axes = plt.subplots(1, max(1, len(chosen)), figsize=(3 * max(1, len(chosen)), 3.2), squeeze=False)
    is_video = Path(source).is_file() and Path(source).suffix.lower() not in {".jpg", ".jpeg", ".png", ".bmp"}
    capture = cv2.VideoCapture(source) if is_video else None
    for ax, frame in zip(axes[0], chosen, strict=False):
        if capture is not None:
            capture.set(cv2.CAP_PROP_POS_FRAMES, frame.frame_id)
            ok, image = capture.read()
        else:
            folder = Path(source) if Path(source).is_dir() else Path(source).parent
            image = cv2.imread(str(folder / frame.source))
            ok = image is not None
        if not ok:
            continue
        ax.imshow(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        for (x1, y1, x2, y2), name, confidence, track_id in zip(
            frame.xyxy, frame.class_name, frame.confidence, frame.track_ids(), strict=True
        ):
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color="yellow", linewidth=1.5))
            ax.text(
                x1,
                y1,
                ("" if track_id is None else f"#{track_id} ") + f"{name} {confidence:.2f}",
                color="black",
                fontsize=7,
                bbox={"facecolor": "yellow", "pad": 1, "linewidth": 0},
            )
        ax.set_title(f"frame {frame.frame_id}", fontsize=9)
        ax.axis("off")
    if capture is not None:
        capture.release()
    fig.tight_layout()
    return fig


def box_sizes(stats_by_dataset: dict[str, dict[str, Any]]) -> Any:
    """Box sizes per class, one panel per dataset, binned by sqrt(w*h) as a fraction of the image side."""
    plt = _pyplot()
    count = max(1, len(stats_by_dataset))
    fig, axes = plt.subplots(1, count, figsize=(5.5 * count, 3.2), squeeze=False)
    for ax, (dataset_name, stats) in zip(axes[0], stats_by_dataset.items(), strict=False):
        names, bins = stats["names"], stats["size_bins"]
        width = 0.8 / max(1, len(names))
        for i, name in enumerate(names):
            values = [sum(s["box_sizes"][name][b] for s in stats["splits"].values()) for b in bins]
            ax.bar([x + i * width for x in range(len(bins))], values, width, label=name)
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(bins))], bins)
        ax.set(xlabel="box side / image side", ylabel="boxes", title=f"{dataset_name}: box sizes")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def confusion_pair(stats_round: Any, stats_base: Any | None, *, titles: tuple[str, str] = ("round", "base")) -> Any:
    """The normalized confusion matrix of a round beside its base's (rows predicted, columns true class).

    Each column sums to 1: where the boxes of that true class went (``background`` = missed, or a
    false positive on the background in its row). Without the base's statistics, the round's alone.
    """
    from yolo_workbook.reporting.gallery import CONF, IOU, confusion_matrix

    plt = _pyplot()
    panels = [(stats_round, titles[0])] + ([(stats_base, titles[1])] if stats_base is not None else [])
    size = max(3.2, 0.75 * (len(stats_round.names) + 1) + 1.2)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), squeeze=False)
    for ax, (stats, title) in zip(axes[0], panels, strict=True):
        matrix = confusion_matrix(stats)
        labels = [str(n) for n in stats.names] + ["background"]
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
        for (row, column), value in np.ndenumerate(matrix):
            if value > 0:
                colour = "white" if value > 0.6 else "black"
                ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set(xlabel="true class", ylabel="predicted", title=title)
    fig.suptitle(f"confusion matrix, normalized per true class (conf >= {CONF}, IoU >= {IOU})", fontsize=9)
    fig.tight_layout()
    return fig
