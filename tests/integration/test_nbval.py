"""nbval: the executed ci notebooks re-run in a fresh kernel print the same facts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, child_environment

NOTEBOOK_OF = {
    "e00_env_setup": "01_env_setup",
    "r01_base": "02_base_train",
    "r02_freeze_new_data": "03_finetune",
    "r04_lr_cos": "04_tune_round",
    "p01_video": "05_predict_json",
}


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.notebook
@pytest.mark.slow
def test_nbval_lax_over_the_five_notebooks(ci_pipeline, tmp_path):
    """nbval runs the notebooks again (they write records, figures, the journal): on a copy of the outputs.

    The tests after this one read what the pipeline wrote, not what nbval's re-run wrote.
    """
    before = _listing(ci_pipeline)
    outputs = Path(shutil.copytree(ci_pipeline, tmp_path / "outputs", symlinks=True))
    executed = [str(outputs / "ci" / rid / f"{nb}.ipynb") for rid, nb in NOTEBOOK_OF.items()]
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
        env=child_environment({"YOLO_WORKBOOK_OUTPUTS": str(outputs)}),
    )
    log = tmp_path / "nbval.log"
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n(all of nbval's output: {log})"
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert _listing(ci_pipeline) == before, "nbval's re-run wrote into the pipeline's outputs"
