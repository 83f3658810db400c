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
    passing,
    track_table,
    with_window,
    write_counts_csv,
    write_tracks_csv,
)
from yolo_workbook.attendance.headcount import Headcount, counted_spans, headcount
from yolo_workbook.attendance.operating import (
    FRAGMENT,
    TUNING_DIR,
    OperatingPoint,
    check_tuning_clip,
    choose,
    curves,
    exact_all,
    fragment,
)
from yolo_workbook.attendance.score import score_video
from yolo_workbook.attendance.truth import MotRows, Truth, read_classes, read_mot, read_truth
from yolo_workbook.config.params import Round, relative
from yolo_workbook.config.trackers import resolve_tracker, tracker_names
from yolo_workbook.core import jobs, paths, schemas
from yolo_workbook.core.errors import TruthError
from yolo_workbook.core.files import read_json, write_atomic, write_json
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
        tracks (list[Track] | None): The first tracker's tracks, all of them (those counted pass ``conf``: see
            :mod:`.operating`); None without a tracker.
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


def _counted(tracks: MotRows, *, fps: float | None, stride: int, min_seen_s: float, conf: Any) -> dict[str, int]:
    table = passing(track_table(tracks), conf)
    return {
        name: counted_tracks(table, name, fps=fps, vid_stride=stride, min_seen_s=min_seen_s) for name in tracks.classes
    }


def _choices(
    truth: Truth,
    counts: FrameCounts,
    windows: list[float],
    tracked: list[tuple[str, MotRows]],
    conf: Any,
    **timing: Any,
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
        spans = counted_spans(track_table(rows), conf, lost_s=timing["lost_s"], fps=fps)
        alive = alive_counts(spans, counts.classes, counts.frame_ids)
        mine = with_window(replace(counts, tracked=alive), windows[0], fps=fps, vid_stride=stride)
        counted = _counted(rows, fps=fps, stride=stride, min_seen_s=timing["min_seen_s"], conf=conf)
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
    tuning = check_tuning_clip(rnd) if truth is not None else None  # and a tuning clip that is the scored video
    tuning_round = _tuning_round(rnd, *tuning) if tuning is not None else None
    if tuning_round is not None:
        check_truth(tuning_round)  # the tuning clip's truth too, before anything runs
    with jobs.for_round(rnd, folder) as job:  # the prediction and the count: one job, one history folder
        prediction = predict_to_json(rnd, weights=weights, out_dir=folder)
        counted = count_attendance(prediction.folder, rnd, truth=truth)
        if tuning_round is not None:
            job.claim(TUNING_DIR, FRAGMENT)
            tuned = predict_and_count(
                tuning_round, weights=Path(prediction.summary["model"]), folder=prediction.folder / TUNING_DIR
            )
            counted = _with_operating_point(rnd, counted, tuned)
    return replace(counted, prediction=prediction)


def _tuning_round(rnd: Round, clip: Path, truth: Path) -> Round:
    """The round's settings over its tuning clip (its first tracker only, no annotated video, no tuning clip of its
    own)."""
    trackers = tracker_names(rnd.predict.get("tracker"))
    return replace(
        rnd,
        predict={**rnd.predict, "source": str(clip), "save": False, "tracker": trackers[0] if trackers else "none"},
        attendance={**rnd.attendance, "truth": str(truth), "tuning_clip": None},
    )


def _with_operating_point(rnd: Round, scored: AttendanceResult, tuned: AttendanceResult) -> AttendanceResult:
    """Choose the per-class operating point on the tuning clip's tracks, report it on the scored video's; write
    ``operating_point.yaml`` and add ``operating_point`` to ``attendance.json``."""
    if scored.tracks is None or tuned.tracks is None or scored.truth is None or tuned.truth is None:
        return scored  # without tracks there is nothing to re-count
    classes = [name for name in scored.counts.classes if name in scored.truth.counts and name in tuned.truth.counts]
    sides = {}
    for side, result in (("tuning", tuned), ("scoring", scored)):
        sides[side] = curves(
            result.tracks,
            result.truth,
            frame_ids=result.counts.frame_ids,
            window=result.counts.window_frames,
            classes=classes,
            lost_s=float(rnd.attendance_setting("lost_s")),
            fps=result.summary["fps"],
        )
    point = choose(
        sides["tuning"],
        sides["scoring"],
        tuning_clip=relative(Path(tuned.summary["source"])),
        scoring_clip=relative(Path(scored.summary["source"])),
    )
    document = {**scored.summary, "operating_point": _point_summary(rnd, point, scored, tuned, classes)}
    schemas.validate(document, schemas.load("attendance.schema.json"))
    write_json(scored.json_path, document)
    write_atomic(scored.folder / FRAGMENT, fragment(point, rnd))
    return replace(scored, summary=document)


def _point_summary(
    rnd: Round, point: OperatingPoint, scored: AttendanceResult, tuned: AttendanceResult, classes: list[str]
) -> dict[str, Any]:
    """The point's summary, with each clip's share of frames exact for every class at once and its headcount error
    at the point (null where the truth has no ``gt.txt`` to tell the distinct objects)."""
    summary = point.summary()
    for side, result in (("tuning", tuned), ("scoring", scored)):
        tracks = result.tracks or []
        summary[f"{side}_exact_all"] = exact_all(
            tracks,
            result.truth,
            frame_ids=result.counts.frame_ids,
            window=result.counts.window_frames,
            classes=classes,
            conf=point.conf,
            lost_s=float(rnd.attendance_setting("lost_s")),
            fps=result.summary["fps"],
        )
        doc = result.summary
        heads = headcount(
            passing(tracks, point.conf),
            lost_s=float(rnd.attendance_setting("lost_s")),
            fps=doc["fps"],
            vid_stride=doc["vid_stride"],
            min_seen_s=doc["min_seen_s"],
            classes=result.counts.classes,
            frames_total=result.counts.frame_ids[-1] + 1 if result.counts.frame_ids else None,
        )
        true = {name: c.get("true_present") for name, c in ((doc.get("score") or {}).get("classes") or {}).items()}
        summary[f"{side}_headcount_err"] = {
            name: None if true.get(name) is None else heads.classes[name].present - true[name] for name in classes
        }
    return summary


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
    conf = rnd.predict.get("conf")
    tracked = _tracks(folder, summary)
    table = track_table(tracked[0][1]) if tracked else None
    kept = passing(table, conf) if table is not None else None  # the tracks the operating point counts
    lost_s = float(rnd.attendance_setting("lost_s"))
    spans = counted_spans(table, conf, lost_s=lost_s, fps=fps) if table is not None else None
    counts = frame_counts(folder, window_s=windows[0], tracks=spans)
    timing = {"fps": fps, "vid_stride": stride, "min_seen_s": min_seen_s}
    write_counts_csv(counts, folder / "counts.csv")
    heads = None
    if table is not None:
        write_tracks_csv(table, folder / "tracks.csv", conf=conf, **timing)
        heads = headcount(
            kept or [],
            lost_s=lost_s,
            classes=counts.classes,
            frames_total=counts.frame_ids[-1] + 1 if counts.frame_ids else None,
            **timing,
        )
    score = None
    if truth is not None:
        counted = _counted(tracked[0][1], fps=fps, stride=stride, min_seen_s=min_seen_s, conf=conf) if tracked else None
        score = score_video(
            truth,
            frame_ids=counts.frame_ids,
            counts_raw=counts.raw,
            counts_stable=counts.stable,
            tracks=tracked[0][1] if tracked else None,
            counted_tracks=counted,
            headcounts={name: c.present for name, c in heads.classes.items()} if heads is not None else None,
        )
    document = {
        "source": str(summary.get("source")),
        "frames": len(counts.frame_ids),
        "fps": fps,
        "vid_stride": stride,
        "tracker": tracked[0][0] if tracked else None,
        "track_class": summary.get("track_class"),
        "reclassed": summary.get("reclassed"),
        "track_buffer": summary.get("track_buffer"),
        "window_s": windows[0],
        "window_frames": counts.window_frames,
        "stable_from": "tracks" if counts.tracked is not None else "raw",
        "min_seen_s": min_seen_s,
        "lost_s": lost_s,
        "conf": conf,
        "classes": {name: _class_entry(counts, name, kept, heads, timing) for name in counts.classes},
        "truth": str(truth.folder) if truth is not None else None,
        "score": score,
        "choices": _choices(
            truth, counts, windows, tracked, conf, fps=fps, stride=stride, min_seen_s=min_seen_s, lost_s=lost_s
        )
        if truth is not None
        else None,
    }
    schemas.validate(document, schemas.load("attendance.schema.json"))
    write_json(folder / "attendance.json", document)
    return AttendanceResult(folder, counts, table, truth, document)


def _class_entry(
    counts: FrameCounts, name: str, kept: list[Track] | None, heads: Headcount | None, timing: dict[str, Any]
) -> dict[str, Any]:
    entry = class_summary(counts, name, kept, **timing)
    mine = heads.classes[name] if heads is not None else None
    return {
        **entry,
        "headcount": mine.present if mine else None,
        "headcount_per_minute": mine.per_minute if mine else None,
        "relinked": mine.relinked if mine else None,
    }


def format_attendance(result: AttendanceResult) -> str:
    """What a person reads first: per class the count of the video and its tracks, then the score."""
    doc = result.summary
    tracker = f"tracker {doc['tracker']}, lost after {doc['track_buffer']} frames" if doc["tracker"] else "no tracker"
    if doc.get("reclassed"):
        moved = doc["reclassed"]
        tracker += (
            f"; one class per track ({doc['track_class']}): {moved['detections']} detections in {moved['tracks']}"
            " tracks took their track's class"
        )
    lines = [
        f"{doc['frames']} frames, stable count over {doc['window_s']:g} s ({doc['window_frames']} frames), {tracker}"
    ]
    rows = [["class", "present", "stable count", "per minute", "peak", f"tracks >= {doc['min_seen_s']:g} s"]]
    for name, c in doc["classes"].items():
        counted = "-" if c["counted_tracks"] is None else str(c["counted_tracks"])
        present = "-" if c.get("headcount") is None else str(c["headcount"])
        per_minute = " ".join(map(str, c["per_minute"]))
        rows.append([name, present, str(c["stable_count"]), per_minute, str(c["peak_stable"]), counted])
    lines.append(table(rows, align="<>>>>>", indent="  "))
    score = doc["score"]
    if score is None:
        lines.append("no ground truth: no score (attendance.truth)")
        return "\n".join(lines)
    lines.append(f"against {relative(Path(doc['truth']))} ({score['frames_scored']} frames):")
    header = ["class", "count err raw", "stable", "exact raw", "exact stable", "true", "headcount err", "IDF1", "HOTA"]
    rows = [[*header, "ID sw"]]
    for name, c in score["classes"].items():
        rows.append([name, *_score_cells(c)])
    overall = {**score["overall"], "exact_raw": None, "true_present": None}
    rows.append(["all", *_score_cells({**overall, "headcount_err": overall.get("headcount_abs_err")})])
    lines.append(table(rows, align="<>>>>>>>>>", indent="  "))
    choices = doc.get("choices")
    if choices:
        for row in choices["windows"]:
            best = " <- best" if row["window_s"] == choices["best_window_s"] else ""
            lines.append(f"  window {row['window_s']:g} s: count err {row['count_mae_stable']:.3f}{best}")
        for row in choices["trackers"]:
            best = " <- best" if row["tracker"] == choices["best_tracker"] else ""
            idf1 = "-" if row["idf1"] is None else f"{row['idf1']:.3f}"
            lines.append(f"  tracker {row['tracker']}: IDF1 {idf1}, {row['counted_tracks']} tracks counted{best}")
    if doc.get("operating_point"):
        lines.append(format_operating_point(doc["operating_point"], result.folder))
    return "\n".join(lines)


def format_operating_point(point: dict[str, Any], folder: Path) -> str:
    """The chosen operating point: per class its threshold and exact share on the tuning clip and on this video."""
    lines = [f"operating point, chosen on {point['chosen_on']} and reported on {point['scored_on']}:"]
    rows = [["class", "conf", "exact (tuning clip)", "exact (scored video)", "count err (scored video)"]]
    for name, value in point["conf"].items():
        tuning, scoring = point["tuning"][name], point["scoring"][name]
        rows.append(
            [name, f"{value:g}", f"{tuning['exact']:.0%}", f"{scoring['exact']:.0%}", f"{scoring['count_mae']:.3f}"]
        )
    rows.append(["every class", "", f"{point['tuning_exact_all']:.0%}", f"{point['scoring_exact_all']:.0%}", ""])
    lines.append(table(rows, align="<>>>>", indent="  "))
    errors = point["scoring_headcount_err"]
    if any(value is not None for value in errors.values()):
        shown = ", ".join(f"{name} {'-' if value is None else f'{value:+d}'}" for name, value in errors.items())
        lines.append(f"  headcount err at this point (scored video): {shown}")
    lines.append(f"  to deploy it: copy {relative(folder / FRAGMENT)} into the round file")
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
        number("headcount_err", "+d"),
        number("idf1"),
        number("hota"),
        number("id_switches", "d"),
    ]


def read_attendance(folder: Path) -> AttendanceResult | None:
    """A prediction's attendance as :func:`count_attendance` left it (for the journal); None when it has none."""
    doc = read_json(folder / "attendance.json")
    if not isinstance(doc, dict) or "window_s" not in doc:
        return None
    tracks = (
        track_table(read_mot(folder / "tracks.mot.txt", read_classes(folder / "classes.txt")))
        if doc["tracker"]
        else None
    )
    lost_s = float(doc.get("lost_s", 0.0))  # absent: counted before fragments were joined (0 joins none)
    spans = counted_spans(tracks, doc.get("conf"), lost_s=lost_s, fps=doc["fps"]) if tracks is not None else None
    counts = frame_counts(folder, window_s=float(doc["window_s"]), tracks=spans)
    try:
        truth = read_truth(doc["truth"]) if doc.get("truth") else None
    except TruthError:  # moved or changed since: the figures go without it
        truth = None
    return AttendanceResult(folder, counts, tracks, truth, doc)
