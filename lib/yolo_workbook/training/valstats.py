"""``val_stats.npz``: the per-image detail of a round's final validation, for intervals and image lists.

ultralytics' final validation keeps only the summed numbers. The workbook records, as that validation
runs, what each image contributed: every prediction (image, class, confidence, box, true-positive flags
at IoU 0.50:0.95 as ultralytics matched them) and every ground-truth box. From them
``ultralytics.utils.metrics.ap_per_class`` gives back the record's AP exactly, and a bootstrap over
images gives intervals (:mod:`yolo_workbook.reporting.intervals`).

The hook is a callback on ``on_val_start`` that wraps the validator's ``_process_batch`` (called once per
image with its predictions and labels, returns the TP flags): every validation resets the recorder, so
after training it holds the last one, ultralytics' ``final_eval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yolo_workbook.core.files import atomic_output

FILE_NAME = "val_stats.npz"


@dataclass(frozen=True)
class ValStats:
    """The final validation of a round, image by image.

    Attributes:
        images (np.ndarray): str [N], the val image file paths in the order validated.
        names (np.ndarray): str [C], class names by id.
        pred_img (np.ndarray): int [P], index into ``images`` of each prediction.
        pred_cls (np.ndarray): int [P], predicted class id.
        pred_conf (np.ndarray): float [P], confidence.
        pred_box (np.ndarray): float [P, 4], xyxy in pixels of the original image.
        pred_tp (np.ndarray): bool [P, 10], ultralytics' TP flags at IoU 0.50, 0.55, ..., 0.95.
        gt_img (np.ndarray): int [G], index into ``images`` of each ground-truth box.
        gt_cls (np.ndarray): int [G], its class id.
        gt_box (np.ndarray): float [G, 4], xyxy in pixels of the original image.
    """

    images: np.ndarray
    names: np.ndarray
    pred_img: np.ndarray
    pred_cls: np.ndarray
    pred_conf: np.ndarray
    pred_box: np.ndarray
    pred_tp: np.ndarray
    gt_img: np.ndarray
    gt_cls: np.ndarray
    gt_box: np.ndarray


_FIELDS = tuple(ValStats.__dataclass_fields__)


def save_val_stats(stats: ValStats, path: Path) -> Path:
    """Write ``stats`` as a compressed ``.npz``, atomically."""
    with atomic_output(path) as partial, partial.open("wb") as handle:
        np.savez_compressed(handle, **{name: getattr(stats, name) for name in _FIELDS})
    return path


def load_val_stats(round_dir: Path) -> ValStats | None:
    """The ``val_stats.npz`` of a round folder; ``None`` for a round trained before they were kept (or unreadable)."""
    path = Path(round_dir) / FILE_NAME
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return ValStats(**{name: data[name] for name in _FIELDS})
    except (OSError, ValueError, KeyError):
        return None


class ValStatsRecorder:
    """Records each image's predictions and labels while ultralytics validates.

    Examples:
        >>> recorder = ValStatsRecorder()
        >>> model.add_callback("on_val_start", recorder.on_val_start)  # doctest: +SKIP
        >>> model.train(...)  # doctest: +SKIP
        >>> recorder.stats()  # the last validation: final_eval  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._rows: list[dict[str, np.ndarray | str]] = []
        self._names: list[str] = []

    def on_val_start(self, validator: Any) -> None:
        """ultralytics callback: start a new validation, and wrap ``_process_batch`` once per validator."""
        self._rows = []
        names = getattr(validator, "names", None) or {}
        self._names = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
        if getattr(validator, "_workbook_recorder", None) is self:
            return
        original = validator._process_batch

        def process_batch(preds: dict[str, Any], batch: dict[str, Any]) -> dict[str, np.ndarray]:
            result = original(preds, batch)
            self._add(preds, batch, result["tp"])
            return result

        validator._process_batch = process_batch
        validator._workbook_recorder = self

    def _add(self, preds: dict[str, Any], batch: dict[str, Any], tp: np.ndarray) -> None:
        from ultralytics.utils import ops

        def original_pixels(boxes: Any) -> np.ndarray:
            if boxes.shape[0] == 0:
                return np.zeros((0, 4), dtype=np.float32)
            scaled = ops.scale_boxes(batch["imgsz"], boxes.clone(), batch["ori_shape"], ratio_pad=batch["ratio_pad"])
            return scaled.detach().cpu().numpy().astype(np.float32)

        self._rows.append(
            {
                "image": str(batch["im_file"]),
                "pred_cls": preds["cls"].detach().cpu().numpy().astype(np.int32),
                "pred_conf": preds["conf"].detach().cpu().numpy().astype(np.float32),
                "pred_box": original_pixels(preds["bboxes"]),
                "pred_tp": np.asarray(tp, dtype=bool).reshape(-1, 10),
                "gt_cls": batch["cls"].detach().cpu().numpy().astype(np.int32).reshape(-1),
                "gt_box": original_pixels(batch["bboxes"]),
            }
        )

    def stats(self) -> ValStats | None:
        """What the last validation recorded; ``None`` when none ran."""
        if not self._rows:
            return None
        rows = self._rows
        return ValStats(
            images=np.array([r["image"] for r in rows], dtype=str),
            names=np.array(self._names, dtype=str),
            pred_img=np.concatenate([np.full(len(r["pred_cls"]), i, dtype=np.int32) for i, r in enumerate(rows)]),
            pred_cls=np.concatenate([r["pred_cls"] for r in rows]),
            pred_conf=np.concatenate([r["pred_conf"] for r in rows]),
            pred_box=np.concatenate([r["pred_box"] for r in rows]).reshape(-1, 4),
            pred_tp=np.concatenate([r["pred_tp"] for r in rows]).reshape(-1, 10),
            gt_img=np.concatenate([np.full(len(r["gt_cls"]), i, dtype=np.int32) for i, r in enumerate(rows)]),
            gt_cls=np.concatenate([r["gt_cls"] for r in rows]),
            gt_box=np.concatenate([r["gt_box"] for r in rows]).reshape(-1, 4),
        )

    def save(self, round_dir: Path) -> Path | None:
        """Write ``round_dir/val_stats.npz`` from the last validation; ``None`` (nothing written) when none ran."""
        stats = self.stats()
        return save_val_stats(stats, Path(round_dir) / FILE_NAME) if stats is not None else None
