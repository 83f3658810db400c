"""The notebooks as papermill sees them: one parameters contract from config, one loading call, thin steps.

A notebook run with plain papermill checks its round first: a bad round stops at the load cell.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess

import nbformat
import papermill
import pytest
from conftest import BIN, ROOT

from yolo_workbook.config.params import NOTEBOOKS, read_round_file
from yolo_workbook.ui.notebook import parameter_names, parameters_cell


def _cells(name: str) -> list[nbformat.NotebookNode]:
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells


def _parameters_index(cells: list[nbformat.NotebookNode]) -> int:
    (index,) = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    return index


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_parameters_cell_is_the_one_generated_from_configs_keys(name):
    cell = _cells(name)[_parameters_index(_cells(name))]
    round_id = ast.literal_eval(ast.parse(cell.source).body[0].value)
    assert cell.source == parameters_cell(round_id), f"notebooks/{name}.ipynb: replace its parameters cell by:\n" + (
        parameters_cell(round_id)
    )
    # Its default round is a round of this notebook, so that running it as it is works.
    assert read_round_file(round_id, ROOT / "params")["notebook"] == name
    documented = papermill.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"))  # --help-notebook
    assert list(documented) == list(parameter_names())
    assert all(p["help"] and p["inferred_type_name"] != "None" for p in documented.values())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_round_loads_in_one_call_and_no_cell_names_a_parameter_again(name):
    cells = _cells(name)
    start = _parameters_index(cells)
    load = next(c for c in cells[start + 1 :] if c.cell_type == "code")
    assert load.source == f'rnd = open_round(globals(), notebook="{name}")'
    assert "nbval-check-output" in load.metadata.get("tags", [])  # its description is checked by nbval
    for cell in [c for c in cells if c.cell_type == "code"][1:]:
        if cell is cells[start]:
            continue
        used = {n.id for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Name)}
        # Only force, which train_round takes; every other parameter reaches the package through open_round.
        assert used & set(parameter_names()) <= {"force"}, cell.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_step_is_one_call_into_the_package_after_a_markdown_cell(name):
    cells = _cells(name)
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")  # title and purpose
    imports, *steps = [c for c in cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    for node in ast.parse(imports.source).body:
        assert isinstance(node, ast.ImportFrom) and node.module.startswith("yolo_workbook."), ast.dump(node)
    for cell in steps:
        (statement,) = ast.parse(cell.source).body  # one statement: a call, or a name given to its result
        assert isinstance(statement, (ast.Expr, ast.Assign)) and isinstance(statement.value, ast.Call), cell.source
        assert all(isinstance(target, ast.Name) for target in getattr(statement, "targets", [])), cell.source
        literals = [n.value for n in ast.walk(statement) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not any("/" in text or "\\" in text for text in literals), f"a literal path: {cell.source}"
        joins = [n for n in ast.walk(statement) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)]
        assert not joins, f"a path built in the notebook (the package knows where its files go): {cell.source}"
    index = _parameters_index(cells)
    assert cells[index - 1].cell_type == "markdown" and cells[index + 1].cell_type == "markdown"


def test_the_two_fine_tuning_notebooks_differ_only_in_title_default_round_and_editor():
    def steps(name: str) -> list[str]:
        cells = _cells(name)
        start = _parameters_index(cells) + 2  # after the parameters cell and the markdown of the round
        return [c.source for c in cells[start:] if "round_editor" not in c.source and "The next round" not in c.source]

    assert [s.replace("04_tune_round", "NB") for s in steps("04_tune_round")] == [
        s.replace("03_finetune", "NB") for s in steps("03_finetune")
    ]


@pytest.mark.notebook
def test_a_bad_round_stops_the_notebook_at_its_load_cell_naming_file_line_and_key(ci_data, outputs, params_copy):
    bad = params_copy / "r09_bad.yaml"
    bad.write_text(
        "round_id: r09_bad\nextends: r01_base\nnotebook: 02_base_train\nmodel:\n  from: yolov8n.yaml\n"
        "train:\n  epochs: abc\n"
    )  # line 7: the ci profile sets epochs itself, so without the check this round would train
    executed = outputs.parent / "r09_bad.ipynb"
    command = [
        str(BIN / "papermill"), "notebooks/02_base_train.ipynb", str(executed), "-f", str(bad), "-p", "profile", "ci",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # as a user runs it
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"{bad}:7: error: train.epochs: must be an integer, got str 'abc'" in done.stderr
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    (failed,) = [c for c in cells if any(o["output_type"] == "error" for o in c.get("outputs", []))]
    assert "open_round(" in "".join(failed["source"])  # the load cell: nothing after it ran
    assert not list(outputs.rglob("train"))  # nothing trained
