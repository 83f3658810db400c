"""How close a video's counts and tracks come to its ground truth.

Counts are compared frame by frame (mean absolute error, share of exact frames); tracks per class with
motrics (TrackEval-exact CLEAR, Identity and HOTA at IoU 0.5): ground-truth boxes of class c against the
predicted tracks of class c, on the frames the prediction covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from motrics import Frames, evaluate

from yolo_workbook.attendance.truth import MotRows, Truth
from yolo_workbook.config.params import relative
from yolo_workbook.core.errors import TruthError

IOU = 0.5  # MOTChallenge's match threshold for CLEAR and Identity (HOTA sweeps its own)
DIGITS = 4
_TRACKING = ("idf1", "hota", "mota", "id_switches")


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def _check_frames(truth: Truth, frame_ids: Sequence[int]) -> np.ndarray:
    frames = np.asarray(frame_ids, dtype=np.int64).reshape(-1)
    where = relative(truth.folder)
    if not len(frames):
        raise TruthError(f"{where}: no frames to score", fix="predict on the video first")
    if (np.diff(frames) <= 0).any() or frames[0] < 0:
        raise TruthError(
            f"{where}: frame_ids must be 0-based and increasing, got {frames[:5].tolist()}...",
            fix="pass the source frames the prediction covered, in order",
        )
    if frames[-1] >= truth.frames:
        raise TruthError(
            f"{where}: frames out of range: the prediction reaches frame_id {frames[-1]} (frame {frames[-1] + 1}) "
            f"but the truth covers {truth.frames} frames",
            fix="score the video this truth belongs to, or complete the truth",
        )
    return frames


def _aligned(counts: Mapping[str, Sequence[int]], n: int, what: str, truth: Truth) -> dict[str, np.ndarray]:
    out = {}
    for name, values in counts.items():
        array = np.asarray(values, dtype=np.int64).reshape(-1)
        if len(array) != n:
            raise TruthError(
                f"{relative(truth.folder)}: {what} of {name!r} has {len(array)} values for {n} frames",
                fix="give one count per scored frame",
            )
        out[name] = array
    return out


def _by_frame(rows: MotRows, keep: np.ndarray, position: np.ndarray, n: int) -> Frames:
    """The kept rows as motrics ``Frames``: ids and xyxy boxes for each of the ``n`` scored frames, in order."""
    slot = position[rows.frame[keep] - 1]
    order = np.argsort(slot, kind="stable")
    slot, ids, boxes = slot[order], rows.track_id[keep][order], np.ascontiguousarray(rows.box[keep][order])
    bounds = np.searchsorted(slot, np.arange(n + 1))
    return Frames(
        [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
        [boxes[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
    )


def _tracking(truth: Truth, tracks: MotRows, name: str, frames: np.ndarray) -> dict[str, Any] | None:
    """motrics' scores of one class, with the sums the overall scores need; None when neither side has a box.

    Ground-truth rows with conf 0 (present but fully occluded) are dropped before motrics sees them, as
    TrackEval's MotChallenge2DBox drops its zero-marked rows: missing them is no miss. A predicted box on
    such an object stays in, and counts as a false positive there, as in TrackEval.
    """
    gt, position = truth.boxes, np.full(truth.frames, -1, dtype=np.int64)
    position[frames] = np.arange(len(frames))
    k = truth.classes.index(name)
    gt_keep = (gt.class_index == k) & (gt.conf != 0) & (position[gt.frame - 1] >= 0)
    pred_keep = tracks.class_names == name  # frames beyond the truth were refused by score_video
    pred_keep[pred_keep] &= position[tracks.frame[pred_keep] - 1] >= 0
    if not gt_keep.any() and not pred_keep.any():
        return None  # TrackEval leaves such a class out of its class averages
    result = evaluate(
        _by_frame(gt, gt_keep, position, len(frames)),
        _by_frame(tracks, pred_keep, position, len(frames)),
        iou_threshold=IOU,
        box_format="xyxy",
    )
    clear, identity = result.clear, result.identity
    sums = {
        "idtp": identity.idtp,
        "idfp": identity.idfp,
        "idfn": identity.idfn,
        "gt": clear.num_gt,
        "fn": clear.num_misses,
        "fp": clear.num_false_positives,
        "idsw": clear.num_switches,
    }
    return {"hota": result.hota.hota, "sums": sums}


def _idf1(s: Mapping[str, int]) -> float:
    """TrackEval's IDF1: IDTP / max(1, IDTP + IDFP / 2 + IDFN / 2)."""
    return s["idtp"] / max(1.0, s["idtp"] + 0.5 * s["idfp"] + 0.5 * s["idfn"])


def _mota(s: Mapping[str, int]) -> float:
    """TrackEval's MOTA: (GT - FN - FP - IDSW) / max(1, GT) (negative with false positives and no GT)."""
    return (s["gt"] - s["fn"] - s["fp"] - s["idsw"]) / max(1, s["gt"])


def score_video(
    truth: Truth,
    *,
    frame_ids: Sequence[int],
    counts_raw: Mapping[str, Sequence[int]],
    counts_stable: Mapping[str, Sequence[int]],
    tracks: MotRows | None,
    counted_tracks: Mapping[str, int] | None = None,
    headcounts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Score a prediction's counts and tracks against a video's ground truth, on the frames it covered.

    Classes are matched by name. A truth class never predicted has count 0 in every frame; a predicted
    class the truth lacks is not scored and listed in ``unscored_classes``. Tracking scores (``idf1``,
    ``hota``, ``mota``, ``id_switches``) are None without ``gt.txt`` or without tracks, and for a class with
    no box on either side in the scored frames (TrackEval's "empty class"). Track rows on frames not scored
    are left out. ``overall``: IDF1 and MOTA from the summed counts of the classes, HOTA their mean.

    Args:
        truth (Truth): From :func:`~yolo_workbook.attendance.truth.read_truth`.
        frame_ids (Sequence[int]): The 0-based source frames the prediction covered, increasing.
        counts_raw (Mapping[str, Sequence[int]]): Class -> raw count per scored frame (aligned with frame_ids).
        counts_stable (Mapping[str, Sequence[int]]): Class -> stable count per scored frame.
        tracks (MotRows | None): The prediction's ``tracks.mot.txt``, None without a tracker.
        counted_tracks (Mapping[str, int] | None): Class -> tracks counted as present, copied into the result.
        headcounts (Mapping[str, int] | None): Class -> the headcount (:mod:`.headcount`): ``headcount_err`` is it
            minus the truth's distinct objects present (``true_present``, from ``gt.txt``).

    Returns:
        (dict): ``frames_scored``, ``classes`` (name -> scores), ``overall``, ``unscored_classes``.
    """
    frames = _check_frames(truth, frame_ids)
    n = len(frames)
    raw = _aligned(counts_raw, n, "counts_raw", truth)
    stable = _aligned(counts_stable, n, "counts_stable", truth)
    predicted = list(dict.fromkeys([*raw, *stable, *(tracks.classes if tracks is not None else ())]))
    if tracks is not None and len(tracks) and tracks.frame.max() > truth.frames:
        raise TruthError(
            f"{relative(tracks.path)}: frames out of range: tracks reach frame {tracks.frame.max()} "
            f"but the truth in {relative(truth.folder)} covers {truth.frames} frames",
            fix="score the video this truth belongs to, or complete the truth",
        )
    scored_tracking = truth.boxes is not None and tracks is not None
    zeros = np.zeros(n, dtype=np.int64)
    classes: dict[str, dict[str, Any]] = {}
    sums: list[dict[str, int]] = []
    hotas: list[float] = []
    all_exact = np.ones(n, dtype=bool)
    mae_raw, mae_stable = [], []
    headcount_errs: list[int] = []
    for name in truth.classes:
        true = truth.counts[name][frames]
        got_raw, got_stable = raw.get(name, zeros), stable.get(name, zeros)
        all_exact &= got_stable == true
        mae_raw.append(np.abs(got_raw - true).mean())
        mae_stable.append(np.abs(got_stable - true).mean())
        entry: dict[str, Any] = {
            "count_mae_raw": _round(mae_raw[-1]),
            "count_mae_stable": _round(mae_stable[-1]),
            "exact_raw": _round((got_raw == true).mean()),
            "exact_stable": _round((got_stable == true).mean()),
            "true_present": None,
            "counted_tracks": None if counted_tracks is None else int(counted_tracks.get(name, 0)),
            "peak_stable": int(got_stable.max()),
            "headcount": None if headcounts is None else int(headcounts.get(name, 0)),
            "headcount_err": None,
        } | dict.fromkeys(_TRACKING)
        if truth.boxes is not None:
            seen = (truth.boxes.class_index == truth.classes.index(name)) & np.isin(truth.boxes.frame - 1, frames)
            entry["true_present"] = int(len(np.unique(truth.boxes.track_id[seen])))
            if entry["headcount"] is not None:
                entry["headcount_err"] = entry["headcount"] - entry["true_present"]
                headcount_errs.append(abs(entry["headcount_err"]))
        scores = _tracking(truth, tracks, name, frames) if scored_tracking else None
        if scores is not None:
            sums.append(scores["sums"])
            hotas.append(scores["hota"])
            entry |= {
                "idf1": _round(_idf1(scores["sums"])),
                "hota": _round(scores["hota"]),
                "mota": _round(_mota(scores["sums"])),
                "id_switches": int(scores["sums"]["idsw"]),
            }
        classes[name] = entry
    total = {key: sum(s[key] for s in sums) for key in sums[0]} if sums else None
    overall = {
        "count_mae_raw": _round(np.mean(mae_raw)),
        "count_mae_stable": _round(np.mean(mae_stable)),
        "exact_stable": _round(all_exact.mean()),
        "headcount_abs_err": sum(headcount_errs) if headcount_errs else None,
        "idf1": _round(_idf1(total)) if total else None,
        "mota": _round(_mota(total)) if total else None,
        "hota": _round(np.mean(hotas)) if hotas else None,
        "id_switches": int(total["idsw"]) if total else None,
    }
    unscored = [name for name in predicted if name not in truth.classes]
    return {"frames_scored": n, "classes": classes, "overall": overall, "unscored_classes": unscored}
