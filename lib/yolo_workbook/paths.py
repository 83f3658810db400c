"""Every path of the workbook, derived from one project root.

The package is installed editable from ``lib/``, so the project root is two folders above this
file, whatever the current directory is (JupyterLab, papermill, pytest or the CLI).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from yolo_workbook.errors import ParamsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

# A run id becomes a folder name under outputs/: keep it to one safe path component.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DEFAULT_PROFILE_DIR = "default"  # outputs/<this>/ when no profile is chosen


def outputs_root() -> Path:
    """Return the outputs folder: ``$YOLO_WORKBOOK_OUTPUTS`` if set, else ``<project>/outputs``."""
    override = os.environ.get("YOLO_WORKBOOK_OUTPUTS")
    return Path(override).resolve() if override else PROJECT_ROOT / "outputs"


def params_dir() -> Path:
    """The round files' folder: ``$YOLO_WORKBOOK_PARAMS`` if set, else ``<project>/params``."""
    override = os.environ.get("YOLO_WORKBOOK_PARAMS")
    return Path(override).resolve() if override else PROJECT_ROOT / "params"


def check_safe_id(value: str, *, what: str) -> str:
    """Return ``value`` if it is a safe folder name (no ``/``, ``..`` or absolute path)."""
    if not isinstance(value, str) or not _SAFE_ID.match(value) or ".." in value:
        raise ParamsError(
            f"{what} {value!r} cannot be used as a folder name under outputs/",
            fix="use letters, digits, '_', '-' or '.', starting with a letter or digit",
        )
    return value


def profile_dir(profile: str) -> Path:
    """Return ``outputs/<profile>/`` (``outputs/default/`` without a profile)."""
    name = check_safe_id(profile, what="profile") if profile else DEFAULT_PROFILE_DIR
    return outputs_root() / name


def round_dir(round_id: str, profile: str) -> Path:
    """Return the output folder of one round under one profile."""
    return profile_dir(profile) / check_safe_id(round_id, what="round id")


def project_path(value: str | os.PathLike[str]) -> Path:
    """Resolve a path from a params file: absolute as is, relative to the project root."""
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()
