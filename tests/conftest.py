"""Shared fixtures. Tiers: unit tests (no marker), `notebook` (papermill / nbval kernels), `slow` (training)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yolo_workbook import paths
from yolo_workbook.demo_data import write_demo_data

ROOT = paths.PROJECT_ROOT
# The training rounds of params/, in lineage order: the diary's seven and the rare-class round.
ROUNDS = [
    "r01_base",
    "r02_freeze_new_data",
    "r03_merge",
    "r04_lr_cos",
    "r05_augment",
    "r06_cls_weight",
    "r07_lr_freeze6",
    "r08_rare_class",
]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def ci_data() -> dict[str, Path]:
    """The tiny ci demo datasets, where params/profiles/ci.yaml expects them (deterministic)."""
    root = ROOT / "outputs" / "datasets" / "ci"
    return write_demo_data(root, size="ci")


@pytest.fixture()
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty outputs root for one test (kernels inherit it through the environment)."""
    root = tmp_path / "outputs"
    monkeypatch.setenv("YOLO_WORKBOOK_OUTPUTS", str(root))
    return root


@pytest.fixture()
def params_dir(tmp_path: Path) -> Path:
    """An empty params folder for tests that write their own round files."""
    folder = tmp_path / "params"
    (folder / "profiles").mkdir(parents=True)
    return folder


@pytest.fixture()
def params_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of params/ that a test may edit or write into; the CLI, kernels and this process all use it."""
    folder = tmp_path / "params"
    shutil.copytree(ROOT / "params", folder, ignore=shutil.ignore_patterns("local.yaml"))
    monkeypatch.setenv("YOLO_WORKBOOK_PARAMS", str(folder))
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    """Write a small YAML file for a test."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``yolo-workbook`` command of this environment."""
    return subprocess.run(
        [str(BIN / "yolo-workbook"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def ci_pipeline(tmp_path_factory: pytest.TempPathFactory, ci_data: dict[str, Path]) -> Path:
    """Every round on the ci profile through the real CLI, papermill and kernels; its outputs root."""
    root = tmp_path_factory.mktemp("ci-pipeline") / "outputs"
    done = cli("pipeline", "--profile", "ci", "--quiet", env={"YOLO_WORKBOOK_OUTPUTS": str(root)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root
