"""The project's shape: environment files, layout, and thin notebooks committed without outputs."""

from __future__ import annotations

import ast
import re
import subprocess

import nbformat
import pytest
import tomllib
from conftest import ROOT

from yolo_workbook.config.params import NOTEBOOK_PARAMETERS, NOTEBOOKS, ROUND_KEYS

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_core_packages_are_declared():
    names = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"ultralytics", "jupyterlab", "papermill", "ipywidgets", "matplotlib", "nbval", "ipykernel"} <= names
    assert not any("torch" in r and ">" in r for r in PYPROJECT["project"]["dependencies"])


def test_layout_and_gitignore_keep_lib():
    for entry in (
        "notebooks",
        "lib/yolo_workbook",
        "params",
        "outputs/.gitkeep",
        "tests",
        "environment.yml",
        "bench",
        "README.md",
        "Makefile",
        "pyproject.toml",
        ".ci/run",
    ):
        assert (ROOT / entry).exists(), entry
    ignored = subprocess.run(["git", "check-ignore", "-q", "lib/yolo_workbook/params.py"], cwd=ROOT)
    assert ignored.returncode == 1, ".gitignore drops lib/"
    assert subprocess.run(["git", "check-ignore", "-q", "outputs/demo/x.json"], cwd=ROOT).returncode == 0


def test_make_help_lists_the_targets():
    done = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True)
    for target in ("demo", "test", "install", "lab"):
        assert f"make {target}" in done.stdout


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_thin_tagged_and_without_outputs(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse(tagged[0].source)
    declared = set()
    for node in tree.body:  # literals only, each annotated
        assert isinstance(node, ast.AnnAssign), ast.dump(node)
        ast.literal_eval(node.value)
        declared.add(node.target.id)
    assert declared == set(ROUND_KEYS) | set(NOTEBOOK_PARAMETERS)
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in code)
    for cell in code:
        body = ast.parse(cell.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.walk(body)), cell.source
        assert "/work/" not in cell.source and "outputs/" not in cell.source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
