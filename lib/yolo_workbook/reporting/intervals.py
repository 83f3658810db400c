"""Is a round really better? Bootstrap intervals over validation images, and the images that changed.

Two rounds validated on the same images are compared by a paired bootstrap: 1000 times, draw the val
images with replacement, the same draw for both rounds, and compute each round's AP on the drawn images
(an image drawn twice counts twice). The 2.5th and 97.5th percentiles of the deltas give a 95% interval:
above 0 is "better", below 0 "worse", across 0 "within noise"; when the rounds also measured their training
noise, "better" and "worse" need the delta beyond that too (:func:`call_of`). Rounds validated on different images
are resampled each on its own ("unpaired"). The point estimate is ultralytics' own ``ap_per_class``.

The AP of a resample is computed for all resamples at once (:func:`resampled_ap`), the way ``ap_per_class``
computes it for one: predictions sorted by confidence, per class cumulative TP/FP, the precision envelope
and COCO's 101-point interpolation; a test checks the two agree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from yolo_workbook.reporting.matching import IOU, found_boxes
from yolo_workbook.training.valstats import ValStats

RESAMPLES = 1000
SEED = 0
_AP_X = np.linspace(0, 1, 101)  # ultralytics' compute_ap: 101-point interpolation, then np.trapezoid over it
_TRAPEZOID = (np.r_[np.diff(_AP_X), 0.0] + np.r_[0.0, np.diff(_AP_X)]) / 2  # each grid point's trapezoid weight
_WEIGHT_SUM = np.r_[0.0, np.cumsum(_TRAPEZOID)]
_WEIGHTED_X_SUM = np.r_[0.0, np.cumsum(_TRAPEZOID * _AP_X)]
_CHUNK = 500  # resamples computed together (memory: about 500 x true positives x 10 x a few floats)


def point_ap(stats: ValStats) -> dict[int, np.ndarray]:
    """Class id -> AP at the 10 IoU thresholds, by ultralytics' ``ap_per_class`` (classes present in val)."""
    from ultralytics.utils.metrics import ap_per_class

    result = ap_per_class(stats.pred_tp, stats.pred_conf, stats.pred_cls, stats.gt_cls)
    ap, classes = result[5], result[6]
    return {int(c): ap[i] for i, c in enumerate(classes)}


def resampled_ap(stats: ValStats, weights: np.ndarray) -> np.ndarray:
    """AP per resample, class and IoU threshold, as ``ap_per_class`` computes it on each resample.

    A resample is the val images drawn with replacement; ``ap_per_class`` on it would see each drawn image's
    predictions and labels as often as it was drawn. Only the true positives shape the precision envelope
    where it matters (a run of false positives matters by its length), so each class is computed from its
    true positives and the number of predictions before each, whatever the number of predictions.

    Args:
        stats (ValStats): One round's final validation.
        weights (np.ndarray): int [B, N], how many times each val image is drawn in each of B resamples.

    Returns:
        (np.ndarray): float [B, C, 10] for the C class names of ``stats``; NaN where the resample holds no
            ground-truth box of the class (ultralytics leaves such a class out of the mean).
    """
    weights = np.asarray(weights, dtype=np.int64)
    n_classes, n_thresholds = len(stats.names), stats.pred_tp.shape[1]
    counts = np.zeros((len(stats.images), n_classes), dtype=np.int64)
    np.add.at(counts, (stats.gt_img, stats.gt_cls), 1)
    order = np.argsort(-stats.pred_conf)  # as ap_per_class sorts; then per class, keeping that order
    classes = [_class_ranks(stats, order[stats.pred_cls[order] == c]) for c in range(n_classes)]
    out = np.empty((weights.shape[0], n_classes, n_thresholds))
    for start in range(0, weights.shape[0], _CHUNK):
        chunk = weights[start : start + _CHUNK]
        labels = chunk @ counts  # [B, C] ground-truth boxes of each class in each resample
        as_float = chunk.astype(np.float64)
        knots: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for c, (hit_img, hit_tp, above, per_image) in enumerate(classes):
            drawn = chunk[:, hit_img]  # [B, h]: each true positive as often as its image is drawn
            before = np.rint(as_float @ above).astype(np.int64)  # [B, h]: predictions drawn above it (BLAS)
            total = chunk @ per_image
            for t in range(n_thresholds):
                hits = np.flatnonzero(hit_tp[:, t])
                knots.append(_class_knots(drawn[:, hits], before[:, hits], total, labels[:, c]))
        ap = _segments_ap(knots, chunk.shape[0])  # [C * T, B]
        ap = ap.reshape(n_classes, n_thresholds, -1).transpose(2, 0, 1)
        out[start : start + len(chunk)] = np.where(labels[:, :, None] > 0, ap, np.nan)
    return out


def _class_ranks(stats: ValStats, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For one class's predictions ``rows`` in confidence order, what a resample needs of them: the image and TP
    flags of those that are a true positive at some IoU, per image how many predictions rank above each of them
    ([N, h]: a resample's count above is its image weights times this), and per image its number of predictions."""
    n_images = len(stats.images)
    images = stats.pred_img[rows]
    hit_rank = np.flatnonzero(stats.pred_tp[rows].any(1))
    above = np.zeros((n_images, len(hit_rank)))
    for image in np.unique(images):
        above[image] = np.searchsorted(np.flatnonzero(images == image), hit_rank)
    per_image = np.bincount(images, minlength=n_images).astype(np.int64)
    return images[hit_rank], stats.pred_tp[rows[hit_rank]], above, per_image


def _class_knots(
    copies: np.ndarray, before: np.ndarray, total: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of compute_ap's padded recall/precision curve that decide its AP, per resample.

    ``copies`` [B, h]: how often each true positive (in confidence order) is drawn; ``before`` [B, h]: the
    predictions drawn above it; ``total`` [B]: predictions drawn; ``labels`` [B]: ground-truth boxes drawn.
    Recall only steps at a true positive, and numpy's interpolation reads, of points with equal recall, the
    first and the last: so per recall level k, precision at its true positive and just before the next one.
    Returns (segment, recall, precision) of each point, segments being resamples.
    """
    n_resamples = copies.shape[0]
    level = np.cumsum(copies, 1) - copies  # true positives drawn above it
    none = np.iinfo(np.int64).max
    blocked = np.where(copies > 0, before, none)
    after = np.concatenate([blocked[:, 1:], np.full((n_resamples, 1), none)], 1)[:, : copies.shape[1]]
    after = np.minimum.accumulate(after[:, ::-1], 1)[:, ::-1]  # rank of the next drawn true positive
    after = np.where(after == none, total[:, None], after)  # none: the last prediction drawn
    flat = copies.ravel()
    owner = np.repeat(np.arange(n_resamples), copies.sum(1))
    offsets = np.repeat(np.cumsum(flat) - flat, flat)
    copy = np.arange(flat.sum()) - offsets + 1  # 1..copies
    k = np.repeat(level.ravel(), flat) + copy
    first = k / (np.repeat(before.ravel(), flat) + copy)
    last = np.where(copy == np.repeat(flat, flat), k / np.repeat(after.ravel(), flat), first)
    recall = k / (labels[owner] + 1e-16)
    has_hits = np.bincount(owner, minlength=n_resamples) > 0
    # Rank of the first drawn true positive: > 0 means false positives with recall 0 and precision 0 come first.
    lead = np.where(has_hits, blocked.min(1, initial=none), 0) > 0
    last_recall = np.zeros(n_resamples)
    if owner.size:
        ends = np.cumsum(np.bincount(owner, minlength=n_resamples)) - 1
        last_recall[has_hits] = recall[ends[has_hits]]
    # Per segment, in order: (0, 1), then (0, 0) after leading false positives, the levels' points (the second
    # of a level only where it differs from the first), then (last recall, 0) and (1, 0), as compute_ap pads.
    keep = np.ones(2 * len(owner), dtype=bool)
    keep[1::2] = last != first
    level_segment = np.repeat(owner, 2)[keep]
    level_rec, level_pre = np.repeat(recall, 2)[keep], np.stack([first, last], 1).ravel()[keep]
    heads = 1 + lead.astype(np.int64)
    levels = np.bincount(level_segment, minlength=n_resamples)
    sizes = heads + levels + 2
    start = np.cumsum(sizes) - sizes
    segment = np.repeat(np.arange(n_resamples), sizes)
    rec, pre = np.zeros(int(sizes.sum())), np.zeros(int(sizes.sum()))
    pre[start] = 1.0
    level_at = start[level_segment] + heads[level_segment]
    within = np.arange(len(level_segment)) - np.repeat(np.cumsum(levels) - levels, levels)
    rec[level_at + within], pre[level_at + within] = level_rec, level_pre
    rec[start + heads + levels] = last_recall
    rec[start + heads + levels + 1] = 1.0
    return segment, rec, pre


def _segments_ap(knots: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_resamples: int) -> np.ndarray:
    """compute_ap (precision envelope, 101-point interpolation, trapezoid) of every segment at once.

    Returns: float [len(knots), n_resamples].
    """
    segment = np.concatenate([s + i * n_resamples for i, (s, _, _) in enumerate(knots)])
    mrec = np.concatenate([r for _, r, _ in knots])
    mpre = np.concatenate([p for _, _, p in knots])
    n_segments = len(knots) * n_resamples
    # The envelope (running maximum from the right) within each segment: offsets keep segments apart.
    offset = 2.0 * (n_segments - 1 - segment)
    mpre = np.maximum.accumulate((mpre + offset)[::-1])[::-1] - offset
    # trapezoid(np.interp(_AP_X, mrec, mpre), _AP_X) summed piece by piece: between two points of the curve
    # the interpolation is a line, so its grid points add up from running sums of the trapezoid weights.
    # A segment's last point, (1, 0), adds nothing: its precision is 0 and the next segment starts lower.
    following = np.minimum(np.arange(1, len(mrec) + 1), len(mrec) - 1)
    low = np.searchsorted(_AP_X, mrec, side="left")  # grid points from this point of the curve ...
    high = low[following]  # ... up to the next one
    weight = _WEIGHT_SUM[high] - _WEIGHT_SUM[low]
    weighted_x = _WEIGHTED_X_SUM[high] - _WEIGHTED_X_SUM[low]
    rise = mrec[following] - mrec
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(rise > 0, (mpre[following] - mpre) / rise, 0.0)
    part = mpre * weight + slope * (weighted_x - mrec * weight)
    area = np.bincount(segment, weights=part, minlength=n_segments)
    return area.reshape(len(knots), n_resamples)


@dataclass(frozen=True)
class Interval:
    """One delta (this round minus the other) with its 95% bootstrap interval.

    Attributes:
        metric (str): ``mAP50``, ``mAP50-95`` or ``<class> AP50``.
        delta (float | None): The point estimate (ultralytics' numbers); None for a class absent from val.
        low (float | None): 2.5th percentile of the resampled deltas.
        high (float | None): 97.5th percentile.
        call (str): ``better``, ``worse``, ``within noise``, or why there is none (``absent from val``).
    """

    metric: str
    delta: float | None
    low: float | None
    high: float | None
    call: str

    def text(self) -> str:
        """``+0.415 [+0.29, +0.53] better``, or the reason there is no interval."""
        if self.delta is None or self.low is None or self.high is None:
            return f"({self.call})"
        return f"{self.delta:+.3f} [{self.low:+.2f}, {self.high:+.2f}] {self.call}"


@dataclass(frozen=True)
class Comparison:
    """Every interval of one round against another.

    Attributes:
        against (str): The other round.
        paired (bool): Both were validated on the same images (matched by file name).
        intervals (dict[str, Interval]): ``mAP50``, ``mAP50-95`` and ``<class> AP50`` per class name.
        seconds (float): How long the bootstrap took.
    """

    against: str
    paired: bool
    intervals: dict[str, Interval] = field(default_factory=dict)
    seconds: float = 0.0

    def as_record(self) -> dict[str, Any]:
        """The ``comparison`` field of ``metrics.json``."""
        return {
            "against": self.against,
            "paired": self.paired,
            "resamples": RESAMPLES,
            "metrics": {
                name: {"delta": i.delta, "low": i.low, "high": i.high, "call": i.call}
                for name, i in self.intervals.items()
            },
        }


def call_of(low: float, high: float, *, delta: float | None = None, band: float | None = None) -> str:
    """The verdict's one word for a delta: ``better``, ``worse`` or ``within noise`` (the one place of this rule).

    Without training noise (``band`` None: neither round has repeats), the 95% bootstrap interval decides alone:
    ``better`` when it lies above 0, ``worse`` below 0, ``within noise`` when it spans 0. With training noise, the
    word says what a user may conclude from both: ``better`` (``worse``) only when the delta is beyond both, the
    interval above (below) 0 *and* the delta beyond the band (``delta > band``, or ``delta < -band``); otherwise
    ``within noise``, whichever of the two it stays inside. Without an interval the verdict has no word, only the
    training noise's own call (``within training noise`` / ``beyond training noise``,
    :meth:`yolo_workbook.reporting.noise.Noise.call`).

    Args:
        low (float): The interval's low end (2.5th percentile of the resampled deltas).
        high (float): Its high end (97.5th percentile).
        delta (float | None): The delta, compared with ``band``.
        band (float | None): The metric's training noise band (:meth:`yolo_workbook.reporting.noise.Noise.band`);
            None when not measured.

    Returns:
        (str): ``better``, ``worse`` or ``within noise``.

    Examples:
        >>> call_of(0.001, 0.014)
        'better'
        >>> call_of(0.001, 0.014, delta=0.008, band=0.043)
        'within noise'
    """
    if low > 0:
        word, beyond_noise = "better", band is None or (delta is not None and delta > band)
    elif high < 0:
        word, beyond_noise = "worse", band is None or (delta is not None and delta < -band)
    else:
        return "within noise"
    return word if beyond_noise else "within noise"


def _draws(n_images: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    picks = rng.integers(0, n_images, size=(resamples, n_images))
    return np.stack([np.bincount(row, minlength=n_images) for row in picks]) if n_images else np.zeros((resamples, 0))


def _summaries(ap: np.ndarray, class_ids: list[int]) -> dict[str, np.ndarray]:
    """mAP50, mAP50-95 per resample (mean over classes present in it) and AP50 per class id."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample without any label: NaN, left out below
        out = {"mAP50": np.nanmean(ap[:, :, 0], 1), "mAP50-95": np.nanmean(ap.mean(2), 1)}
    for cid in class_ids:
        out[f"#{cid}"] = ap[:, cid, 0]
    return out


def compare_stats(
    stats: ValStats, other: ValStats, *, against: str, resamples: int = RESAMPLES, seed: int = SEED
) -> Comparison:
    """Intervals of ``stats`` minus ``other`` for mAP50, mAP50-95 and each class's AP50 (matched by class name).

    Args:
        stats (ValStats): The round judged.
        other (ValStats): The round it is compared with.
        against (str): The other round's id (for the record).
        resamples (int): Bootstrap resamples.
        seed (int): The random seed: the same inputs give the same interval.

    Returns:
        (Comparison): The intervals, paired when both rounds validated the same image names.
    """
    import time

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    names_a = [Path(p).name for p in stats.images]
    names_b = [Path(p).name for p in other.images]
    paired = sorted(names_a) == sorted(names_b) and len(set(names_a)) == len(names_a)
    draws_a = _draws(len(names_a), rng, resamples)
    if paired:
        where = {name: i for i, name in enumerate(names_a)}
        draws_b = draws_a[:, [where[name] for name in names_b]]
    else:
        draws_b = _draws(len(names_b), rng, resamples)
    class_a = {str(n): i for i, n in enumerate(stats.names)}
    class_b = {str(n): i for i, n in enumerate(other.names)}
    point_a, point_b = point_ap(stats), point_ap(other)
    sample_a = _summaries(resampled_ap(stats, draws_a), list(class_a.values()))
    sample_b = _summaries(resampled_ap(other, draws_b), list(class_b.values()))

    def interval(metric: str, now: float, then: float, deltas: np.ndarray) -> Interval:
        deltas = deltas[~np.isnan(deltas)]
        if deltas.size == 0:
            return Interval(metric, now - then, None, None, "no resample holds the class")
        low, high = (float(v) for v in np.percentile(deltas, [2.5, 97.5]))
        return Interval(metric, float(now - then), low, high, call_of(low, high))

    def overall(point: dict[int, np.ndarray]) -> tuple[float, float]:
        values = np.array(list(point.values())) if point else np.zeros((0, 10))
        return (float(values[:, 0].mean()), float(values.mean())) if len(values) else (0.0, 0.0)

    (map50_a, map_a), (map50_b, map_b) = overall(point_a), overall(point_b)
    intervals = {
        "mAP50": interval("mAP50", map50_a, map50_b, sample_a["mAP50"] - sample_b["mAP50"]),
        "mAP50-95": interval("mAP50-95", map_a, map_b, sample_a["mAP50-95"] - sample_b["mAP50-95"]),
    }
    for name, cid in class_a.items():
        metric = f"{name} AP50"
        if cid not in point_a or name not in class_b or class_b[name] not in point_b:
            intervals[metric] = Interval(metric, None, None, None, "absent from val: no interval")
            continue
        deltas = sample_a[f"#{cid}"] - sample_b[f"#{class_b[name]}"]
        intervals[metric] = interval(metric, float(point_a[cid][0]), float(point_b[class_b[name]][0]), deltas)
    return Comparison(against, paired, intervals, time.perf_counter() - started)


@dataclass(frozen=True)
class ChangedImages:
    """Val images where a class went from missed to found between two rounds, and the reverse.

    Attributes:
        class_name (str): The class.
        now_found (list[str]): Image paths with a box of the class missed by the other round, found by this one.
        now_missed (list[str]): Image paths with a box of the class found by the other round, missed by this one.
        paired (bool): False when the rounds validated different images (only shared names are compared).
    """

    class_name: str
    now_found: list[str]
    now_missed: list[str]
    paired: bool = True


def changed_images(stats_a: ValStats, stats_b: ValStats, class_name: str, iou: float = IOU) -> ChangedImages:
    """Val images where ``class_name`` went from missed (in ``stats_a``, the earlier round) to found (in
    ``stats_b``) and the reverse (found: :mod:`yolo_workbook.reporting.matching`); an image counts when any
    of its boxes of the class changed that way. Paths are ``stats_b``'s."""
    before, after = found_boxes(stats_a, class_name, iou=iou), found_boxes(stats_b, class_name, iou=iou)
    paths = {Path(str(p)).name: str(p) for p in stats_b.images}
    now_found, now_missed = [], []
    for name in sorted(set(before) & set(after)):
        was, now = before[name], after[name]
        if len(was) != len(now):
            continue  # different labels for the same image name: not comparable box by box
        if (~was & now).any():
            now_found.append(paths[name])
        if (was & ~now).any():
            now_missed.append(paths[name])
    paired = sorted(Path(str(p)).name for p in stats_a.images) == sorted(paths)
    return ChangedImages(class_name, now_found, now_missed, paired)
