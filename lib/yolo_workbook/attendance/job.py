"""A prediction job's attendance: counts and tracks from its files, scored when the video has ground truth.

:func:`predict_and_count` is the one call for "check the truth, predict, count": the CLI's ``predict``,
notebook 05, every training round's video score and a sweep's ``count err`` trial make it.
:func:`check_truth` runs before the prediction (a bad ground-truth file stops the job before the
video is read); :func:`count_attendance` runs after it, on the files the prediction wrote, so a count
can be redone with another window without predicting again (``yolo-workbook score-video``). With several trackers
(``predict.tracker: [bytetrack, botsort]``) or windows (``attendance.window_s: [1, 2, 4]``) and ground
truth, each is scored and the best is named in ``attendance.json``'s ``choices``: the windows by the
stable count's error (counts do not depend on the tracker), the trackers by IDF1.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> rnd = load_round("p01_video", profile="demo")  # doctest: +SKIP
    >>> counted = predict_and_count(rnd)  # doctest: +SKIP
    >>> again = count_attendance(counted.folder, rnd)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from yolo_workbook.attendance.counts import (
    FrameCounts,
    Track,
    alive_counts,
    class_summary,
    counted_tracks,
    frame_counts,
    track_table,
    with_window,
    write_counts_csv,
    write_tracks_csv,
)
from yolo_workbook.attendance.score import score_video
from yolo_workbook.attendance.truth import MotRows, Truth, read_classes, read_mot, read_truth
from yolo_workbook.config.params import Round, relative
from yolo_workbook.config.trackers import resolve_tracker
from yolo_workbook.core import jobs, paths, schemas
from yolo_workbook.core.errors import TruthError
from yolo_workbook.core.files import read_json, write_json
from yolo_workbook.core.text import table
from yolo_workbook.prediction.predict import PredictResult, predict_to_json, video_frames
from yolo_workbook.prediction.track import mot_name

ATTENDANCE_OUTPUTS = ["counts.csv", "tracks.csv", "attendance.json"]


@dataclass(frozen=True)
class AttendanceResult:
    """What :func:`count_attendance` wrote.

    Attributes:
        folder (Path): The prediction's folder.
        counts (FrameCounts): Raw and stable counts per class and frame (the first window).
        tracks (list[Track] | None): The first tracker's tracks; None without a tracker.
        truth (Truth | None): The ground truth scored against.
        summary (dict[str, Any]): The content of ``attendance.json``.
        prediction (PredictResult | None): The prediction counted, when :func:`predict_and_count` made it.
    """

    folder: Path
    counts: FrameCounts
    tracks: list[Track] | None
    truth: Truth | None
    summary: dict[str, Any]
    prediction: PredictResult | None = None

    @property
    def json_path(self) -> Path:
        """``attendance.json``."""
        return self.folder / "attendance.json"


def windows_of(rnd: Round) -> list[float]:
    """``attendance.window_s`` as a list (the first one is written)."""
    value = rnd.attendance_setting("window_s")
    return [float(v) for v in (value if isinstance(value, list) else [value])]


def load_truth(rnd: Round) -> Truth | None:
    """The round's ground truth (``attendance.truth``), read and checked on its own; None when it names none."""
    setting = rnd.attendance_setting("truth")
    return read_truth(paths.project_path(setting)) if setting else None


def check_truth(rnd: Round, *, frames: int | None = None) -> Truth | None:
    """The round's ground truth (``attendance.truth``), read and checked; None when it names none.

    Args:
        rnd (Round): The round.
        frames (int | None): The video's frame count; by default read from ``predict.source`` when it is a
            video file. A truth shorter than the video is refused here, before the video is read.

    Raises:
        TruthError: A bad file (naming file, line and fix), or a truth that does not cover the video.
    """
    truth = load_truth(rnd)
    if truth is None:
        return None
    setting = rnd.attendance_setting("truth")
    frames = frames if frames is not None else video_frames(rnd)
    if frames is not None and frames > truth.frames:
        raise TruthError(
            f"{rnd.where('attendance', 'truth')}: frames out of range: the video has {frames} frames, "
            f"the ground truth {setting} covers {truth.frames}",
            fix="point attendance.truth at this video's ground truth, or complete it",
        )
    return truth


def _tracks(folder: Path, summary: dict[str, Any]) -> list[tuple[str, MotRows]]:
    """Each tracker's rows: the first from ``tracks.mot.txt``, the others from ``tracks.<name>.mot.txt``."""
    names = summary.get("trackers") or []
    classes = read_classes(folder / "classes.txt")
    found = []
    for number, name in enumerate(names):
        path = folder / ("tracks.mot.txt" if number == 0 else mot_name(resolve_tracker(name)))
        found.append((name, read_mot(path, classes)))
    return found


def _counted(tracks: MotRows, *, fps: float | None, stride: int, min_seen_s: float) -> dict[str, int]:
    table = track_table(tracks)
    return {
        name: counted_tracks(table, name, fps=fps, vid_stride=stride, min_seen_s=min_seen_s) for name in tracks.classes
    }


def _choices(
    truth: Truth, counts: FrameCounts, windows: list[float], tracked: list[tuple[str, MotRows]], **timing: Any
) -> dict[str, Any] | None:
    """Each window and each tracker scored on the truth, and the best of each."""
    if len(windows) < 2 and len(tracked) < 2:
        return None
    fps, stride = timing["fps"], timing["stride"]
    rows_w = []
    for window in windows:
        other = with_window(counts, window, fps=fps, vid_stride=stride)
        overall = score_video(
            truth, frame_ids=other.frame_ids, counts_raw=other.raw, counts_stable=other.stable, tracks=None
        )["overall"]
        rows_w.append({"window_s": window, **{k: overall[k] for k in ("count_mae_stable", "exact_stable")}})
    rows_t = []
    for name, rows in tracked:
        alive = alive_counts(track_table(rows), counts.classes, counts.frame_ids)
        mine = with_window(replace(counts, tracked=alive), windows[0], fps=fps, vid_stride=stride)
        counted = _counted(rows, fps=fps, stride=stride, min_seen_s=timing["min_seen_s"])
        overall = score_video(
            truth, frame_ids=mine.frame_ids, counts_raw=mine.raw, counts_stable=mine.stable, tracks=rows
        )["overall"]
        rows_t.append(
            {
                "tracker": name,
                **{key: overall.get(key) for key in ("idf1", "hota", "mota", "id_switches", "count_mae_stable")},
                "counted_tracks": sum(counted.values()),
            }
        )
    best_w = min(rows_w, key=lambda r: (r["count_mae_stable"], -r["exact_stable"])) if rows_w else None
    scored_t = [r for r in rows_t if r["idf1"] is not None]
    best_t = max(scored_t, key=lambda r: r["idf1"]) if scored_t else None
    return {
        "windows": rows_w,
        "trackers": rows_t,
        "best_window_s": best_w["window_s"] if best_w else None,
        "best_tracker": best_t["tracker"] if best_t else None,
    }


def predict_and_count(rnd: Round, *, weights: Path | None = None, folder: Path | None = None) -> AttendanceResult:
    """Check the video's ground truth, predict, count and score: the one call of the CLI, notebook 05, every
    training round's video score and a sweep's ``count err`` trial.

    One job over the folder (:mod:`yolo_workbook.core.jobs`): the earlier result there, every file of it
    (the prediction's, the counts', an executed notebook's), moves to ``history/`` first.

    Args:
        rnd (Round): A predict round (or a training round with its video settings: :mod:`.videoscore`).
        weights (Path | None): Other weights than ``model.from``'s (a training round's own best weights).
        folder (Path | None): Where to write instead of the round's folder (a round's ``video/``).

    Returns:
        (AttendanceResult): The counts and score, with :attr:`AttendanceResult.prediction`.

    Raises:
        TruthError: A bad ground truth, before the video is read.

    Examples:
        >>> from yolo_workbook.config.params import load_round
        >>> counted = predict_and_count(load_round("p01_video", profile="demo"))  # doctest: +SKIP
        >>> counted.prediction.summary["frames"]  # doctest: +SKIP
        240
    """
    truth = check_truth(rnd)  # a bad ground truth stops here, before the video is read
    with jobs.for_round(rnd, folder):  # the prediction and the count: one job, one history folder
        prediction = predict_to_json(rnd, weights=weights, out_dir=folder)
        counted = count_attendance(prediction.folder, rnd, truth=truth)
    return replace(counted, prediction=prediction)


def count_attendance(folder: Path, rnd: Round, *, truth: Truth | None = None) -> AttendanceResult:
    """Counts, tracks and (with ground truth) the score of the prediction in ``folder``.

    Counting a prediction again (``yolo-workbook score-video``, another window) moves the earlier counts to the
    folder's ``history/`` first.

    Args:
        folder (Path): A prediction's folder (``detections.jsonl``, ``summary.json``, ``classes.txt``,
            the tracks' MOT files).
        rnd (Round): The round whose ``attendance`` settings apply.
        truth (Truth | None): The checked ground truth (:func:`check_truth`); None: read it now, if any.

    Returns:
        (AttendanceResult): What was written: ``counts.csv``, ``tracks.csv`` (with a tracker), ``attendance.json``.
    """
    truth = truth if truth is not None else load_truth(rnd)  # the frames are checked against the prediction's
    with jobs.for_round(rnd, folder) as job:
        job.archive(ATTENDANCE_OUTPUTS)  # a count of this prediction made before (none inside predict_and_count)
        job.claim(*ATTENDANCE_OUTPUTS)
        return _count(folder, rnd, truth)


def _count(folder: Path, rnd: Round, truth: Truth | None) -> AttendanceResult:
    summary = read_json(folder / "summary.json")
    fps, stride = summary.get("fps"), int(summary.get("vid_stride") or 1)
    windows = windows_of(rnd)
    min_seen_s = float(rnd.attendance_setting("min_seen_s"))
    tracked = _tracks(folder, summary)
    table = track_table(tracked[0][1]) if tracked else None
    counts = frame_counts(folder, window_s=windows[0], tracks=table)
    timing = {"fps": fps, "vid_stride": stride, "min_seen_s": min_seen_s}
    write_counts_csv(counts, folder / "counts.csv")
    if table is not None:
        write_tracks_csv(table, folder / "tracks.csv", **timing)
    score = None
    if truth is not None:
        counted = _counted(tracked[0][1], fps=fps, stride=stride, min_seen_s=min_seen_s) if tracked else None
        score = score_video(
            truth,
            frame_ids=counts.frame_ids,
            counts_raw=counts.raw,
            counts_stable=counts.stable,
            tracks=tracked[0][1] if tracked else None,
            counted_tracks=counted,
        )
    document = {
        "source": str(summary.get("source")),
        "frames": len(counts.frame_ids),
        "fps": fps,
        "vid_stride": stride,
        "tracker": tracked[0][0] if tracked else None,
        "track_buffer": summary.get("track_buffer"),
        "window_s": windows[0],
        "window_frames": counts.window_frames,
        "stable_from": "tracks" if counts.tracked is not None else "raw",
        "min_seen_s": min_seen_s,
        "classes": {name: class_summary(counts, name, table, **timing) for name in counts.classes},
        "truth": str(truth.folder) if truth is not None else None,
        "score": score,
        "choices": _choices(truth, counts, windows, tracked, fps=fps, stride=stride, min_seen_s=min_seen_s)
        if truth is not None
        else None,
    }
    schemas.validate(document, schemas.load("attendance.schema.json"))
    write_json(folder / "attendance.json", document)
    return AttendanceResult(folder, counts, table, truth, document)


def format_attendance(result: AttendanceResult) -> str:
    """What a person reads first: per class the count of the video and its tracks, then the score."""
    doc = result.summary
    tracker = f"tracker {doc['tracker']}, lost after {doc['track_buffer']} frames" if doc["tracker"] else "no tracker"
    lines = [
        f"{doc['frames']} frames, stable count over {doc['window_s']:g} s ({doc['window_frames']} frames), {tracker}"
    ]
    rows = [["class", "stable count", "per minute", "peak", f"tracks >= {doc['min_seen_s']:g} s"]]
    for name, c in doc["classes"].items():
        counted = "-" if c["counted_tracks"] is None else str(c["counted_tracks"])
        rows.append([name, str(c["stable_count"]), " ".join(map(str, c["per_minute"])), str(c["peak_stable"]), counted])
    lines.append(table(rows, align="<>>>>", indent="  "))
    score = doc["score"]
    if score is None:
        lines.append("no ground truth: no score (attendance.truth)")
        return "\n".join(lines)
    lines.append(f"against {relative(Path(doc['truth']))} ({score['frames_scored']} frames):")
    rows = [["class", "count err raw", "stable", "exact raw", "exact stable", "true", "IDF1", "HOTA", "ID sw"]]
    for name, c in score["classes"].items():
        rows.append([name, *_score_cells(c)])
    rows.append(["all", *_score_cells({**score["overall"], "exact_raw": None, "true_present": None})])
    lines.append(table(rows, align="<>>>>>>>>", indent="  "))
    choices = doc.get("choices")
    if choices:
        for row in choices["windows"]:
            best = " <- best" if row["window_s"] == choices["best_window_s"] else ""
            lines.append(f"  window {row['window_s']:g} s: count err {row['count_mae_stable']:.3f}{best}")
        for row in choices["trackers"]:
            best = " <- best" if row["tracker"] == choices["best_tracker"] else ""
            idf1 = "-" if row["idf1"] is None else f"{row['idf1']:.3f}"
            lines.append(f"  tracker {row['tracker']}: IDF1 {idf1}, {row['counted_tracks']} tracks counted{best}")
    return "\n".join(lines)


def _score_cells(c: dict[str, Any]) -> list[str]:
    def number(key: str, form: str = ".3f") -> str:
        value = c.get(key)
        return "-" if value is None else format(value, form)

    return [
        number("count_mae_raw"),
        number("count_mae_stable"),
        number("exact_raw", ".0%"),
        number("exact_stable", ".0%"),
        number("true_present", "d"),
        number("idf1"),
        number("hota"),
        number("id_switches", "d"),
    ]


def read_attendance(folder: Path) -> AttendanceResult | None:
    """A prediction's attendance as :func:`count_attendance` left it (for the journal); None when it has none."""
    doc = read_json(folder / "attendance.json")
    if not isinstance(doc, dict) or "window_s" not in doc:
        return None
    counts = frame_counts(folder, window_s=float(doc["window_s"]))
    tracks = (
        track_table(read_mot(folder / "tracks.mot.txt", read_classes(folder / "classes.txt")))
        if doc["tracker"]
        else None
    )
    try:
        truth = read_truth(doc["truth"]) if doc.get("truth") else None
    except TruthError:  # moved or changed since: the figures go without it
        truth = None
    return AttendanceResult(folder, counts, tracks, truth, doc)
