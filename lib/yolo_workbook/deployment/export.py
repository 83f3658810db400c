"""Export a round's best weights to ONNX and OpenVINO, gate each export on parity, and write ``export.json``.

The export folder ``outputs/<profile>/<round>/export/`` holds ``best.pt`` (the weights exported),
``best.onnx``, ``best_openvino_model/`` and ``export.json`` (schema ``schemas/export.schema.json``).
It is built beside the round folder and moved into place whole; an earlier export moves to
``history/`` first, never deleted. ultralytics' run-time pip install is off: a missing package is one
:class:`~yolo_workbook.core.errors.DeploymentError` naming it, checked before anything is written.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> result = export_round(load_round("r08_rare_class", profile="demo"), ["openvino"])  # doctest: +SKIP
    >>> result.report["formats"]["openvino"]["status"]  # doctest: +SKIP
    'ok'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import EXPORT_FILES, EXPORT_FORMATS, TRAINING_NOTEBOOKS, Round, best_weights_of
from yolo_workbook.core import jobs, paths, schemas
from yolo_workbook.core.errors import DeploymentError
from yolo_workbook.core.files import publish_folder, read_json, write_json
from yolo_workbook.deployment import parity
from yolo_workbook.training.checkpoints import require_modules

FORMATS = EXPORT_FORMATS
FOLDER = "export"
# What exporting to each format imports (ultralytics would pip-install a missing one at run time).
EXPORT_MODULES = {"onnx": ("onnx", "onnxslim", "onnxruntime"), "openvino": ("openvino",)}
LATENCY_BACKENDS = {"onnx": "onnxruntime", "openvino": "openvino"}


@dataclass
class ExportResult:
    """What :func:`export_round` wrote.

    Attributes:
        folder (Path): ``outputs/<profile>/<round>/export/``.
        json_path (Path): ``export.json`` in it.
        report (dict): The content of ``export.json``.
    """

    folder: Path
    json_path: Path
    report: dict[str, Any]

    @property
    def ok(self) -> bool:
        """True when every format passed the parity gate."""
        return all(entry["status"] == "ok" for entry in self.report["formats"].values())


def check_formats(formats: list[str] | None) -> list[str]:
    """The formats asked for, in :data:`FORMATS` order (all when none); unknown ones are one error with the list."""
    asked = list(formats or FORMATS)
    unknown = [fmt for fmt in asked if fmt not in FORMATS]
    if unknown:
        raise DeploymentError(
            f"unknown export format(s): {', '.join(unknown)} (known: {', '.join(FORMATS)})",
            fix=f"use --format {' '.join(FORMATS)} (or a part of it)",
        )
    return [fmt for fmt in FORMATS if fmt in asked]


def trained_round(rnd: Round) -> tuple[Path, dict[str, Any]]:
    """The round's best weights and its ``metrics.json`` record; one error when it has not run (or failed)."""
    profile = f" --profile {rnd.profile}" if rnd.profile else ""
    if rnd.notebook not in TRAINING_NOTEBOOKS:
        source = rnd.weights_from or "ROUND"
        raise DeploymentError(
            f"round '{rnd.round_id}' does not train ({rnd.notebook}): it has no weights of its own to export",
            fix=f"export the round whose weights it uses: yolo-workbook export {source.split(':')[0]}{profile}",
        )
    best = best_weights_of(rnd.round_id, rnd.profile)
    record = read_json(rnd.output_dir / "metrics.json")
    if not best.is_file() or not isinstance(record, dict) or record.get("status") != "ok":
        state = f"its record says '{record.get('status')}'" if isinstance(record, dict) else f"looked for {best}"
        raise DeploymentError(
            f"round '{rnd.round_id}' has not run under profile '{rnd.profile or 'default'}' ({state})",
            fix=f"run it first: yolo-workbook run params/{rnd.round_id}.yaml{profile}",
        )
    return best, record


@contextlib.contextmanager
def _no_autoinstall() -> Iterator[None]:
    """ultralytics' ``check_requirements`` must not pip-install (``YOLO_AUTOINSTALL=False``, also when imported)."""
    variable = os.environ.get("YOLO_AUTOINSTALL")
    os.environ["YOLO_AUTOINSTALL"] = "False"  # read when ultralytics is first imported
    from ultralytics.utils import checks

    before = checks.AUTOINSTALL
    checks.AUTOINSTALL = False
    try:
        yield
    finally:
        checks.AUTOINSTALL = before
        if variable is None:
            os.environ.pop("YOLO_AUTOINSTALL", None)
        else:
            os.environ["YOLO_AUTOINSTALL"] = variable


def _export(weights: Path, fmt: str, imgsz: int) -> Path:
    from ultralytics import YOLO

    try:
        with _no_autoinstall():
            written = YOLO(str(weights)).export(format=fmt, imgsz=imgsz, batch=1, device="cpu", verbose=False)
    except Exception as exc:  # ultralytics' try_export re-raises what the exporter raised
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DeploymentError(
            f"exporting {weights} to {fmt} failed: {reason[:300]}",
            fix="see the lines above; the round's earlier export (if any) is unchanged",
        ) from None
    path = Path(str(written)).resolve()
    if path != (weights.parent / EXPORT_FILES[fmt]).resolve():
        raise DeploymentError(f"ultralytics wrote {path}, not {weights.parent / EXPORT_FILES[fmt]}", fix="report it")
    return path


def video_of(rnd: Round) -> Path | None:
    """The profile's video (``predict.source``) when it is a file on this machine, else None."""
    source = rnd.predict.get("source")
    path = paths.project_path(str(source)) if source else None
    return path if path is not None and path.is_file() else None


def _gate(
    exported: Path,
    pt_val: dict[str, Any],
    pt_boxes: dict[int, Any] | None,
    *,
    record: dict[str, Any],
    imgsz: int,
    video: Path | None,
    frames: int,
) -> dict[str, Any]:
    data = record["data"]
    val = parity.compare_val(pt_val, parity.validate(exported, data_yaml=data["data_yaml"], imgsz=imgsz,
                                                      names=data["names"]))  # fmt: skip
    boxes = None
    if video is not None and pt_boxes is not None:
        boxes = parity.box_agreement(pt_boxes, parity.predict_boxes(exported, str(video), imgsz=imgsz, frames=frames))
    reasons = val.pop("reasons") + (boxes.pop("reasons") if boxes else [])
    return {"path": "", "status": "failed" if reasons else "ok", "val": val, "boxes": boxes, "reasons": reasons}


def export_round(
    rnd: Round,
    formats: list[str] | None = None,
    *,
    imgsz: int | None = None,
    box_frames: int = parity.BOX_FRAMES,
    latency_frames: int = 0,
) -> ExportResult:
    """Export the round's best weights, run the parity gate per format, measure latency, write ``export.json``.

    Args:
        rnd (Round): A training round that has run under its profile.
        formats (list[str] | None): Some of :data:`FORMATS` (all when None).
        imgsz (int | None): The export's fixed image size (None: the round's train imgsz); predict at it.
        box_frames (int): Frames of the profile's video for the per-box check.
        latency_frames (int): Timed frames per backend (:mod:`yolo_workbook.deployment.latency`); 0: none.

    Returns:
        (ExportResult): The export folder, ``export.json`` and its content. A format that failed the gate
            is ``failed`` there, with its reasons, and its files are kept.

    Raises:
        DeploymentError: Unknown format, a round that has not run, a missing package, a failed export.
    """
    formats = check_formats(formats)
    best, record = trained_round(rnd)
    for fmt in formats:  # before anything is written
        require_modules(EXPORT_MODULES[fmt], purpose=f"exporting to {fmt}")
    imgsz = imgsz or int((record.get("train_args") or {}).get("imgsz") or rnd.train.get("imgsz") or 640)
    video = video_of(rnd)
    with jobs.for_round(rnd) as job:
        staging = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.", dir=rnd.output_dir))
        try:
            report = _export_into(staging, rnd, formats, best=best, record=record, imgsz=imgsz, video=video,
                                  box_frames=box_frames, latency_frames=latency_frames)  # fmt: skip
            job.archive([FOLDER])  # an earlier export of the round
            folder = publish_folder(staging, rnd.output_dir / FOLDER)  # complete or not there
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # this run's own partial folder; nothing earlier
            raise
    return ExportResult(folder, folder / "export.json", report)


def _val_folder(data_yaml: Path) -> Path | None:
    """A folder of validation images to time on when the profile has no video: the split's folder, or, for a merge
    (its splits are lists of images), the folder of the first image listed. None when the split has no image."""
    from yolo_workbook.data.dataset import list_images, resolve_splits

    for entry in resolve_splits(data_yaml)["val"]:
        if entry.is_dir():
            return entry
        images = list_images(entry)
        if images:
            return images[0].parent
    return None


def _export_into(
    staging: Path,
    rnd: Round,
    formats: list[str],
    *,
    best: Path,
    record: dict[str, Any],
    imgsz: int,
    video: Path | None,
    box_frames: int,
    latency_frames: int,
) -> dict[str, Any]:
    weights = staging / "best.pt"
    shutil.copy2(best, weights)  # ultralytics writes exports beside the weights: here, not in train/weights/
    exported = {fmt: _export(weights, fmt, imgsz) for fmt in formats}
    data = record["data"]
    pt_val = parity.validate(weights, data_yaml=data["data_yaml"], imgsz=imgsz, names=data["names"])
    pt_boxes = parity.predict_boxes(weights, str(video), imgsz=imgsz, frames=box_frames) if video else None
    final = rnd.output_dir / FOLDER
    entries = {}
    for fmt in formats:
        entries[fmt] = _gate(exported[fmt], pt_val, pt_boxes, record=record, imgsz=imgsz, video=video,
                             frames=box_frames)  # fmt: skip
        entries[fmt]["path"] = str(final / EXPORT_FILES[fmt])
    latency = None
    if latency_frames > 0:
        from yolo_workbook.deployment.latency import measure_latency

        timed = {"pytorch": weights, **{LATENCY_BACKENDS[fmt]: exported[fmt] for fmt in formats}}
        source = video or _val_folder(Path(data["data_yaml"]))
        latency = measure_latency(timed, str(source), imgsz=imgsz, frames=latency_frames) if source else None
    report = {
        "round_id": rnd.round_id,
        "profile": rnd.profile,
        "weights": str(best),
        "exported_weights": str(final / "best.pt"),
        "imgsz": imgsz,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {
            "val": {**parity.VAL_SETTINGS, "data_yaml": data["data_yaml"], "device": "cpu"},
            "boxes": {"conf": parity.BOX_CONF, "frames": box_frames, "source": str(video) if video else None},
        },
        "formats": entries,
        "latency": latency,
        "tolerances": dict(parity.TOLERANCES),
    }
    schemas.validate(report, schemas.load("export.schema.json"))
    write_json(staging / "export.json", report)
    return report


def format_gate(report: dict[str, Any]) -> str:
    """The parity gate of an ``export.json`` as lines: per format ok/failed, delta mAP50-95, worst class, boxes."""
    lines = [f"parity gate of {report['round_id']} (imgsz {report['imgsz']}, against {report['weights']}):"]
    for fmt, entry in report["formats"].items():
        val, boxes = entry["val"], entry["boxes"]
        worst = val["worst_class"]
        worst_text = f", worst class {worst['name']} {worst['delta']:+.4f}" if worst else ""
        box_text = (
            f", boxes {boxes['agreeing']}/{boxes['boxes']} agree in {boxes['frames']} frames"
            if boxes
            else ", boxes: no video"
        )
        lines.append(
            f"  {fmt:<9} {entry['status'].upper():<6} mAP50-95 {val['pt']['mAP50-95']:.4f} -> "
            f"{val['export']['mAP50-95']:.4f} ({val['delta_map50_95']:+.4f}){worst_text}{box_text}"
        )
        lines += [f"            {reason}" for reason in entry["reasons"]]
        lines.append(f"            {entry['path']}")
    return "\n".join(lines)
