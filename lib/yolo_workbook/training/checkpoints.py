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

from yolo_workbook.core.errors import WeightsError


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
