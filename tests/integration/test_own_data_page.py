"""docs/how-to/own-data.md, followed as written: a page whose commands no longer work fails ``make test``.

The page is the source. Each block after a ``<!-- test: own-data -->`` line (invisible on the site) is
used in page order:

- a ``yaml`` block titled with a file (``title="params/local.yaml"``) adds its lines to that file of the
  project (the first block writes it);
- a ``bash`` block is run line by line, each line a ``yolo-workbook`` command (quotes as a shell reads
  them), and each must succeed, except the last one before a ``text`` block;
- a ``text`` block is output: every line of it must be in that last command's output.

The project is a temporary one: a copy of params/, its own outputs, and two Roboflow-style exports
(the generated ci data) under a folder whose name holds a space and Hangul, their rare class renamed
to ``late`` as the page's example has it. Two substitutions turn the page's paths into the project's
(:data:`PLACES`); the one step the page describes in words, editing two lines of two round files, is
:data:`EDITS`, and the page must name both sides of each.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli

from yolo_workbook.data.demo import write_demo_data

PAGE = ROOT / "docs" / "how-to" / "own-data.md"
BLOCK = re.compile(r'^<!-- test: own-data -->\n```(\w+)(?: title="([^"]+)")?\n(.*?)^```$', re.M | re.S)
DESKTOP = "C:/Users/USER/Desktop"  # the page's folder of the exports and the video (the diary's)
PROJECT = "<project>"  # the project folder, in the output the page shows
# The page's names for the exports and the video, and what the generated ci data calls them.
COPIES = {
    "gkrltlfgdmsrj.v1i.yolov8": "classroom.v1i.yolov8",
    "gkrltlfgdmsrj.v2i.yolov8": "classroom.v2i.yolov8",
    "test_video_0.mp4": "classroom_video.mp4",
    "test_video_0.truth": "classroom_video.truth",
}
# "Edit the two lines to your class name": (file, the line as it is, the line after).
EDITS = [
    ("r08_rare_class.yaml", "classes: [sitae]", "classes: [late]"),
    ("r09_sweep_sitae.yaml", "objective: sitae AP50", "objective: late AP50"),
]


def _blocks() -> list[tuple[str, str, str]]:
    """The page's tested blocks, in order: (language, title, text)."""
    blocks = [(m[1], m[2] or "", m[3]) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]
    marked = PAGE.read_text(encoding="utf-8").count("<!-- test: own-data -->")
    assert len(blocks) == marked, "each <!-- test: own-data --> line stands right before a fenced block"
    return blocks


def _your_exports(folder: Path) -> Path:
    """Two Roboflow-style exports, a video and its ground truth, named as on the page; ``sitae`` is ``late``."""
    generated = write_demo_data(folder.parent / "generated", size="ci")["first"].parents[1]
    for page_name, name in COPIES.items():
        copy = shutil.copytree if (generated / name).is_dir() else shutil.copy2
        copy(generated / name, folder / page_name)
    for renamed in [*folder.glob("*.yolov8/data.yaml"), folder / "test_video_0.truth" / "classes.txt"]:
        renamed.write_text(renamed.read_text(encoding="utf-8").replace("sitae", "late"), encoding="utf-8")
    counts = folder / "test_video_0.truth" / "counts.csv"
    header, rest = counts.read_text(encoding="utf-8").split("\n", 1)
    counts.write_text(header.replace("sitae", "late") + "\n" + rest, encoding="utf-8")
    return folder


def _run(line: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(line, comments=True)
    assert words[0] == "yolo-workbook", f"the page's commands are yolo-workbook commands: {line}"
    return cli(*words[1:])


@pytest.mark.slow
@pytest.mark.notebook
def test_the_own_data_page_works_as_written(tmp_path: Path, params_copy: Path, outputs: Path):
    project = params_copy.parent
    data = _your_exports(tmp_path / "내 데이터")
    page = PAGE.read_text(encoding="utf-8")
    for file, before, after in EDITS:
        assert f"`{before}`" in page and f"`{after}`" in page and file in page, (file, before, after)

    def place(text: str) -> str:
        return text.replace(DESKTOP, data.as_posix()).replace(PROJECT, project.as_posix())

    blocks = _blocks()
    assert {language for language, _, _ in blocks} == {"yaml", "bash", "text"}
    written: set[str] = set()
    said: dict[str, str] = {}  # a command's words -> its output
    last: subprocess.CompletedProcess[str] | None = None
    for index, (language, title, text) in enumerate(blocks):
        text = place(text)
        if language == "yaml":
            assert title, 'a tested yaml block names its file: ```yaml title="params/..."'
            path = project / title
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a" if title in written else "w", encoding="utf-8") as file:
                file.write(text)
            written.add(title)
        elif language == "bash":
            lines = [line for line in text.splitlines() if shlex.split(line, comments=True)]
            shown = index + 1 < len(blocks) and blocks[index + 1][0] == "text"
            for number, line in enumerate(lines):
                last = _run(line)
                said[" ".join(shlex.split(line, comments=True)[1:])] = last.stdout + last.stderr
                if not (shown and number == len(lines) - 1):
                    assert last.returncode == 0, f"{line}\n{last.stdout[-3000:]}\n{last.stderr[-3000:]}"
        else:
            assert last is not None, "a text block shows the output of the bash block before it"
            output = (last.stdout + last.stderr).replace(os.sep, "/")  # the page writes paths with "/"
            for line in text.splitlines():
                assert line in output, f"the page shows a line the command does not print:\n{line}\n---\n{output}"
            if "error(s)" in text:  # the refusal of section 3: edit the two lines as the page says, check again
                assert last.returncode != 0, "check refuses the rounds that name a class the data lacks"
                for file, before, after in EDITS:
                    path = params_copy / file
                    assert before in path.read_text(encoding="utf-8"), f"{file} no longer holds '{before}'"
                    path.write_text(path.read_text(encoding="utf-8").replace(before, after), encoding="utf-8")
                again = cli("check")
                assert again.returncode == 0 and "\n0 error(s)" in again.stdout + again.stderr, again.stderr

    tryout = outputs / "tryout"
    for round_id in ("r01_base", "r02_freeze_new_data", "r03_merge"):  # round 1 from scratch, offline
        assert (tryout / round_id / "train" / "weights" / "best.pt").is_file(), round_id
    assert "model:\n  from: yolov8n.yaml" in (tryout / "r01_base" / "params.resolved.yaml").read_text(encoding="utf-8")
    merged = yaml.safe_load(next((tryout / "datasets").glob("classroom_v1+classroom_v2-*/data.yaml")).read_text())
    assert merged["names"] == ["student", "desk", "late"]  # by name, in the first export's order
    prediction = tryout / "p01_video"
    assert (prediction / "detections.json").is_file() and (prediction / "counts.csv").is_file()
    assert (tryout / "r03_merge" / "export" / "best.onnx").is_file()
    board = said["compare --profile tryout"]
    assert "count err" in board and "IDF1" in board and "AP50 late" in board, board  # section 7's columns
