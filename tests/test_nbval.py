"""nbval: the executed ci notebooks re-run in a fresh kernel print the same facts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

NOTEBOOK_OF = {
    "e00_env_setup": "01_env_setup",
    "r01_base": "02_base_train",
    "r02_freeze_new_data": "03_finetune",
    "r04_lr_cos": "04_tune_round",
    "p01_video": "05_predict_json",
}


@pytest.mark.notebook
@pytest.mark.slow
def test_nbval_lax_over_the_five_notebooks(ci_pipeline, tmp_path):
    executed = [str(ci_pipeline / "ci" / rid / f"{nb}.ipynb") for rid, nb in NOTEBOOK_OF.items()]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(ROOT / "tests" / "nbval_sanitize.cfg"),
            "--rootdir",
            str(tmp_path),
            *executed,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "YOLO_WORKBOOK_OUTPUTS": str(ci_pipeline)},
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
