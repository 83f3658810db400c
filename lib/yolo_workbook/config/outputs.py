"""Where a round's results are: its best weights, its export, its resolved params (whether or not it has run).

Every path derives from :mod:`yolo_workbook.core.paths` (``outputs/<profile>/<round_id>/``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from yolo_workbook.config.keys import ROUND_ID
from yolo_workbook.config.round import Round
from yolo_workbook.core import files, paths


def is_round_reference(value: str) -> bool:
    """True when ``model.from`` names a round (``r02_freeze``) rather than a weights or model file."""
    return bool(ROUND_ID.match(value)) and not value.endswith((".pt", ".yaml", ".yml"))


def best_weights_of(round_id: str, profile: str) -> Path:
    """Where a round's best weights are once it has run (whether or not it has)."""
    return paths.round_dir(round_id, profile) / "train" / "weights" / "best.pt"


# What a round can be exported to (yolo-workbook export), and each export's name in ``<round>/export/``.
EXPORT_FILES = {"onnx": "best.onnx", "openvino": "best_openvino_model"}


EXPORT_FORMATS = tuple(EXPORT_FILES)


def export_reference(value: str) -> tuple[str, str] | None:
    """``(round_id, format)`` when ``model.from`` names a round's export (``r08_rare_class:openvino``), else None.

    The format is returned as written (it may be unknown: :func:`yolo_workbook.config.schema.weights_from_problem`
    says so).
    """
    round_id, colon, fmt = value.rpartition(":")
    return (round_id, fmt) if colon and is_round_reference(round_id) else None


def export_dir_of(round_id: str, profile: str) -> Path:
    """A round's export folder, ``outputs/<profile>/<round_id>/export/`` (whether or not it was exported)."""
    return paths.round_dir(round_id, profile) / "export"


def exported_weights_of(round_id: str, profile: str, fmt: str) -> Path:
    """Where a round's export in ``fmt`` (one of :data:`EXPORT_FORMATS`) is once it was exported."""
    return export_dir_of(round_id, profile) / EXPORT_FILES[fmt]


def save_resolved(rnd: Round, path: Path, *, command: list[str] | None = None) -> Path:
    """Write the resolved round as YAML (atomically: complete or not at all), with its command."""
    content = rnd.to_dict()
    if command:
        content["command"] = " ".join(command)
    text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    return files.write_atomic(path, text)
