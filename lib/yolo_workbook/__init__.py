"""yolo-workbook: Ultralytics YOLO training rounds as a reproducible Jupyter notebook workbook.

Nothing heavy is imported here: ``import yolo_workbook`` stays fast and never imports torch.
Import the step modules you need (``params``, ``train``, ``predict``, ...).
"""

from __future__ import annotations

__version__ = "0.1.0"
