"""paths: the project root for an editable checkout, a non-editable install, and an explicit override."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from yolo_workbook.core import paths

PROBE = "from yolo_workbook.core import paths; print(paths.PROJECT_ROOT)"


def _root_seen(cwd: Path, *, package_parent: Path | None = None, env: dict[str, str] | None = None) -> Path:
    """PROJECT_ROOT as a fresh process sees it, importing the package from ``package_parent`` when given."""
    import os

    environment = {k: v for k, v in os.environ.items() if k not in ("YOLO_WORKBOOK_ROOT", "PYTHONPATH")}
    if package_parent:
        environment["PYTHONPATH"] = str(package_parent)
    environment.update(env or {})
    flags = ["-S"] if package_parent else []  # -S: no site-packages, so not the editable install
    done = subprocess.run(
        [sys.executable, *flags, "-c", PROBE], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip())


def test_the_checkout_is_the_root_of_an_editable_install(tmp_path):
    assert (paths.PROJECT_ROOT / "params").is_dir() and (paths.PROJECT_ROOT / "notebooks").is_dir()
    assert paths.PACKAGE_DIR == paths.PROJECT_ROOT / "lib" / "yolo_workbook"
    assert _root_seen(tmp_path) == paths.PROJECT_ROOT  # whatever the current folder


def test_a_non_editable_install_finds_the_project_from_the_current_folder(tmp_path):
    import shutil

    site = tmp_path / "site-packages"  # the package copied out of any checkout, as pip install . puts it
    shutil.copytree(paths.PACKAGE_DIR, site / "yolo_workbook", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "my project"
    (project / "params").mkdir(parents=True)
    (project / "notebooks" / "deep").mkdir(parents=True)
    assert _root_seen(project / "notebooks" / "deep", package_parent=site) == project  # JupyterLab in a subfolder
    assert _root_seen(project, package_parent=site, env={"YOLO_WORKBOOK_ROOT": str(tmp_path)}) == tmp_path
