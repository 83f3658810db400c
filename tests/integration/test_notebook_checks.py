"""A notebook run with plain papermill checks its round first: a bad round stops at the load cell."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import BIN, ROOT


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
    assert "load_round(" in "".join(failed["source"])  # the load cell: nothing after it ran
    assert not list(outputs.rglob("train"))  # nothing trained
