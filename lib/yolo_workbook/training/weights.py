"""Finding and loading a round's starting weights: a round's best, its export, a model yaml, a file or a download.

``model.from`` names what a round starts from (training) or predicts with (prediction):

- a round id: that round's ``train/weights/best.pt`` under the same profile (it must have run);
- ``ROUND:onnx`` / ``ROUND:openvino`` (predict rounds): that round's export (``yolo-workbook export``);
- a model yaml (``yolov8n.yaml``): a fresh model, nothing to load;
- a weights file: a path, or an ultralytics name such as ``yolov8n.pt``, downloaded when missing (online).

Every file is checked before anything moves (:mod:`yolo_workbook.training.checkpoints`), and
:func:`load_model` turns any loading error into one :class:`WeightsError` naming the file.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> resolve_start_weights(load_round("r01_base", profile="demo"))  # doctest: +SKIP
    'yolov8n.yaml'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yolo_workbook.config.params import (
    Round,
    best_weights_of,
    export_reference,
    exported_weights_of,
    is_round_reference,
)
from yolo_workbook.config.schema import weights_from_problem
from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError, WeightsError, WeightsFromNotRunError
from yolo_workbook.training import checkpoints


def resolve_start_weights(rnd: Round) -> str:
    """Return what ``YOLO(...)`` should load for this round.

    ``model.from`` is a round id (that round's best weights under the same profile), a model
    yaml (``yolov8n.yaml``: a fresh model), or a weights file (a path, or an ultralytics name such
    as ``yolov8n.pt`` that is downloaded when missing). ``ROUND:onnx`` / ``ROUND:openvino`` (predict rounds)
    is that round's export (``yolo-workbook export``), checked to load.
    """
    source = rnd.weights_from
    where = rnd.where("model", "from")
    problem = weights_from_problem(source)
    if problem:
        raise ParamsError(f"{where}: model.from {problem[0]}", fix=problem[1])
    exported = export_reference(source)
    if exported:  # a round's export (ROUND:onnx, ROUND:openvino): predict rounds only (config.validate)
        round_id, fmt = exported
        profile = f" --profile {rnd.profile}" if rnd.profile else ""
        command = f"yolo-workbook export {round_id}{profile} --format {fmt}"
        exported_path = exported_weights_of(round_id, rnd.profile, fmt)
        imgsz = rnd.predict.get("imgsz")
        return str(
            checkpoints.check_export(
                exported_path, fmt, where=where, export_command=command, imgsz=int(imgsz) if imgsz else None
            )
        )
    if is_round_reference(source):
        best = best_weights_of(source, rnd.profile)
        if not best.is_file():
            profile = f" --profile {rnd.profile}" if rnd.profile else ""
            raise WeightsFromNotRunError(
                f"round '{rnd.round_id}' starts from the best weights of round '{source}', which has not run"
                f" under profile '{rnd.profile or 'default'}' (looked for {best})",
                fix=f"run it first: yolo-workbook run params/{source}.yaml{profile}"
                f"  (yolo-workbook pipeline{profile} runs the rounds they start from first)",
            )
        return str(checkpoints.check_weights_file(best, where=where))
    if source.endswith((".yaml", ".yml")):
        local = paths.project_path(source)
        return str(local) if local.is_file() else source  # ultralytics knows yolov8n.yaml etc.
    local = paths.project_path(source)
    if local.is_file():
        return str(checkpoints.check_weights_file(local, where=where))
    return str(checkpoints.check_weights_file(Path(_download_weights(source, where, rnd.round_id)), where=where))


def _download_weights(name: str, where: str, round_id: str) -> str:
    from ultralytics.utils import WEIGHTS_DIR

    cached = WEIGHTS_DIR / Path(name).name
    if cached.is_file():
        return str(cached)
    message = (
        f"{where}: weights '{name}' are not on this machine and could not be downloaded"
        f" (looked in {paths.PROJECT_ROOT} and {WEIGHTS_DIR})"
    )
    fix = (
        f"put {Path(name).name} in {paths.PROJECT_ROOT} or {WEIGHTS_DIR}, or train this round from scratch: in"
        f" params/local.yaml, 'rounds: {{{round_id}: {{model: {{from: {Path(name).stem}.yaml}}}}}}' (for this round"
        " only: a top-level model.from would replace the start of every round)"
    )
    if "/" in name or "\\" in name:
        raise WeightsError(message, fix=fix)
    from ultralytics.utils.downloads import attempt_download_asset

    try:
        WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
        got = Path(attempt_download_asset(str(cached)))
    except Exception as exc:  # ultralytics raises ConnectionError, OSError, ... when offline
        raise WeightsError(f"{message}: {str(exc).splitlines()[0]}", fix=fix) from None
    if not got.is_file():
        raise WeightsError(message, fix=fix)
    return str(got)


def load_model(weights: str, *, where: str) -> Any:
    """``YOLO(weights)``, or one :class:`WeightsError` naming the file when it cannot be loaded."""
    from ultralytics import YOLO

    try:
        return YOLO(weights)
    except Exception as exc:  # torch's unpickling errors, a state_dict without a model, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(
            f"{where}: cannot load weights {weights}: {reason[:200]}",
            fix="point model.from (or --weights) at a checkpoint that ultralytics wrote; nothing was moved",
        ) from None
