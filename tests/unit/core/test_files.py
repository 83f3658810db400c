"""records: every JSON and YAML the workbook writes is complete or absent, never partial (README, "When things go
wrong"). The shared writer ``write_atomic`` (and ``write_json`` on it) and the streaming
``predict.write_json_array_from_lines`` write a temporary file, fsync it and rename it over the target."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yolo_workbook.core import files
from yolo_workbook.prediction import predict


def _content(version: int) -> list[dict]:
    return [{"frame_id": i, "version": version, "label": "학생"} for i in range(200)]


def _write(writer: str, target: Path, value: list[dict]) -> None:
    """Write ``value`` to ``target`` with one of the workbook's writers."""
    if writer == "write_atomic":
        files.write_atomic(target, json.dumps(value, ensure_ascii=False))
    elif writer == "write_json":
        files.write_json(target, value)
    else:  # the JSON Lines a prediction streams, turned into one array
        lines = target.parent.parent / "detections.jsonl"
        lines.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in value), encoding="utf-8")
        predict.write_json_array_from_lines(lines, target)


WRITERS = ["write_atomic", "write_json", "write_json_array_from_lines"]


@pytest.mark.parametrize("before", ["old", "absent"])
@pytest.mark.parametrize("step", ["fsync", "replace"])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_that_fails_before_its_rename_leaves_the_old_file_or_none(writer, step, before, tmp_path, monkeypatch):
    target = tmp_path / "round" / "metrics.json"
    target.parent.mkdir()
    if before == "old":
        _write(writer, target, _content(1))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(os, step, disk_full)
        _write(writer, target, _content(2))
    if before == "old":
        assert json.loads(target.read_text(encoding="utf-8")) == _content(1)
    assert sorted(p.name for p in target.parent.iterdir()) == (["metrics.json"] if before == "old" else [])


def test_a_stream_that_breaks_halfway_leaves_the_old_array(tmp_path):
    target = tmp_path / "round" / "detections.json"
    target.parent.mkdir()
    _write("write_json_array_from_lines", target, _content(1))
    lines = tmp_path / "detections.jsonl"
    good = "".join(json.dumps(item) + "\n" for item in _content(2))
    lines.write_bytes(good.encode() * 50 + b'{"frame_id": "\xff"}\n')  # not UTF-8, long after the first lines
    with pytest.raises(UnicodeDecodeError, match="can't decode byte 0xff"):
        predict.write_json_array_from_lines(lines, target)
    assert json.loads(target.read_text(encoding="utf-8")) == _content(1)
    assert [p.name for p in target.parent.iterdir()] == ["detections.json"]


_WRITE_FOREVER = """
import sys
from pathlib import Path

from yolo_workbook.core import files

target, pad = Path(sys.argv[1]), "x" * int(sys.argv[2])
version = 0
while True:
    version += 1
    files.write_json(target, {"version": version, "pad": pad})
    print(version, flush=True)
"""


def test_a_record_killed_while_written_is_the_old_or_the_new_one(tmp_path):
    """kill -9 at random moments of a loop that rewrites a large record: the target always parses, whole."""
    target, pad = tmp_path / "metrics.json", 4_000_000
    files.write_json(target, {"version": 0, "pad": "x" * pad})
    seed = time.time_ns()
    chance = random.Random(seed)
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITE_FOREVER, str(target), str(pad)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout and writer.stdout.readline()  # it has written at least once
        time.sleep(chance.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=30)
        data = json.loads(target.read_text(encoding="utf-8"))  # never cut short
        assert len(data["pad"]) == pad and data["version"] >= 1, f"random seed {seed}"
