"""Train one round in this process and SIGKILL it at a chosen point: a power cut at a known moment.

Usage: python kill_driver.py ROUND_ID PROFILE POINT, with POINT one of:

- ``before_checkpoint``: at the end of the first epoch, before its checkpoint is written;
- ``between_epochs``: after the first epoch's checkpoint (more epochs to go);
- ``after_last_epoch``: after the last epoch's checkpoint, before ultralytics' final validation;
- ``during_record``: when the round's final record (``status: ok``) is being written;
- ``none``: no kill: the round runs to its end (a second run after a kill, without a kernel).

The environment (``YOLO_WORKBOOK_OUTPUTS``, ``YOLO_WORKBOOK_PARAMS``) chooses the folders, as for the CLI.
"""

from __future__ import annotations

import os
import signal
import sys

from ultralytics.utils.callbacks import base

from yolo_workbook.config import params
from yolo_workbook.core import logs
from yolo_workbook.training import metrics, train


def die(*_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(round_id: str, profile: str, point: str) -> None:
    logs.show()  # as a face would: the round's lines on stdout, its warnings on stderr
    hooks = base.default_callbacks  # every trainer starts from a copy of these lists
    if point == "before_checkpoint":
        hooks["on_train_epoch_end"].append(die)  # runs before validation and save_model
    elif point == "between_epochs":
        hooks["on_fit_epoch_end"].append(lambda trainer: die() if trainer.epoch == 0 < trainer.epochs - 1 else None)
    elif point == "after_last_epoch":
        hooks["on_fit_epoch_end"].append(lambda trainer: die() if trainer.epoch + 1 == trainer.epochs else None)
    elif point == "during_record":
        write = metrics.write_record
        metrics.write_record = lambda record, path: die() if record["status"] == "ok" else write(record, path)
    elif point != "none":
        raise SystemExit(f"unknown kill point {point!r}")
    train.train_round(params.load_round(round_id, profile=profile, use_local=False))
    if point != "none":
        raise SystemExit(f"the round ended without reaching the kill point {point!r}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
