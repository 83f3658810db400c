"""Check a round's ``train.device`` against this machine before it trains, and a multi-GPU round's batch.

ultralytics finds these problems only once the kernel has started and the model is loaded, or never:

- a GPU this machine does not have: ``select_device`` raises in the trainer (``Invalid CUDA 'device=2'
  requested``); ``device: -1`` (an idle GPU) silently trains on the CPU when there is none;
- several GPUs (``device: 0,1`` or ``[0, 1]``) train with DDP: ``BaseTrainer.train`` writes a temporary
  script and runs it with ``torch.distributed.run``, one process per GPU, each with ``batch // GPUs`` images.
  There, ``batch`` below 1 (AutoBatch) raises ``ValueError``; a batch that the GPU count does not divide
  silently trains on fewer images per step (``batch: 10`` on 4 GPUs: 4 x 2 = 8), one smaller than the
  GPU count gives a GPU 0 images (the data loader refuses it); ``rect: true`` is switched off with a warning;
  the same GPU twice (``0,0``) starts two processes on one GPU, which NCCL refuses.

The spelling of ``device`` is :mod:`yolo_workbook.config.argrules`' (:func:`~yolo_workbook.config.argrules.
cuda_devices`); the count is ``torch.cuda.device_count()``, after ``CUDA_VISIBLE_DEVICES``.

Examples:
    >>> check_devices({"device": "cpu", "batch": -1}, where="params/r01_base.yaml")
"""

from __future__ import annotations

import os
from typing import Any

from yolo_workbook.config.argrules import check_argument, cuda_devices, ultralytics_rules
from yolo_workbook.config.params import Round
from yolo_workbook.core.errors import ParamsError


def _torch_indices(asked: list[str]) -> list[int]:
    """The torch indices of GPU ids as ultralytics maps them (``parse_device``): under ``CUDA_VISIBLE_DEVICES=3``,
    id 3 is torch's GPU 0 when it is out of torch's range; ids in range are torch indices."""
    from ultralytics.utils.torch_utils import parse_device

    return [int(index) for index in parse_device(",".join(asked)).split(",")]


def _gpus_here(count: int) -> str:
    if count == 0:
        return "this machine has no CUDA GPU (torch.cuda.device_count() is 0)"
    listed = ", ".join(str(i) for i in range(count))
    return f"this machine has {count} CUDA GPU{'s' if count > 1 else ''} ({listed})"


def _machine_problem(gpus: list[str]) -> tuple[str, str] | None:
    """GPUs asked for that this machine lacks: ``(message, fix)`` or None."""
    import torch

    count = torch.cuda.device_count()
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    visible = f" (CUDA_VISIBLE_DEVICES={mask})" if mask is not None else ""
    fix = {0: "use device: cpu", 1: "use device: 0"}.get(count, f"use GPUs 0 to {count - 1}, e.g. device: 0")
    fix += ", or remove train.device (ultralytics then takes the current GPU, or the CPU)"
    if len(gpus) > count:
        idle = " (-1: an idle one; ultralytics would silently train on fewer, or on the CPU)" if "-1" in gpus else ""
        return f"asks for {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}{idle}; {_gpus_here(count)}{visible}", fix
    asked = [g for g in gpus if g != "-1"]
    indices = _torch_indices(asked) if asked else []
    absent = [g for g, index in zip(asked, indices, strict=True) if index >= count]
    if absent:
        return f"asks for GPU {', '.join(absent)}; {_gpus_here(count)}{visible}", fix
    twice = sorted({g for g, index in zip(asked, indices, strict=True) if indices.count(index) > 1})
    if twice:
        return (
            f"names GPU {', '.join(twice)} twice; DDP would start two processes on one GPU, which NCCL refuses",
            "name each GPU once, e.g. device: 0,1",
        )
    return None


def _ddp_problem(train_args: dict[str, Any], gpus: int) -> tuple[str, str] | None:
    """What ultralytics refuses or changes when ``gpus`` GPUs train one round with DDP: ``(message, fix)`` or None."""
    import torch

    if not torch.distributed.is_available():
        return (
            f"asks for {gpus} GPUs, but this PyTorch build has no torch.distributed, which training on several "
            "GPUs (DDP) needs",
            "train on one GPU (device: 0), or install a PyTorch build with distributed support",
        )
    batch = train_args.get("batch", ultralytics_rules()["defaults"].get("batch", 16))
    if not isinstance(batch, (int, float)) or isinstance(batch, bool):
        return None  # not a number: check_argument / get_cfg name that problem
    if batch < 1:
        return (
            f"asks for {gpus} GPUs with train.batch: {batch} (AutoBatch), which ultralytics refuses on several GPUs",
            f"give a batch that {gpus} divides, e.g. batch: {gpus * 8} ({8} images per GPU)",
        )
    whole = int(batch)
    if whole % gpus:
        per_gpu = whole // gpus
        nearest = gpus * max(1, round(whole / gpus))
        result = (
            "a GPU would get 0 images, which the data loader refuses"
            if per_gpu == 0
            else f"ultralytics gives each GPU {whole} // {gpus} = {per_gpu} images, so a step trains on "
            f"{per_gpu * gpus}, not {whole}"
        )
        return (
            f"asks for {gpus} GPUs with train.batch: {whole}, which {gpus} does not divide: {result}",
            f"batch: {nearest} ({nearest // gpus} per GPU), or another multiple of {gpus}",
        )
    if train_args.get("rect") is True:
        return (
            f"asks for {gpus} GPUs with train.rect: true, which ultralytics switches off on several GPUs (a warning)",
            "remove train.rect (or train on one GPU)",
        )
    return None


def check_devices(train_args: dict[str, Any], *, where: str) -> None:
    """Refuse a ``train.device`` this machine cannot train on, or a multi-GPU round ultralytics would refuse or change.

    Checked here, before anything is moved or loaded: the device's spelling (as ``check``), the GPUs against
    ``torch.cuda.device_count()``, and with several GPUs ``batch`` (a whole number that the GPU count divides),
    ``rect`` and ``torch.distributed``. ``cpu``, ``mps``, npu/xpu and an unset device pass.

    Args:
        train_args (dict[str, Any]): The round's ``train`` section as resolved.
        where (str): The params file that set ``train.device``, for the message.

    Raises:
        ParamsError: Naming ``where`` and ``train.device``, with a fix.

    Examples:
        >>> check_devices({"device": [0, 1], "batch": 16}, where="params/local.yaml")  # doctest: +SKIP
        Traceback (most recent call last):
        ParamsError: params/local.yaml: train.device [0, 1] asks for 2 GPUs; this machine has 1 CUDA GPU (0) ...
    """
    if "device" not in train_args or train_args["device"] is None:
        return
    value = train_args["device"]
    problem = check_argument("device", value)  # its message quotes the value
    if problem:
        raise ParamsError(f"{where}: train.device {problem[0]}", fix=problem[1])
    gpus = cuda_devices(value)
    problem = (_machine_problem(gpus) if gpus else None) or (
        _ddp_problem(train_args, len(gpus)) if len(gpus) > 1 else None
    )
    if problem:
        shown = repr(value) if isinstance(value, str) else value
        raise ParamsError(f"{where}: train.device {shown} {problem[0]}", fix=problem[1])


def check_round_devices(rnd: Round) -> None:
    """:func:`check_devices` for a round about to train here: not for a sweep whose trials run on Ray (a cluster's
    nodes have their own GPUs, and Ray gives each trial its own).

    Raises:
        ParamsError: As :func:`check_devices`.
    """
    if (rnd.sweep or {}).get("backend") != "ray":
        check_devices(rnd.train, where=rnd.where("train", "device"))
