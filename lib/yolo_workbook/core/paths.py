"""Every path of the workbook, derived from one project root.

The project root is the folder that holds ``params/`` and ``notebooks/``: ``$YOLO_WORKBOOK_ROOT``
when set; else the checkout this package lives in (``lib/yolo_workbook/``, installed editable);
else, for a non-editable install, the nearest folder at or above the current directory that
holds a ``params/`` folder. The answer is the same from JupyterLab, papermill, pytest or the CLI.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from yolo_workbook.core.errors import ParamsError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = PACKAGE_DIR / "schemas"  # the JSON Schemas of every file format the workbook writes or reads


def _is_project(folder: Path) -> bool:
    return (folder / "params").is_dir() and (folder / "notebooks").is_dir()


def find_project_root() -> Path:
    """The workbook's project root (see the module docstring for the order of the rules)."""
    override = os.environ.get("YOLO_WORKBOOK_ROOT")
    if override:
        return Path(override).expanduser().resolve()
    checkout = PACKAGE_DIR.parents[1]
    if _is_project(checkout):
        return checkout
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "params").is_dir():
            return folder
    return here


PROJECT_ROOT = find_project_root()
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


def ultralytics_dir() -> Path:
    """The installed ultralytics package's folder (its cfg/ files are read without importing it: no torch)."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.origin:
        raise ParamsError("ultralytics is not installed", fix="pip install -e . (or make install)")
    return Path(spec.origin).parent
