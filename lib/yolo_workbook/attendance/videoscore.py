"""Every training round's video score: its best weights over the profile's classroom video, against ground truth.

mAP on still validation images does not say whether a round counts a classroom right. When the round's
``attendance.truth`` names the ground truth of ``predict.source`` (the demo profile's does), the round's
best weights run over that video with the round's ``predict`` settings and its first tracker (bytetrack
when it names none), the counts and tracks are scored (:mod:`yolo_workbook.attendance.job`), and the
score goes into the round's ``metrics.json`` as ``video``: the leaderboard's count error and IDF1, the
verdict and the journal read it there. The prediction's files stay in ``<round>/video/``.
``attendance.score_rounds: false`` turns it off.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> video = score_round_on_video(load_round("r03_merge", profile="demo"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from yolo_workbook.attendance.job import AttendanceResult, predict_and_count, windows_of
from yolo_workbook.config.params import Round, best_weights_of, relative
from yolo_workbook.config.trackers import tracker_names
from yolo_workbook.core import paths, schemas
from yolo_workbook.core.files import read_json
from yolo_workbook.core.text import table
from yolo_workbook.training import metrics
from yolo_workbook.training.train import TrainResult

VIDEO_DIR = "video"
DEFAULT_TRACKER = "bytetrack"  # when the round's predict.tracker names none: IDF1 needs tracks


def why_not_scored(rnd: Round) -> str:
    """Why a round gets no video score (``""`` when it gets one)."""
    if not rnd.attendance_setting("score_rounds"):
        return "attendance.score_rounds is false"
    if not rnd.attendance_setting("truth"):
        return "no attendance.truth (the video's ground truth) in this round or profile"
    if not rnd.predict.get("source"):
        return "no predict.source (the video)"
    return ""


def video_settings(rnd: Round) -> dict[str, Any]:
    """What a video score is taken with: the video, its truth, the tracker (the round's first; bytetrack when it names
    none: IDF1 needs tracks) and the counting window."""
    trackers = tracker_names(rnd.predict.get("tracker"))
    tuning = rnd.attendance_setting("tuning_clip")
    return {
        "source": str(paths.project_path(str(rnd.predict["source"]))),
        "truth": str(paths.project_path(str(rnd.attendance_setting("truth")))),
        "tuning_clip": str(paths.project_path(str(tuning))) if tuning else None,
        "tracker": next((name for name in trackers if name != "none"), DEFAULT_TRACKER),
        "window_s": windows_of(rnd)[0],
    }


def is_current(rnd: Round, record: dict[str, Any] | None = None) -> bool:
    """True when the round needs no (new) video score: it gets none, or its record holds the score of the same
    video, truth, tracker and window, written after its best weights."""
    if why_not_scored(rnd):
        return True
    record_path = rnd.output_dir / "metrics.json"
    if record is None:
        record = metrics.upgrade_record(read_json(record_path)) if record_path.is_file() else None
    weights = best_weights_of(rnd.round_id, rnd.profile)
    if not isinstance(record, dict) or record.get("status") != "ok" or not weights.is_file():
        return True  # nothing to score
    stored, settings = record.get("video") or {}, video_settings(rnd)
    return {k: stored.get(k) for k in settings} == settings and _newer(
        rnd.output_dir / VIDEO_DIR / "attendance.json", weights
    )


def score_round_on_video(rnd: Round, result: TrainResult | None = None) -> dict[str, Any] | None:
    """Score a trained round on the video; write it into its ``metrics.json`` (``video``) and return it.

    A record that already holds the score of the same video, truth, tracker and window, for weights
    no newer than the score, is kept as it is (a re-run of the pipeline costs nothing here).

    Args:
        rnd (Round): A training round.
        result (TrainResult | None): What :func:`~yolo_workbook.training.train.train_round` returned:
            its ``record`` gets the ``video`` field too, so later steps write it back with it.

    Returns:
        (dict | None): The ``video`` field, or None when the round gets no score (:func:`why_not_scored`)
        or has no ``metrics.json`` with status ok.
    """
    record_path = rnd.output_dir / "metrics.json"
    if why_not_scored(rnd) or not record_path.is_file():
        return None
    record = result.record if result is not None else metrics.upgrade_record(read_json(record_path))
    weights = best_weights_of(rnd.round_id, rnd.profile)
    if record.get("status") != "ok" or not weights.is_file():
        return None
    if is_current(rnd, record):
        return record["video"]
    started = time.time()
    attendance = score_weights_on_video(rnd, weights, rnd.output_dir / VIDEO_DIR)
    field = {**video_settings(rnd), "seconds": round(time.time() - started, 2), "score": attendance.summary["score"]}
    point = attendance.summary.get("operating_point")
    if point:  # chosen on the tuning clip, reported on the video: what the attendance answer compares rounds by
        field["operating_point"] = {
            "conf": point["conf"],
            "chosen_on": point["chosen_on"],
            "tuning_exact_all": point["tuning_exact_all"],
            "scoring_exact_all": point["scoring_exact_all"],
            "scoring_headcount_err": point["scoring_headcount_err"],
            "classes": {
                name: {"tuning_exact": point["tuning"][name]["exact"], "scoring_exact": point["scoring"][name]["exact"]}
                for name in point["conf"]
            },
        }
    record["video"] = field
    schemas.validate(field["score"], score_schema())
    schemas.validate(record, metrics.schema())
    metrics.write_record(record, record_path)
    return field


def score_weights_on_video(rnd: Round, weights: Path, folder: Path) -> AttendanceResult:
    """``weights`` over the round's video with its video score's settings (:func:`video_settings`): predicted,
    counted and scored into ``folder`` (the round's ``video/``, a sweep trial's)."""
    tracker = video_settings(rnd)["tracker"]
    video_round = dataclasses.replace(rnd, predict={**rnd.predict, "save": False, "tracker": tracker})
    return predict_and_count(video_round, weights=weights, folder=folder)


def score_schema() -> dict[str, Any]:
    """``attendance.schema.json``'s ``$defs/score``, standing alone (its own ``$defs`` beside it)."""
    schema = schemas.load("attendance.schema.json")
    return {"$defs": schema["$defs"], **schema["$defs"]["score"]}


def _newer(path: Path, than: Path) -> bool:
    return path.is_file() and path.stat().st_mtime_ns >= than.stat().st_mtime_ns


def format_video_score(field: dict[str, Any] | None, rnd: Round) -> str:
    """The video score as a few lines: per class the count errors and the tracking scores (or why there is none)."""
    if not field or not field.get("score"):
        return f"no video score: {why_not_scored(rnd) or 'the round has no finished record'}"
    score = field["score"]
    lines = [
        f"video score on {relative(Path(field['source']))} ({score['frames_scored']} frames,"
        f" tracker {field['tracker'] or 'none'}, window {field['window_s']:g} s)"
    ]
    rows = [["class", "count err raw", "stable", "exact stable", "IDF1", "ID switches"]]
    for name, c in score["classes"].items():
        rows.append(
            [
                name,
                f"{c['count_mae_raw']:.3f}",
                f"{c['count_mae_stable']:.3f}",
                f"{c['exact_stable']:.0%}",
                "-" if c.get("idf1") is None else f"{c['idf1']:.3f}",
                "-" if c.get("id_switches") is None else str(c["id_switches"]),
            ]
        )
    return "\n".join([*lines, table(rows, align="<>>>>>", indent="  ")])
