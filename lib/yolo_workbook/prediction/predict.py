"""Predict with a round's best weights and write detections as JSON, frame by frame.

Each frame is a :class:`~yolo_workbook.prediction.detections.Detections`. Output, in
``outputs/<profile>/<round_id>/`` (one job: the earlier result there moves to ``history/`` first,
:mod:`yolo_workbook.core.jobs`):

- ``detections.jsonl``: one frame per line, flushed as it comes (an interruption keeps every
  finished frame);
- ``detections.json``: the diary's shape ``[{"frame_id", "detections": [{"class", "confidence",
  "bbox"}]}]``, written atomically once all frames are done (fields are only ever added);
- ``summary.json``: model, source, fps, frames, the size the weights were trained at (``train_imgsz``: a
  ``predict.imgsz`` other than it is logged as a warning), per-class counts, throughput; with a tracker also
  ``tracker_input_conf`` (the confidence the trackers saw), ``trackers``, ``track_class``, ``track_buffer`` and
  ``tracks``.

``predict.conf`` is one number or a per-class operating point (class name -> confidence; a class it does not name:
0.25, ultralytics' default). ultralytics gets one number, the lowest (with a tracker: lower still,
:func:`~yolo_workbook.prediction.track.input_conf`), and the detections written are those above their own class's
value.

With ``predict.tracker`` (see :mod:`yolo_workbook.prediction.track`) each detection also gets a
``track_id``, and the confirmed tracks are written as MOTChallenge rows: ``tracks.mot.txt`` (the first
tracker) and ``tracks.<name>.mot.txt`` (the others, compared by the attendance score). Once the video ends, each
track has one class (``attendance.track_class``: the vote over its frames, or its tracker's class): the MOT rows
carry it, and each detection of ``detections.jsonl`` with a track id gains ``track_class``, its track's class name
(``class`` stays what the detector said; ``null`` for a detection without a track id). ``classes.txt`` holds the
model's class names, one per line (line k is class k in the MOT rows).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from yolo_workbook.config.argrules import RESERVED_PREDICT_KEYS, per_class_conf_problem
from yolo_workbook.config.classnames import conf_class_problems
from yolo_workbook.config.params import Round, save_resolved
from yolo_workbook.config.trackers import tracker_names
from yolo_workbook.core import jobs, paths, schemas
from yolo_workbook.core.errors import PredictError
from yolo_workbook.core.files import atomic_output, write_atomic, write_json
from yolo_workbook.prediction.detections import Detections, add_track_classes
from yolo_workbook.prediction.track import TRACK_CLASS_MODES, input_conf, mot_name, open_trackers, rewrite_mot_classes
from yolo_workbook.training import rerun
from yolo_workbook.training.weights import load_model, resolve_start_weights

LOGGER = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpeg", ".mpg", ".wmv", ".webm", ".asf", ".gif", ".ts"}
PREDICT_OUTPUTS = [
    "detections.jsonl",
    "detections.json",
    "summary.json",
    "params.resolved.yaml",
    "annotated",
    "classes.txt",
    "tracks.mot.txt",
]  # and tracks.<tracker>.mot.txt for each tracker after the first
DEFAULT_CONF = 0.25  # ultralytics' predictor uses 0.25 when conf is not given


@dataclass
class PredictResult:
    """What :func:`predict_to_json` wrote.

    Attributes:
        json_path (Path): ``detections.json`` (the diary's shape).
        jsonl_path (Path): ``detections.jsonl`` (one frame per line).
        summary_path (Path): ``summary.json``.
        summary (dict): The content of ``summary.json``.
    """

    json_path: Path
    jsonl_path: Path
    summary_path: Path
    summary: dict[str, Any]

    @property
    def folder(self) -> Path:
        """The folder the prediction wrote (counts and tracks go beside it: :mod:`yolo_workbook.attendance`)."""
        return self.json_path.parent


def _resolve_source(rnd: Round) -> tuple[str, bool]:
    source = str(rnd.predict.get("source") or "")
    where = rnd.where("predict", "source")
    if not source:
        raise PredictError(f"{where}: no 'predict.source'", fix="set predict.source to a video, image or folder")
    if source.isdigit() or "://" in source:
        return source, False  # camera index or stream URL: passed through to ultralytics
    path = paths.project_path(source)
    if "*" not in source and not path.exists():
        raise PredictError(
            f"{where}: predict.source not found: {path}",
            fix="point predict.source at an existing video, image or folder (relative paths start at the project root)",
        )
    return str(path), path.suffix.lower() in VIDEO_SUFFIXES


def _video_facts(source: str) -> tuple[float | None, int | None]:
    import cv2

    capture = cv2.VideoCapture(source)
    try:
        if not capture.isOpened():
            raise PredictError(f"cannot open the video {source}", fix="check that the file is a readable video")
        fps = capture.get(cv2.CAP_PROP_FPS) or None
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        ok, _ = capture.read()
        if not ok:
            raise PredictError(f"cannot decode the video {source}", fix="re-encode it, e.g. to H.264 MP4")
    finally:
        capture.release()
    return fps, frames


def video_frames(rnd: Round) -> int | None:
    """The frame count of the round's ``predict.source`` when it is a video file (else None), read from its header."""
    source, is_video = _resolve_source(rnd)
    return _video_facts(source)[1] if is_video else None


def check_predict_args(rnd: Round) -> dict[str, Any]:
    """The predict section minus ``source``, checked for the mistakes that waste a run."""
    args = {k: v for k, v in rnd.predict.items() if k not in ("source", "tracker")}
    if isinstance(args.get("conf"), dict):  # a per-class operating point: the workbook applies it
        problem = per_class_conf_problem(args["conf"])
        if problem:
            raise PredictError(f"{rnd.where('predict', 'conf')}: predict.conf {problem[0]}", fix=problem[1])
    for key in ("conf", "iou"):
        value = args.get(key)
        if key == "conf" and isinstance(value, dict):
            continue
        if value is not None and (not isinstance(value, (int, float)) or not 0 <= value <= 1):
            raise PredictError(
                f"{rnd.where('predict', key)}: predict.{key} is {value!r}; it must be a number in [0, 1]"
                + (" or a mapping class name -> number in [0, 1]" if key == "conf" else ""),
                fix=f"e.g. 'predict: {{{key}: 0.5}}'",
            )
    stride = args.get("vid_stride", 1)
    if not isinstance(stride, int) or stride < 1:
        raise PredictError(f"{rnd.where('predict', 'vid_stride')}: vid_stride must be an integer >= 1", fix="e.g. 1")
    for key in RESERVED_PREDICT_KEYS:
        if key in args:
            raise PredictError(f"{rnd.where('predict', key)}: predict.{key} is set by the workbook", fix="remove it")
    return args


def class_thresholds(conf: float | dict[str, float] | None, names: dict[int, str]) -> np.ndarray:
    """Each class index's output threshold: ``conf`` itself, or its class's value in a per-class ``conf``
    (:data:`DEFAULT_CONF` for a class it does not name, and for no ``conf`` at all).

    Examples:
        >>> class_thresholds({"desk": 0.6, "sitae": 0.1}, {0: "student", 1: "desk", 2: "sitae"}).tolist()
        [0.25, 0.6, 0.1]
    """
    if isinstance(conf, dict):
        return np.asarray([float(conf.get(name, DEFAULT_CONF)) for _, name in sorted(names.items())], dtype=np.float64)
    value = float(conf if conf is not None else DEFAULT_CONF)
    return np.full(len(names), value, dtype=np.float64)


def frame_detections(
    result: Any,
    frame_id: int,
    time_s: float | None,
    *,
    track_ids: list[int | None] | None = None,
    min_conf: float | np.ndarray = 0.0,
) -> Detections:
    """One frame's detections; :meth:`~yolo_workbook.prediction.detections.Detections.to_record` writes it in the
    diary's shape.

    With ``track_ids`` (one per box, from :mod:`yolo_workbook.prediction.track`) each detection has its track
    id. Only boxes above ``min_conf`` are kept (the tracker saw all): one number, or one per class index
    (:func:`class_thresholds`), compared with each box's own (detector) class.
    """
    frame = Detections.from_ultralytics(result, frame_id, time_s, track_ids=track_ids)
    if isinstance(min_conf, np.ndarray):
        return frame[frame.confidence > min_conf[frame.class_id]] if len(frame) else frame
    # ultralytics keeps conf > threshold: the same boxes as without tracking
    return frame[frame.confidence > min_conf] if min_conf else frame


def predict_to_json(rnd: Round, *, weights: Path | None = None, out_dir: Path | None = None) -> PredictResult:
    """Run the round's weights over its source with ``stream=True``; write JSON Lines, JSON, summary.

    Args:
        rnd (Round): A resolved predict round (``model.from`` names the round whose weights to use).
        weights (Path | None): Other weights than ``model.from``'s: a training round's own best weights,
            scored on the video (see :mod:`yolo_workbook.attendance.videoscore`).
        out_dir (Path | None): Where to write instead of the round's folder (a training round's ``video/``). The
            earlier result there, every file of it, moves to its ``history/`` first.

    Returns:
        (PredictResult): Paths of what was written, and the summary.

    Examples:
        >>> from yolo_workbook.config.params import load_round
        >>> result = predict_to_json(load_round("p01_video", profile="ci"))  # doctest: +SKIP
    """
    args = check_predict_args(rnd)
    with jobs.for_round(rnd, out_dir) as job:  # one prediction writes a folder at a time
        if weights is not None:
            weights_path = str(weights)
        else:  # the runner's check of the weights, while it still holds
            handed = rerun.handed_checks(rnd, job.handed, training=False)
            weights_path = handed.start_weights if handed else resolve_start_weights(rnd)
        source, is_video = _resolve_source(rnd)
        fps, total = _video_facts(source) if is_video else (None, None)
        # A video score (weights given) uses the profile's settings for every round: the size is said once, quietly.
        level = logging.INFO if weights is not None else logging.WARNING
        return _predict_locked(rnd, job, args, weights_path, source, is_video, fps, total, size_level=level)


def _predict_locked(
    rnd: Round,
    job: jobs.Job,
    args: dict[str, Any],
    weights: str,
    source: str,
    is_video: bool,
    fps: float | None,
    total: int | None,
    *,
    size_level: int = logging.WARNING,
) -> PredictResult:
    out_dir = job.folder
    stride = int(args.get("vid_stride", 1)) if is_video else 1
    model = load_model(weights, where=rnd.where("model", "from"))  # a bad file stops here, before anything moves
    for _, message, fix in conf_class_problems(rnd, [str(name) for name in model.names.values()])[:1]:
        raise PredictError(f"{rnd.where('predict', 'conf')}: predict.conf {message} (weights: {weights})", fix=fix)
    train_imgsz = trained_imgsz(model)
    warn_other_size(rnd, args.get("imgsz"), train_imgsz, weights, level=size_level)
    trackers = open_trackers(
        tracker_names(rnd.predict.get("tracker")),
        lost_s=float(rnd.attendance_setting("lost_s")),
        fps=fps,
        vid_stride=stride,
    )  # a bad tracker file stops here too
    out_dir.mkdir(parents=True, exist_ok=True)
    job.archive()  # all of the earlier result, whichever step wrote it (counts, the executed notebook)
    job.claim(*PREDICT_OUTPUTS, *(mot_name(config) for config in trackers[1:]))
    save_resolved(rnd, out_dir / "params.resolved.yaml")
    if args.get("save"):
        args.update(project=str(out_dir), name="annotated", exist_ok=False)
    per_class = isinstance(args.get("conf"), dict)
    thresholds = class_thresholds(args.get("conf"), model.names)  # per class index: what is written passes it
    output_conf = float(thresholds.min()) if len(thresholds) else DEFAULT_CONF
    parameters = {k: v for k, v in args.items() if k not in ("project", "name", "exist_ok")}
    write_atomic(out_dir / "classes.txt", "".join(f"{name}\n" for name in model.names.values()))
    if trackers:
        args["conf"] = input_conf(trackers, output_conf)  # the trackers see low boxes; the JSON keeps conf
    elif per_class:
        args["conf"] = output_conf  # ultralytics takes one number: the lowest; each class's own is applied here
    # Without a tracker and with one number, ultralytics' own threshold is the output's (nothing filtered here).
    min_conf = thresholds if trackers or per_class else 0.0
    track_class = str(rnd.attendance_setting("track_class"))
    tracker_type = TRACK_CLASS_MODES[track_class]

    from tqdm import tqdm

    jsonl_path, json_path = out_dir / "detections.jsonl", out_dir / "detections.json"
    # Per class: a histogram of detections per frame (constant memory, gives the median exactly).
    histogram: dict[str, Counter[int]] = {}
    frames = 0
    started = time.time()
    expected = total // stride if total else None  # ultralytics drops a tail shorter than the stride
    with (
        jsonl_path.open("w", encoding="utf-8") as stream,
        tqdm(total=expected, unit="frame", desc="track" if trackers else "predict") as bar,
        _mot_files(out_dir, trackers) as mot_files,
    ):
        tracking = [tracker_type(config, mot) for config, (_, mot) in zip(trackers, mot_files, strict=True)]
        for index, result in enumerate(model.predict(source=source, stream=True, verbose=False, **args)):
            frame_id = source_frame(index, stride) if is_video else index
            ids = [t.update(result.boxes, result.orig_img, frame_id) for t in tracking]
            frame = frame_detections(
                result,
                frame_id,
                frame_id / fps if fps else None,
                track_ids=ids[0] if ids else None,
                min_conf=min_conf,
            )
            stream.write(json.dumps(frame.to_record(), ensure_ascii=False) + "\n")
            stream.flush()  # a crash keeps every finished frame
            counts = frame.counts()
            for name in counts.keys() - histogram.keys():
                histogram[name] = Counter({0: frames})  # the frames before its first detection
            for name, per_frame in histogram.items():
                per_frame[counts.get(name, 0)] += 1
            frames += 1
            bar.update(1)
        for (partial, mot), tracker in zip(mot_files, tracking, strict=True):
            mot.close()
            if tracker.relabels:  # each row gets its track's class before the file takes its name
                rewrite_mot_classes(partial, tracker.track_classes())
    seconds = time.time() - started
    if frames == 0:
        raise PredictError(f"no frame could be read from {source}", fix="check the source; nothing was written")
    reclassed = (0, 0)
    if tracking:
        names = {track_id: str(model.names[cls]) for track_id, cls in tracking[0].track_classes().items()}
        reclassed = add_track_classes(jsonl_path, names)
    write_json_array_from_lines(jsonl_path, json_path)
    summary = {
        "round_id": rnd.round_id,
        "model": weights,
        "weights_from": rnd.weights_from,
        "source": source,
        "fps": fps,
        "frames": frames,
        "vid_stride": stride,
        "parameters": parameters,
        "train_imgsz": train_imgsz,
        **(
            {
                "tracker_input_conf": args["conf"],
                "trackers": [t.name for t in trackers],
                "track_class": track_class,
                "reclassed": {"detections": reclassed[0], "tracks": reclassed[1]},
                "track_buffer": trackers[0].args["track_buffer"],
                "tracks": tracking[0].tracks,
            }
            if trackers
            else {}
        ),
        "per_class": {name: class_summary(histogram[name]) for name in sorted(histogram)},
        "seconds": round(seconds, 3),
        "frames_per_second": round(frames / seconds, 2) if seconds else None,
    }
    summary_path = write_json(out_dir / "summary.json", summary)
    return PredictResult(json_path, jsonl_path, summary_path, summary)


def trained_imgsz(model: Any) -> int | None:
    """The image size a loaded ``.pt`` was trained at (its checkpoint's ``train_args.imgsz``), or None.

    None for weights that do not record it: an export (fixed at the size ``export.json`` names, checked when it
    is loaded), a model built from a YAML and saved untrained. A ``[h, w]`` size reads as its longer side.
    """
    checkpoint = getattr(model, "ckpt", None)
    train_args = checkpoint.get("train_args") if isinstance(checkpoint, dict) else None
    size = train_args.get("imgsz") if isinstance(train_args, dict) else None
    return _longer_side(size)


def _longer_side(size: Any) -> int | None:
    if isinstance(size, (list, tuple)) and size and all(isinstance(side, int) for side in size):
        return max(size)
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def warn_other_size(
    rnd: Round, imgsz: Any, train_imgsz: int | None, weights: str, *, level: int = logging.WARNING
) -> bool:
    """Log a warning (at ``level``) when ``predict.imgsz`` differs from the size the weights were trained at; True
    if it did.

    Without ``predict.imgsz``, ultralytics predicts a ``.pt`` at the size of its ``train_args``: no warning.
    At another size the objects reach the model at another scale than in training, and fewer or other boxes
    are found, without a word from ultralytics.
    """
    size = _longer_side(imgsz)
    if size is None or train_imgsz is None or size == train_imgsz:
        return False
    LOGGER.log(
        level,
        "predict.imgsz is %s (set by %s), but the weights %s were trained at imgsz %s: objects reach the model at"
        " another scale than in training, and fewer or other boxes may be found; predict at the training size"
        " (--imgsz %s, or predict.imgsz: %s), unless the frames are larger than the training images by the same"
        " factor",
        imgsz,
        rnd.where("predict", "imgsz"),
        weights,
        train_imgsz,
        train_imgsz,
        train_imgsz,
    )
    return True


@contextlib.contextmanager
def _mot_files(out_dir: Path, trackers: list[Any]) -> Iterator[list[tuple[Path, IO[str]]]]:
    """The MOT files of the trackers (first: ``tracks.mot.txt``), each complete or not at all: the partial file
    each is written to (renamed into place when the block ends without an error) and its open handle."""
    with contextlib.ExitStack() as stack:
        handles = []
        for number, config in enumerate(trackers):
            path = out_dir / ("tracks.mot.txt" if number == 0 else mot_name(config))
            partial = stack.enter_context(atomic_output(path))
            handles.append((partial, stack.enter_context(partial.open("w", encoding="utf-8"))))
        yield handles


def source_frame(index: int, stride: int) -> int:
    """The source frame of the ``index``-th frame ultralytics yields with ``vid_stride=stride``.

    Its video loader grabs ``stride`` frames and decodes the last of them: frames ``stride - 1``,
    ``2 * stride - 1``, ... (stride 3: 2, 5, 8, ...).
    """
    return index * stride + stride - 1


def class_summary(per_frame: Counter[int]) -> dict[str, Any]:
    """Detections, frames with at least one, most at once and median per frame, from a histogram."""
    frames = sum(per_frame.values())
    ordered = sorted(per_frame.items())

    def nth(position: int) -> int:
        seen = 0
        for count, times in ordered:
            seen += times
            if seen > position:
                return count
        return ordered[-1][0]

    median = (nth((frames - 1) // 2) + nth(frames // 2)) / 2
    return {
        "detections": sum(count * times for count, times in ordered),
        "frames_with": frames - per_frame.get(0, 0),
        "most_at_once": max(count for count, times in ordered if times),
        "median_per_frame": median,
    }


def write_json_array_from_lines(jsonl_path: Path, json_path: Path) -> Path:
    """Turn JSON Lines into one JSON array, streaming (constant memory), complete or not at all."""
    with (
        atomic_output(json_path) as partial,
        partial.open("w", encoding="utf-8") as out,
        jsonl_path.open(encoding="utf-8") as lines,
    ):
        out.write("[")
        for number, line in enumerate(lines):
            out.write(("," if number else "") + "\n  " + line.rstrip("\n"))
        out.write("\n]\n")
    return json_path


def result_facts(result: PredictResult) -> str:
    """Deterministic facts of a prediction run (what nbval checks): frames, ids, schema."""
    schema = schemas.load("detections.schema.json")
    frames = json.loads(result.json_path.read_text(encoding="utf-8"))
    schemas.validate(frames, schema)
    ids = [f["frame_id"] for f in frames]
    with result.jsonl_path.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    return "\n".join(
        [
            f"frames          {len(frames)} (JSON Lines: {lines})",
            f"frame ids       {ids[:3]} ... {ids[-1]}",
            "detections.json valid against schemas/detections.schema.json",
        ]
    )
