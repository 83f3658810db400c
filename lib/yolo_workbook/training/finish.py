"""The end of a training: ultralytics' background figures, the validation of ``best.pt`` as ultralytics' final
evaluation does it (for a round whose training ended before its run did, a training in other processes, a
sweep's best trial), and the workbook's whole copy of ``last.pt`` after each checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from yolo_workbook.core.files import atomic_output
from yolo_workbook.training import checkpoints, valstats

LOGGER = logging.getLogger(__name__)


def trained_metrics(
    trainer: Any, best: Path, train_args: dict[str, Any], recorder: valstats.ValStatsRecorder | None
) -> Any:
    """The trainer, or, after a multi-GPU (DDP) training, whose validation ran in the GPU processes and left this
    process's trainer without a validator: a validation of ``best`` (``<run>/weights/best.pt``) as ultralytics'
    final evaluation does it, its figures into ``<run>/``."""
    if getattr(trainer, "validator", None) is not None and getattr(trainer.validator, "metrics", None) is not None:
        return trainer
    LOGGER.info("validating %s here: the training ran in other processes (several GPUs)", best)
    run_dir = best.parent.parent
    return validate_trained(best, train_args, run_dir.parent, recorder, name=run_dir.name)


# The trainer's arguments that its final validation uses (ultralytics' final_eval), besides data and batch.
_VALIDATION_ARGS = (
    "imgsz", "device", "workers", "half", "conf", "iou", "max_det", "single_cls", "classes", "agnostic_nms",
    "augment", "plots", "save_json", "dnn", "split", "seed", "deterministic",
)  # fmt: skip


def validate_trained(
    best: Path,
    train_args: dict[str, Any],
    round_dir: Path,
    recorder: valstats.ValStatsRecorder | None = None,
    *,
    name: str = "train",
) -> Any:
    """Validate ``best`` as ultralytics' final evaluation would (same data, size, val batch of twice the train
    batch, plots into ``train/``): for a round whose training ended before its run did. Returns a stand-in
    for the trainer (``.validator.metrics``) that :func:`yolo_workbook.training.metrics.build_record` reads;
    ``recorder`` (when given) keeps the per-image detail of this validation."""
    from types import SimpleNamespace

    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import strip_optimizer

    last = best.with_name("last.pt")  # as final_eval does: the optimizer out, the training curves into best.pt
    finished = strip_optimizer(last) if checkpoints.training_progress(last) else {}
    if checkpoints.training_progress(best):
        strip_optimizer(best, updates={"train_results": finished.get("train_results")} if finished else None)
    args = {key: train_args[key] for key in _VALIDATION_ARGS if key in train_args}
    batch = int(train_args.get("batch") or 16)
    model = YOLO(str(best))
    if recorder is not None:
        model.add_callback("on_val_start", recorder.on_val_start)
    det = model.val(
        data=train_args["data"], batch=max(batch, 1) * 2, rect=True, project=str(round_dir), name=name,
        exist_ok=True, verbose=False, **args,
    )  # fmt: skip
    return SimpleNamespace(validator=SimpleNamespace(metrics=det))


def wait_for_background_plots(timeout: float = 120) -> None:
    """Wait for the figures that ultralytics draws in background threads (``val_batch*_pred.jpg``, its
    ``@threaded`` ``plot_images``): the round folder is whole when the record says ``ok``, and the runner may
    stop the notebook's kernel at once when its last cell ends."""
    import threading

    for thread in threading.enumerate():
        if thread.name.endswith("(plot_images)") and thread is not threading.current_thread():
            thread.join(timeout)


def keep_resume_copy(trainer: Any) -> None:
    """After each checkpoint, copy ``last.pt`` atomically to ``last.resume.pt``.

    ultralytics writes ``last.pt`` in place: a crash during that write leaves it cut short. The
    copy is always whole, so an interrupted round can resume from one of the two.
    """
    import shutil

    last = Path(trainer.last)
    if last.is_file():
        with atomic_output(last.with_name("last.resume.pt")) as partial:
            shutil.copyfile(last, partial)
