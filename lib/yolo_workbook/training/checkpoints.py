"""Weights files: whole ultralytics checkpoints or a clear refusal, and how far a training checkpoint got.

A ``.pt`` file that a copy or download cut short, or a file that is not a checkpoint at all, would
otherwise fail deep inside torch with a traceback, after earlier results were already moved. The
check here reads the file as the zip archive that ``torch.save`` writes (its central directory,
every member's CRC, and the ultralytics classes its pickle names), without importing torch.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from yolo_workbook.core.errors import DeploymentError, WeightsError

# The modules an export format needs to run (predict, val); exporting needs more (deployment.export).
RUNTIME_MODULES = {"onnx": ("onnxruntime",), "openvino": ("openvino",)}
INSTALL_EXPORT = 'pip install -e ".[export]" (or make install)'


def check_weights_file(path: Path, *, where: str) -> Path:
    """Return ``path`` if it is a whole ultralytics checkpoint; else raise one :class:`WeightsError` naming it.

    Args:
        path (Path): A ``.pt`` file on disk.
        where (str): What named it (a params file, ``--weights``), for the message.

    Returns:
        (Path): ``path``.

    Raises:
        WeightsError: The file is empty, cut short, damaged, or not an ultralytics checkpoint.
    """
    fix = "copy or download the file again (or point model.from at another .pt); nothing was moved"
    if path.stat().st_size == 0:
        raise WeightsError(f"{where}: weights file {path} is empty", fix=fix)
    if not zipfile.is_zipfile(path):
        raise WeightsError(
            f"{where}: weights file {path} is not a PyTorch checkpoint (cut short by a copy or download?)", fix=fix
        )
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl"]
            damaged = archive.testzip()
            content = archive.read(pickles[0]) if pickles and not damaged else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WeightsError(f"{where}: weights file {path} cannot be read ({exc})", fix=fix) from None
    if damaged:
        raise WeightsError(f"{where}: weights file {path} is damaged (bad checksum in {damaged})", fix=fix)
    if not pickles:
        raise WeightsError(f"{where}: {path} is a zip archive, not a PyTorch checkpoint", fix=fix)
    if b"ultralytics" not in content:
        raise WeightsError(
            f"{where}: {path} is a PyTorch file without an ultralytics model in it",
            fix="use a checkpoint that ultralytics wrote (train/weights/best.pt, yolov8n.pt, ...)",
        )
    return path


def training_progress(path: Path) -> dict[str, Any] | None:
    """How far a resumable training checkpoint got: ``{"epoch", "epochs", "train_args"}``, or None.

    None when the file is missing, cut short, or has no optimizer state (ultralytics strips it when
    training ends, so such a file cannot be resumed). ``epoch`` is 0-based: the last epoch saved.
    """
    if not path.is_file():
        return None
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # a checkpoint cut short by a crash
        return None
    if not isinstance(checkpoint, dict) or checkpoint.get("optimizer") is None:
        return None
    train_args = dict(checkpoint.get("train_args") or {})
    return {
        "epoch": int(checkpoint.get("epoch", -1)),
        "epochs": int(train_args.get("epochs") or 0),
        "train_args": train_args,
    }


def require_modules(modules: tuple[str, ...] | list[str], *, purpose: str) -> None:
    """Import each module, or raise one :class:`DeploymentError` naming the first that is missing.

    ultralytics would pip-install it at run time (a download, which fails offline); the workbook
    declares these packages in its ``export`` extra instead.

    Args:
        modules (tuple[str, ...] | list[str]): Module names (``onnxruntime``, ``openvino``, ...).
        purpose (str): What needs them, for the message (``export to onnx``).
    """
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise DeploymentError(
                f"{purpose} needs the Python package '{module}', which is not installed ({exc})",
                fix=INSTALL_EXPORT,
            ) from None


def check_export(path: Path, fmt: str, *, where: str, export_command: str, imgsz: int | None = None) -> Path:
    """Return ``path`` if it is a whole export in ``fmt`` that its runtime loads; else one :class:`DeploymentError`.

    Its ``export.json`` (when there) must say it passed the parity gate, at the image size asked for:
    ultralytics would silently predict a fixed-size export at its own size.

    Args:
        path (Path): ``best.onnx`` or ``best_openvino_model/``.
        fmt (str): ``onnx`` or ``openvino``.
        where (str): What named it (a params file, ``--weights``), for the message.
        export_command (str): The command that writes it, for the fix.
        imgsz (int | None): The image size to predict at (None: the export's own).

    Returns:
        (Path): ``path``.
    """
    from yolo_workbook.core.files import read_json

    again = f"export it again: {export_command} (the damaged one moves to history/)"
    if not path.exists():
        raise DeploymentError(f"{where}: no {fmt} export at {path}", fix=f"export it first: {export_command}")
    record = read_json(path.parent / "export.json")
    entry = (record.get("formats") or {}).get(fmt) if isinstance(record, dict) else None
    if isinstance(entry, dict) and entry.get("status") != "ok":
        raise DeploymentError(
            f"{where}: the {fmt} export {path} failed its parity gate: {'; '.join(entry.get('reasons') or [])}",
            fix=f"inspect it (export.json beside it), export again ({export_command}), or predict with the round's .pt",
        )
    if isinstance(record, dict) and imgsz is not None and record.get("imgsz") != imgsz:
        raise DeploymentError(
            f"{where}: the {fmt} export {path} is fixed at imgsz {record.get('imgsz')}, but predict.imgsz is {imgsz}",
            fix=f"predict with --imgsz {record.get('imgsz')}, or export at this size: {export_command} --imgsz {imgsz}",
        )
    require_modules(RUNTIME_MODULES[fmt], purpose=f"predicting with the {fmt} export {path}")
    try:
        if fmt == "onnx":
            import onnxruntime

            onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        else:
            import openvino

            xml = sorted(path.glob("*.xml")) if path.is_dir() else []
            if not xml or not (path / "metadata.yaml").is_file():
                raise DeploymentError(f"{where}: {path} has no model .xml or no metadata.yaml", fix=again)
            openvino.Core().read_model(str(xml[0]))
    except DeploymentError:
        raise
    except Exception as exc:  # onnxruntime's InvalidProtobuf, openvino's RuntimeError, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DeploymentError(f"{where}: the {fmt} export {path} cannot be loaded: {reason[:200]}", fix=again) from None
    return path
