"""Where a class fails: its missed boxes, its false positives and its confusions, as drawn validation images.

Read from the per-image statistics of a round's final validation (``val_stats.npz``, see
``training.valstats``): every prediction (image, class, confidence, box) and every ground-truth
box (image, class, box), boxes as xyxy pixels of the original image.

Definitions, for one class ``c``:

- a prediction counts at confidence >= 0.25 (:data:`CONF`, ultralytics' ``predict`` default);
- a ground-truth box of ``c`` is *found* when a counted prediction of ``c`` overlaps it at
  IoU >= 0.5 (:data:`IOU`, computed with ultralytics' ``box_iou``); a **miss** is one not found,
  shown with the highest confidence a prediction of ``c`` reached on it at that IoU (below 0.25, or
  none); the most confidently missed first: none before the lowest, then the largest box;
- a **false positive** of ``c`` is a counted prediction of ``c`` that overlaps no ground truth of
  ``c`` at IoU >= 0.5; the most confident first;
- a **confusion** is a counted prediction of another class ``c'`` on a ground truth of ``c`` at
  IoU >= 0.5, or one of ``c`` on a ground truth of ``c'``; the most confident first. A confusion
  is also a miss (when nothing of ``c`` found the box) or a false positive of ``c``: it appears in
  both lists, as the definitions say.

Each list keeps at most ``limit`` items (8 by default) and the total, so that a gallery stays small.
The confusion matrix (:func:`confusion_matrix`) is ultralytics' ``ConfusionMatrix`` fed image by
image with the same confidence and IoU (and its own matching: one-to-one, greedy by confidence),
normalized per true class.

Examples:
    >>> stats = load_val_stats(paths.round_dir("r04_lr_cos", "demo"))  # doctest: +SKIP
    >>> found = failures(stats, "sitae")  # doctest: +SKIP
    >>> [f.confidence for f in found.false_positives]  # doctest: +SKIP
    [0.91, 0.64]
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from yolo_workbook.core import paths
from yolo_workbook.reporting.compare import weakest_class
from yolo_workbook.reporting.matching import CONF, IOU, box_iou
from yolo_workbook.training.valstats import ValStats, load_val_stats

LIMIT = 8
THUMB = 192  # pixels, the longest side of a thumbnail
NO_STATS = (
    "no val_stats.npz in {round_id}/: this round was validated before the workbook kept per-image"
    " statistics; train it again (force) to see where its classes fail"
)


@dataclass(frozen=True)
class Failure:
    """One mistake: which image, the box at fault, its confidence and the other class of a confusion.

    ``box`` is the ground truth of a miss, the prediction otherwise; ``truth`` is the class of the
    ground truth involved (``""`` for a false positive on background), ``predicted`` the class predicted.
    """

    kind: str  # "miss", "false positive" or "confusion"
    image: str
    image_index: int
    box: tuple[float, float, float, float]
    confidence: float | None
    truth: str
    predicted: str
    other: str = ""

    def caption(self) -> str:
        """A short line for the thumbnail, e.g. ``시태 as 학생 0.71`` (a 시태 predicted as 학생)."""
        conf = f" {self.confidence:.2f}" if self.confidence is not None else ""
        if self.kind == "miss":
            return f"missed {self.truth}" + (f" (best {conf.strip()})" if conf else "")
        if self.kind == "confusion":
            return f"{self.truth} as {self.predicted}{conf}"
        return f"{self.predicted}{conf} on {self.truth or 'background'}"


@dataclass(frozen=True)
class Failures:
    """The mistakes of one class, each list at most ``limit`` long; ``totals`` counts all of them.

    ``note`` says why there is nothing to show (no statistics, no such class), else it is empty.
    """

    class_name: str
    misses: list[Failure] = field(default_factory=list)
    false_positives: list[Failure] = field(default_factory=list)
    confusions: list[Failure] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def kinds(self) -> list[tuple[str, list[Failure]]]:
        """``(title, items)`` for the three kinds, in the gallery's order."""
        return [("misses", self.misses), ("false positives", self.false_positives), ("confusions", self.confusions)]

    def summary(self) -> str:
        """One line: how many of each kind, and how many are shown."""
        if self.note:
            return self.note
        parts = []
        for title, items in self.kinds():
            total = self.totals.get(title, len(items))
            word = _ONE.get(title, title) if total == 1 else title
            parts.append(f"{total} {word}" + (f" ({len(items)} shown)" if total > len(items) else ""))
        return f"{self.class_name}: " + ", ".join(parts) + f" (predictions at conf >= {CONF}, IoU >= {IOU})"


_ONE = {"misses": "miss", "false positives": "false positive", "confusions": "confusion"}  # "1 miss"


def _box(row: np.ndarray) -> tuple[float, float, float, float]:
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def failures(stats: ValStats, class_name: str, *, limit: int = LIMIT) -> Failures:
    """The misses, false positives and confusions of one class (definitions: the module's docstring).

    Args:
        stats (ValStats): The round's validation statistics (``training.valstats.load_val_stats``).
        class_name (str): The class, by name.
        limit (int): At most this many items of each kind, the most confident mistakes first.

    Returns:
        (Failures): The three lists and their totals; ``note`` set when the class is not in ``stats``.
    """
    names = [str(n) for n in stats.names]
    if class_name not in names:
        return Failures(class_name, note=f"{class_name} is not a class of this round ({', '.join(names)})")
    c = names.index(class_name)
    pred_cls, pred_conf = np.asarray(stats.pred_cls, int), np.asarray(stats.pred_conf, float)
    pred_img, pred_box = np.asarray(stats.pred_img, int), np.asarray(stats.pred_box, float).reshape(-1, 4)
    gt_img, gt_cls = np.asarray(stats.gt_img, int), np.asarray(stats.gt_cls, int)
    gt_box = np.asarray(stats.gt_box, float).reshape(-1, 4)
    misses: list[tuple[Any, Failure]] = []
    false_positives: list[Failure] = []
    confusions: list[Failure] = []
    for image in sorted(set(gt_img[gt_cls == c].tolist()) | set(pred_img[pred_cls == c].tolist())):
        path = str(stats.images[image])
        gts, preds = np.flatnonzero(gt_img == image), np.flatnonzero(pred_img == image)
        iou = box_iou(gt_box[gts], pred_box[preds])
        overlaps = iou >= IOU
        counted = pred_conf[preds] >= CONF
        same = gt_cls[gts][:, None] == pred_cls[preds][None, :]
        for g, gi in enumerate(gts):
            if gt_cls[gi] != c:
                continue
            ours = overlaps[g] & (pred_cls[preds] == c)
            if not (ours & counted).any():
                best = float(pred_conf[preds][ours].max()) if ours.any() else None
                x1, y1, x2, y2 = gt_box[gi]
                item = Failure("miss", path, image, _box(gt_box[gi]), best, class_name, "")
                misses.append(((best if best is not None else -1.0, -(x2 - x1) * (y2 - y1)), item))
        for p, pi in enumerate(preds):
            if not counted[p]:
                continue
            box, conf, predicted = _box(pred_box[pi]), float(pred_conf[pi]), names[pred_cls[pi]]
            others = np.flatnonzero(overlaps[:, p] & ~same[:, p])  # ground truths of another class under it
            other = names[gt_cls[gts][others[iou[others, p].argmax()]]] if len(others) else ""
            if pred_cls[pi] == c:
                if not (overlaps[:, p] & same[:, p]).any():
                    false_positives.append(Failure("false positive", path, image, box, conf, other, predicted))
                if other:
                    confusions.append(Failure("confusion", path, image, box, conf, other, predicted, other))
            elif (gt_cls[gts][others] == c).any():
                confusions.append(Failure("confusion", path, image, box, conf, class_name, predicted, predicted))
    misses.sort(key=lambda pair: pair[0])
    false_positives.sort(key=lambda f: -(f.confidence or 0))
    confusions.sort(key=lambda f: -(f.confidence or 0))
    totals = {"misses": len(misses), "false positives": len(false_positives), "confusions": len(confusions)}
    return Failures(class_name, [m for _, m in misses][:limit], false_positives[:limit], confusions[:limit], totals)


def round_failures(record: dict[str, Any], *, profile: str, class_name: str = "", limit: int = LIMIT) -> Failures:
    """The failures of a round's weakest class (or of ``class_name``), with a note when there are none to show."""
    stats = load_val_stats(paths.round_dir(record["round_id"], profile))
    if stats is None:
        return Failures(class_name, note=NO_STATS.format(round_id=record["round_id"]))
    if not class_name:
        weakest = weakest_class(record)
        if weakest is None:
            return Failures("", note="no class of this round is in the validation set: nothing to look at")
        class_name = weakest["name"]
    return failures(stats, class_name, limit=limit)


PALETTE = ["#ff3838", "#2c99a8", "#ffb21d", "#48f90a", "#cf57ff", "#0018ec", "#ff9d97", "#00c2ff"]
TRUTH = "#00c853"


def _font(size: int) -> Any:
    from PIL import ImageFont

    from yolo_workbook.core.fonts import cjk_font_path

    font_path = cjk_font_path()
    return ImageFont.truetype(str(font_path), size) if font_path else ImageFont.load_default()


def draw_failure(stats: ValStats, failure: Failure, *, side: int = THUMB) -> bytes:
    """A JPEG thumbnail of the mistake: the region around its box, ground truth in green, predictions in colour.

    The box at fault is drawn thick; the caption (Hangul-capable font) is written under the picture.
    """
    from PIL import Image, ImageDraw

    names = [str(n) for n in stats.names]
    try:
        picture = Image.open(failure.image).convert("RGB")
    except OSError:
        picture = Image.new("RGB", (side, side), "#777777")
    width, height = picture.size
    x1, y1, x2, y2 = failure.box
    # The box with context around it: at least three times its size, at least a third of the image.
    half = max(1.5 * max(x2 - x1, y2 - y1), min(width, height) / 6)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = max(0.0, cx - half), max(0.0, cy - half)
    right, bottom = min(float(width), cx + half), min(float(height), cy + half)
    scale = side / max(right - left, bottom - top, 1.0)
    crop = picture.crop((int(left), int(top), int(right), int(bottom)))
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))))
    font = _font(11)
    caption_height = 16
    canvas_image = Image.new("RGB", (crop.width, crop.height + caption_height), "white")
    canvas_image.paste(crop, (0, 0))
    canvas = ImageDraw.Draw(canvas_image)

    def place(box: np.ndarray) -> tuple[float, float, float, float]:
        return ((box[0] - left) * scale, (box[1] - top) * scale, (box[2] - left) * scale, (box[3] - top) * scale)

    def label(box: tuple[float, float, float, float], text: str, colour: str, *, below: bool = False) -> None:
        x, y = box[0], box[3] - 13 if below else max(0.0, box[1] - 13)  # ground truth above, predictions inside
        ends = canvas.textbbox((x, y), text, font=font)
        canvas.rectangle(ends, fill=colour)
        canvas.text((x, y), text, fill="white", font=font)

    truths = np.asarray(stats.gt_img) == failure.image_index
    for row, cls in zip(np.asarray(stats.gt_box).reshape(-1, 4)[truths], np.asarray(stats.gt_cls)[truths], strict=True):
        box = place(row)
        canvas.rectangle(box, outline=TRUTH, width=1)
        label(box, names[int(cls)], TRUTH)
    shown = (np.asarray(stats.pred_img) == failure.image_index) & (np.asarray(stats.pred_conf) >= CONF)
    predictions = zip(
        np.asarray(stats.pred_box).reshape(-1, 4)[shown],
        np.asarray(stats.pred_cls)[shown],
        np.asarray(stats.pred_conf)[shown],
        strict=True,
    )
    for row, cls, conf in predictions:
        box = place(row)
        colour = PALETTE[int(cls) % len(PALETTE)]
        canvas.rectangle(box, outline=colour, width=1)
        label(box, f"{names[int(cls)]} {conf:.2f}", colour, below=True)
    canvas.rectangle(place(np.asarray(failure.box)), outline="#ffff00", width=3)
    canvas.text((3, crop.height + 2), failure.caption(), fill="black", font=font)
    buffer = io.BytesIO()
    canvas_image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def confusion_matrix(stats: ValStats) -> np.ndarray:
    """Ultralytics' confusion matrix of the statistics, normalized per true class (columns; last = background).

    Rows are predicted classes, columns true classes, as ultralytics draws it; a column of a class
    absent from the validation set is all zeros.
    """
    import torch
    from ultralytics.utils.metrics import ConfusionMatrix

    names = [str(n) for n in stats.names]
    matrix = ConfusionMatrix(names=dict(enumerate(names)))
    pred_img, gt_img = np.asarray(stats.pred_img, int), np.asarray(stats.gt_img, int)
    for image in range(len(stats.images)):
        preds, gts = pred_img == image, gt_img == image
        detections = {
            "bboxes": torch.as_tensor(np.asarray(stats.pred_box, float).reshape(-1, 4)[preds], dtype=torch.float32),
            "conf": torch.as_tensor(np.asarray(stats.pred_conf, float)[preds], dtype=torch.float32),
            "cls": torch.as_tensor(np.asarray(stats.pred_cls, int)[preds], dtype=torch.float32),
        }
        batch = {
            "bboxes": torch.as_tensor(np.asarray(stats.gt_box, float).reshape(-1, 4)[gts], dtype=torch.float32),
            "cls": torch.as_tensor(np.asarray(stats.gt_cls, int)[gts], dtype=torch.float32),
        }
        matrix.process_batch(detections, batch, conf=CONF, iou_thres=IOU)
    counts = np.asarray(matrix.matrix, float)
    totals = counts.sum(0, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
