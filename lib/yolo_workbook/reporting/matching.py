"""When a box counts as found: the one rule the failure gallery and the changed-images lists share.

A prediction counts at confidence >= :data:`CONF` (0.25, ultralytics' ``predict`` default); a
ground-truth box of a class is *found* when a counted prediction of the same class overlaps it at
IoU >= :data:`IOU` (0.5), IoU computed by ultralytics' ``box_iou``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo_workbook.training.valstats import ValStats

CONF = 0.25
IOU = 0.5


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` with every box of ``b`` (xyxy, ultralytics' ``box_iou``): ``[len(a), len(b)]``."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    import torch
    from ultralytics.utils.metrics import box_iou as ultralytics_box_iou

    return ultralytics_box_iou(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)).numpy()


def found_boxes(stats: ValStats, class_name: str, *, iou: float = IOU, conf: float = CONF) -> dict[str, np.ndarray]:
    """Image name -> per ground-truth box of the class (in order): whether it is found (see the module docstring)."""
    names = [str(n) for n in stats.names]
    if class_name not in names:
        return {}
    cid = names.index(class_name)
    found: dict[str, np.ndarray] = {}
    for image in np.unique(stats.gt_img[stats.gt_cls == cid]):
        gt = stats.gt_box[(stats.gt_img == image) & (stats.gt_cls == cid)]
        keep = (stats.pred_img == image) & (stats.pred_cls == cid) & (stats.pred_conf >= conf)
        found[Path(str(stats.images[image])).name] = (box_iou(gt, stats.pred_box[keep]) >= iou).any(1)
    return found
