"""jobs: one history folder per run, whatever step moves the earlier result; what a run wrote stays; a kernel
started under the job archives into the runner's history folder and leaves the notebook it runs in alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import child_environment

from yolo_workbook.core import jobs


def _start(folder: Path):
    return jobs.start(folder, what=f"folder {folder.name}", fix="wait")


def _earlier_result(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    (folder / "detections.json").write_text("[]\n", encoding="utf-8")
    (folder / "attendance.json").write_text('{"frames": 3}\n', encoding="utf-8")
    (folder / "annotated").mkdir()
    (folder / "annotated" / "frame.jpg").write_bytes(b"\xff\xd8jpeg")
    return {"detections.json": b"[]\n", "attendance.json": b'{"frames": 3}\n', "annotated/frame.jpg": b"\xff\xd8jpeg"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_step_of_one_run_archives_into_one_history_folder_and_keeps_what_the_run_wrote(tmp_path):
    folder = tmp_path / "p01_video"
    earlier = _earlier_result(folder)
    with _start(folder) as job:
        job.archive(["detections.json"])  # the prediction's step
        (folder / "detections.json").write_text('[{"frame_id": 0}]\n', encoding="utf-8")
        job.claim("detections.json")
        with _start(folder) as inner:  # a step inside the step (the count inside predict-and-count): the same job
            assert inner is job
            inner.archive()  # everything else of the earlier result, not what this run wrote
    (history,) = (folder / "history").iterdir()
    assert _files(history) == earlier  # one folder, the whole earlier result, byte for byte
    assert sorted(p.name for p in folder.iterdir()) == ["detections.json", "history"]
    assert (folder / "detections.json").read_text(encoding="utf-8") == '[{"frame_id": 0}]\n'


def test_a_second_run_gets_a_history_folder_of_its_own(tmp_path):
    folder = tmp_path / "r01_base"
    _earlier_result(folder)
    for run in range(2):
        with _start(folder) as job:
            job.archive()
            (folder / "metrics.json").write_text(f'{{"run": {run}}}\n', encoding="utf-8")
    assert sorted(len(list(p.iterdir())) for p in (folder / "history").iterdir()) == [1, 3]  # 3: the first result
    assert (folder / "metrics.json").read_text(encoding="utf-8") == '{"run": 1}\n'


def test_a_kernel_under_the_runners_job_archives_into_its_history_folder_and_leaves_the_notebook(tmp_path):
    folder = tmp_path / "p01_video"
    earlier = _earlier_result(folder)
    (folder / "05_predict_json.ipynb").write_text('{"cells": ["earlier"]}', encoding="utf-8")
    earlier["05_predict_json.ipynb"] = b'{"cells": ["earlier"]}'
    kernel = textwrap.dedent(
        f"""
        from pathlib import Path
        from yolo_workbook.core import jobs
        folder = Path({str(folder)!r})
        with jobs.start(folder, what="p01_video", fix="wait") as job:
            print(job.handed)
            job.archive()
        """
    )
    with _start(folder) as job:
        job.archive(["05_predict_json.ipynb"])  # the runner: the earlier notebook, then papermill writes the new one
        (folder / "05_predict_json.ipynb").write_text('{"cells": ["this run"]}', encoding="utf-8")
        job.claim("05_predict_json.ipynb")
        with job.shared_with_children({"checks": "of the runner"}):
            done = subprocess.run(
                [sys.executable, "-c", kernel], capture_output=True, text=True, env=child_environment(), timeout=120
            )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'checks': 'of the runner'}"  # the runner's facts reach the kernel's job
    (history,) = (folder / "history").iterdir()
    assert _files(history) == earlier
    assert sorted(p.name for p in folder.iterdir()) == ["05_predict_json.ipynb", "history"]
    assert (folder / "05_predict_json.ipynb").read_text(encoding="utf-8") == '{"cells": ["this run"]}'
