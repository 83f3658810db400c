"""The operating point per class: how sure the detector must be of a track for it to be counted.

With a tracker, the tracker sees every box down to its ``track_low_thresh`` whatever ``predict.conf`` says, so a
threshold on boxes does not reach the counts. The operating point acts on what is counted instead: a track of
class ``c`` (its class by vote, :mod:`yolo_workbook.prediction.track`) counts, in the stable count and the
headcount, only when its mean confidence over its matched frames reaches ``conf[c]``.

The workbook chooses it per class on a **tuning clip** (``attendance.tuning_clip``, with its ground truth) and
reports it on the **scoring clip** (``predict.source`` with ``attendance.truth``), never on the frames it was
chosen on. The clips are predicted once, at the trackers' low threshold; every candidate threshold is a re-count
of the kept tracks (no detector, no tracker run again). For each class the threshold with the lowest stable-count
error on the tuning clip is chosen; among equal errors the one with the most exact frames, then the middle of
the tied thresholds (a plateau's middle moves least on another clip).

Examples:
    >>> from yolo_workbook.attendance.counts import Track
    >>> tracks = [Track(1, "student", 0, 9, 10, confidence=0.8), Track(2, "student", 0, 9, 10, confidence=0.2)]
    >>> curve = Curve("student", (0.2, 0.4, 0.6, 0.8), (1.5, 0.2, 0.2, 0.9), (0.1, 0.8, 0.9, 0.3))
    >>> curve.best()  # the lowest error, then the most exact frames
    0.6
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from yolo_workbook.attendance.counts import Track, alive_counts, stable_counts
from yolo_workbook.attendance.headcount import counted_spans
from yolo_workbook.attendance.truth import Truth
from yolo_workbook.config.params import Round, relative
from yolo_workbook.core import paths
from yolo_workbook.core.errors import TruthError
from yolo_workbook.core.files import file_sha256

GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))  # the candidate thresholds: 0.05, 0.10, ... 0.95
TUNING_DIR = "tuning"  # the tuning clip's prediction, inside the scored prediction's folder
FRAGMENT = "operating_point.yaml"  # the chosen point, as a round-file fragment to copy


@dataclass(frozen=True)
class Curve:
    """A class's stable-count error and exact share at each candidate threshold, on one clip.

    Attributes:
        class_name (str): The class.
        thresholds (tuple[float, ...]): The candidates (:data:`GRID`).
        count_mae (tuple[float, ...]): Mean absolute error of the stable count at each.
        exact (tuple[float, ...]): Share of frames whose stable count is exact at each.
    """

    class_name: str
    thresholds: tuple[float, ...]
    count_mae: tuple[float, ...]
    exact: tuple[float, ...]

    def at(self, threshold: float) -> tuple[float, float]:
        """``(count_mae, exact)`` at ``threshold`` (one of the candidates, or the nearest)."""
        index = int(np.argmin(np.abs(np.asarray(self.thresholds) - threshold)))
        return self.count_mae[index], self.exact[index]

    def best(self) -> float:
        """The lowest error; among equals the most exact frames; among those the middle threshold."""
        mae, exact = np.asarray(self.count_mae), np.asarray(self.exact)
        low = np.isclose(mae, mae.min(), atol=1e-9)
        tied = np.flatnonzero(low & np.isclose(exact, exact[low].max(), atol=1e-9))
        return self.thresholds[int(tied[(len(tied) - 1) // 2])]


def curves(
    tracks: Sequence[Track],
    truth: Truth,
    *,
    frame_ids: Sequence[int],
    window: int,
    classes: Sequence[str],
    lost_s: float,
    fps: float | None,
    grid: Sequence[float] = GRID,
) -> dict[str, Curve]:
    """Each class's :class:`Curve` on one clip: its tracks re-counted at every threshold of ``grid``.

    Args:
        tracks (Sequence[Track]): The clip's tracks (all of them, with their mean confidence).
        truth (Truth): The clip's ground truth (``counts.csv`` is enough).
        frame_ids (Sequence[int]): The frames the prediction covered (0-based, increasing).
        window (int): The stable count's window, in processed frames.
        classes (Sequence[str]): The classes to choose for: those of the model that the truth counts.
        lost_s (float): ``attendance.lost_s``: the longest gap a re-linked identity bridges (:mod:`.headcount`).
        fps (float | None): The clip's frame rate.
        grid (Sequence[float]): The candidate thresholds.
    """
    frames = np.asarray(frame_ids, dtype=np.int64)
    found = {}
    for name in classes:
        true = truth.counts[name][frames]
        mine = [t for t in tracks if t.class_name == name]
        maes, exacts = [], []
        for threshold in grid:
            spans = counted_spans(mine, {name: threshold}, lost_s=lost_s, fps=fps)
            alive = alive_counts(spans, (name,), list(frame_ids))[name]
            stable = np.asarray(stable_counts(alive, window=window), dtype=np.int64)
            maes.append(round(float(np.abs(stable - true).mean()), 4))
            exacts.append(round(float((stable == true).mean()), 4))
        found[name] = Curve(name, tuple(grid), tuple(maes), tuple(exacts))
    return found


def exact_all(
    tracks: Sequence[Track],
    truth: Truth,
    *,
    frame_ids: Sequence[int],
    window: int,
    classes: Sequence[str],
    conf: Any,
    lost_s: float,
    fps: float | None,
) -> float:
    """The share of frames where every class's stable count is exact at once, under ``conf``."""
    frames = np.asarray(frame_ids, dtype=np.int64)
    alive = alive_counts(counted_spans(list(tracks), conf, lost_s=lost_s, fps=fps), tuple(classes), list(frame_ids))
    exact = np.ones(len(frames), dtype=bool)
    for name in classes:
        exact &= np.asarray(stable_counts(alive[name], window=window)) == truth.counts[name][frames]
    return round(float(exact.mean()), 4) if len(frames) else 0.0


@dataclass(frozen=True)
class OperatingPoint:
    """The per-class thresholds chosen on the tuning clip, with both clips' curves.

    Attributes:
        conf (dict[str, float]): Class -> the chosen threshold (``predict.conf`` to deploy it).
        tuning (dict[str, Curve]): The curves it was chosen on.
        scoring (dict[str, Curve]): The same curves on the scoring clip: reported, never chosen on.
        tuning_clip (str): The tuning clip, as the round names it.
        scoring_clip (str): The scored video.
    """

    conf: dict[str, float]
    tuning: dict[str, Curve]
    scoring: dict[str, Curve]
    tuning_clip: str
    scoring_clip: str

    def summary(self) -> dict[str, Any]:
        """The ``operating_point`` of ``attendance.json`` (``schemas/attendance.schema.json``)."""

        def clip(found: dict[str, Curve]) -> dict[str, Any]:
            return {
                name: {
                    "count_mae": c.at(self.conf[name])[0],
                    "exact": c.at(self.conf[name])[1],
                    "curve": {"thresholds": list(c.thresholds), "count_mae": list(c.count_mae), "exact": list(c.exact)},
                }
                for name, c in found.items()
            }

        return {
            "conf": dict(self.conf),
            "chosen_on": self.tuning_clip,
            "scored_on": self.scoring_clip,
            "rule": "per class, the lowest stable-count error on the tuning clip (then most exact frames)",
            "tuning": clip(self.tuning),
            "scoring": clip(self.scoring),
        }


def choose(
    tuning: dict[str, Curve], scoring: dict[str, Curve], *, tuning_clip: str, scoring_clip: str
) -> OperatingPoint:
    """The operating point: each class's :meth:`Curve.best` on the tuning clip (the scoring curves are only carried)."""
    conf = {name: curve.best() for name, curve in tuning.items()}
    return OperatingPoint(conf, tuning, scoring, tuning_clip, scoring_clip)


def fragment(point: OperatingPoint, rnd: Round) -> str:
    """``operating_point.yaml``: the chosen point as a round-file fragment, with where it was chosen and scored."""
    classes = ", ".join(f"{name}: {value:g}" for name, value in point.conf.items())
    lines = [
        f"# The operating point of {rnd.round_id}'s weights ({rnd.weights_from}), chosen per class on the tuning clip",
        f"# {point.tuning_clip} (lowest stable-count error) and reported on {point.scoring_clip}.",
        f"# To deploy it, copy the lines below into params/{rnd.round_id}.yaml (it is never switched silently).",
        "predict:",
        f"  conf: {{{classes}}}",
    ]
    return "\n".join(lines) + "\n"


def tuning_clip_of(rnd: Round) -> tuple[Path, Path] | None:
    """The round's tuning clip and its truth folder (``attendance.tuning_truth``, else ``<stem>.truth`` beside it)."""
    clip = rnd.attendance_setting("tuning_clip")
    if not clip:
        return None
    video = paths.project_path(str(clip))
    truth = rnd.attendance_setting("tuning_truth")
    return video, paths.project_path(str(truth)) if truth else video.with_name(f"{video.stem}.truth")


def check_tuning_clip(rnd: Round) -> tuple[Path, Path] | None:
    """The tuning clip and truth, refused when they are (or copy) the scored video or its truth.

    Raises:
        TruthError: A tuning clip that is missing, is the scored video (the same file or the same bytes), or a
            tuning truth that is the scored video's truth: thresholds chosen there would be scored on the frames
            they were chosen on.
    """
    found = tuning_clip_of(rnd)
    if found is None:
        return None
    video, truth = found
    where = rnd.where("attendance", "tuning_clip")
    if not video.is_file():
        raise TruthError(
            f"{where}: attendance.tuning_clip not found: {relative(video)}",
            fix="point it at another video of the same kind of classroom, with its ground truth",
        )
    source = paths.project_path(str(rnd.predict.get("source") or ""))
    scored_truth = rnd.attendance_setting("truth")
    same = source.is_file() and (
        video.resolve() == source.resolve()
        or (video.stat().st_size == source.stat().st_size and file_sha256(video) == file_sha256(source))
    )
    if same or (scored_truth and truth.resolve() == paths.project_path(str(scored_truth)).resolve()):
        what = "is the scored video (predict.source)" if same else "has the scored video's truth (attendance.truth)"
        raise TruthError(
            f"{where}: attendance.tuning_clip {relative(video)} {what}: thresholds chosen on it would be scored on the"
            " frames they were chosen on",
            fix="record another clip (another lesson or room) for tuning, or remove attendance.tuning_clip",
        )
    return video, truth
