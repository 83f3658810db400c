"""The parity gate: an export must detect what the ``.pt`` model detects, or it is marked failed.

Two checks, each against the ``.pt`` model run with exactly the same settings on this machine:

- validation on the round's own validation data (the data.yaml it trained on) with batch 1, ``rect``
  off, the same image size, conf 0.001 and iou 0.7 (what ultralytics' benchmark uses): |delta
  mAP50-95| <= 0.005 and every class's |delta AP50| <= 0.01;
- per-box agreement on the first frames of the profile's video: every box of the ``.pt`` model at
  conf 0.25 must have a box of the export with the same class, IoU >= 0.95 and |delta conf| <= 0.01,
  and the export must add no box of its own; >= 99% of the boxes must agree.

Exports can lose accuracy silently (upstream once showed an OpenVINO export at mAP 0.07 against 0.66);
a failed gate says which classes or frames differ and keeps the files for inspection.

Examples:
    >>> pt = {"mAP50-95": 0.50, "per_class": {"student": 0.80, "sitae": 0.40}}
    >>> export = {"mAP50-95": 0.49, "per_class": {"student": 0.80, "sitae": 0.37}}
    >>> compare_val(pt, export)["reasons"][0]
    'mAP50-95 differs by -0.0100 (pt 0.5000, export 0.4900; tolerance 0.005)'
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from yolo_workbook.prediction.predict import source_frame

TOLERANCES = {"map50_95": 0.005, "class_ap50": 0.01, "box_iou": 0.95, "box_conf": 0.01, "box_share": 0.99}
# Validation settings of both models: a non-dynamic export is fixed to batch 1 and square images.
VAL_SETTINGS = {"batch": 1, "rect": False, "conf": 0.001, "iou": 0.7}
BOX_CONF = 0.25  # the boxes compared are those a user sees at ultralytics' default predict conf
BOX_FRAMES = 60
SHOWN_FRAMES = 10  # differing frame ids listed in export.json

Box = tuple[int, float, list[float]]  # class id, confidence, [x1, y1, x2, y2]


def validate(weights: str | Path, *, data_yaml: str, imgsz: int, names: list[str]) -> dict[str, Any]:
    """mAP50-95 and each class's AP50 of ``weights`` on ``data_yaml``'s validation split (:data:`VAL_SETTINGS`).

    Args:
        weights (str | Path): A ``.pt`` file, ``best.onnx`` or ``best_openvino_model/``.
        data_yaml (str): The data.yaml the round trained on.
        imgsz (int): The round's train image size (an export's fixed size).
        names (list[str]): The class names, in id order.

    Returns:
        (dict[str, Any]): ``{"mAP50-95": float, "per_class": {name: AP50 or None}}`` (None: not in val).
    """
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(prefix="yolo-workbook-parity-") as scratch:
        det = YOLO(str(weights), task="detect").val(
            data=str(data_yaml), imgsz=imgsz, device="cpu", workers=0, plots=False, verbose=False,
            project=scratch, name="val", exist_ok=True, **VAL_SETTINGS,
        )  # fmt: skip
    present = [int(i) for i in det.ap_class_index]
    per_class = {
        name: (float(det.class_result(present.index(cid))[2]) if cid in present else None)
        for cid, name in enumerate(names)
    }
    return {"mAP50-95": float(det.box.map), "per_class": per_class}


def compare_val(pt: dict[str, Any], export: dict[str, Any]) -> dict[str, Any]:
    """The validation part of the gate: deltas (export minus ``.pt``), the worst class, and reasons to fail.

    Args:
        pt (dict[str, Any]): :func:`validate` of the ``.pt`` model.
        export (dict[str, Any]): :func:`validate` of the export.

    Returns:
        (dict[str, Any]): ``{"pt", "export", "delta_map50_95", "worst_class": {"name", "delta"} | None,
            "reasons": [...]}``; no reasons when it passes.
    """
    delta = export["mAP50-95"] - pt["mAP50-95"]
    reasons = []
    if abs(delta) > TOLERANCES["map50_95"]:
        reasons.append(
            f"mAP50-95 differs by {delta:+.4f} (pt {pt['mAP50-95']:.4f}, export {export['mAP50-95']:.4f};"
            f" tolerance {TOLERANCES['map50_95']})"
        )
    deltas = {
        name: (export["per_class"].get(name) or 0.0) - ap50
        for name, ap50 in pt["per_class"].items()
        if ap50 is not None
    }
    worst = max(deltas, key=lambda name: abs(deltas[name]), default=None)
    off = [f"{name} {value:+.4f}" for name, value in deltas.items() if abs(value) > TOLERANCES["class_ap50"]]
    if off:
        reasons.append(f"AP50 differs for class(es) {', '.join(off)} (tolerance {TOLERANCES['class_ap50']})")
    return {
        "pt": pt,
        "export": export,
        "delta_map50_95": round(delta, 6),
        "worst_class": {"name": worst, "delta": round(deltas[worst], 6)} if worst is not None else None,
        "reasons": reasons,
    }


def predict_boxes(weights: str | Path, source: str, *, imgsz: int, frames: int = BOX_FRAMES) -> dict[int, list[Box]]:
    """The boxes of the first ``frames`` frames of a video, by source frame id.

    Predicted down to ``BOX_CONF - box_conf`` so that a box just over the threshold in one model and
    just under it in the other still meets its partner (:func:`box_agreement` applies the threshold).

    Args:
        weights (str | Path): A ``.pt`` file, ``best.onnx`` or ``best_openvino_model/``.
        source (str): A video (or a folder of images).
        imgsz (int): The export's image size.
        frames (int): How many frames, from the first.

    Returns:
        (dict[int, list[Box]]): Frame id -> ``(class id, confidence, [x1, y1, x2, y2])`` per box.
    """
    from ultralytics import YOLO

    stream = YOLO(str(weights), task="detect").predict(
        source, stream=True, imgsz=imgsz, conf=BOX_CONF - TOLERANCES["box_conf"], iou=VAL_SETTINGS["iou"],
        rect=False, device="cpu", verbose=False,  # rect off: the .pt letterboxes to the export's square input
    )  # fmt: skip
    found: dict[int, list[Box]] = {}
    for index, result in zip(range(frames), stream, strict=False):  # the first frames only
        rows = result.boxes.data.cpu().numpy().tolist()
        found[source_frame(index, 1)] = [(int(row[5]), float(row[4]), [float(v) for v in row[:4]]) for row in rows]
    return found


def iou(a: list[float], b: list[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 when they do not overlap)."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _frame_agreement(pt: list[Box], export: list[Box]) -> tuple[int, int]:
    """``(boxes, agreeing)`` of one frame: each ``.pt`` box (most confident first) takes the export box of its
    class with the highest IoU; the export's own boxes over the threshold that no ``.pt`` box took disagree."""
    shown = sorted((box for box in pt if box[1] >= BOX_CONF), key=lambda box: -box[1])
    free = list(export)
    agreeing = 0
    for cls, conf, xyxy in shown:
        candidates = [box for box in free if box[0] == cls]
        best = max(candidates, key=lambda box: iou(xyxy, box[2]), default=None)
        if best is None or iou(xyxy, best[2]) < TOLERANCES["box_iou"]:
            continue
        free.remove(best)
        agreeing += abs(best[1] - conf) <= TOLERANCES["box_conf"]
    extra = sum(box[1] >= BOX_CONF + TOLERANCES["box_conf"] for box in free)
    return len(shown) + extra, agreeing


def box_agreement(pt: dict[int, list[Box]], export: dict[int, list[Box]]) -> dict[str, Any]:
    """The per-box part of the gate over the frames both models saw.

    Args:
        pt (dict[int, list[Box]]): :func:`predict_boxes` of the ``.pt`` model.
        export (dict[int, list[Box]]): :func:`predict_boxes` of the export.

    Returns:
        (dict[str, Any]): ``{"frames", "boxes", "agreeing", "share", "differing_frames", "reasons"}``; the share
            is 1.0 when neither model saw a box; ``differing_frames``: the first 10 frame ids.
    """
    boxes = agreeing = 0
    differing = []
    for frame in sorted(set(pt) & set(export)):
        count, agree = _frame_agreement(pt[frame], export[frame])
        boxes, agreeing = boxes + count, agreeing + agree
        if agree < count:
            differing.append(frame)
    share = agreeing / boxes if boxes else 1.0
    reasons = []
    if share < TOLERANCES["box_share"]:
        reasons.append(
            f"{agreeing} of {boxes} boxes agree ({share:.1%}; at least {TOLERANCES['box_share']:.0%} must), in"
            f" {len(differing)} frame(s): {', '.join(map(str, differing[:SHOWN_FRAMES]))}"
        )
    return {
        "frames": len(set(pt) & set(export)),
        "boxes": boxes,
        "agreeing": agreeing,
        "share": round(share, 6),
        "differing_frames": differing[:SHOWN_FRAMES],
        "reasons": reasons,
    }
