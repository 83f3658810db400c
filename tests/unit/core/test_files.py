"""records: every JSON and YAML the workbook writes is complete or absent, never partial (README, "When things go
wrong"). Every writer (``write_atomic``, ``write_json`` on it, the streaming
``predict.write_json_array_from_lines``, figures, the resume copy, fonts, the demo video, drafts) goes through
``files.atomic_output``: a temporary file, fsynced, renamed over the target. Every YAML file is read by
``files.read_yaml``."""

from __future__ import annotations

import ast
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
    elif writer == "atomic_output":  # bytes, as the journal writes its figures
        with files.atomic_output(target) as partial:
            partial.write_bytes(json.dumps(value, ensure_ascii=False).encode())
    elif writer == "write_json":
        files.write_json(target, value)
    else:  # the JSON Lines a prediction streams, turned into one array
        lines = target.parent.parent / "detections.jsonl"
        lines.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in value), encoding="utf-8")
        predict.write_json_array_from_lines(lines, target)


WRITERS = ["write_atomic", "write_json", "write_json_array_from_lines", "atomic_output"]


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


def test_atomic_output_fsyncs_the_content_before_the_rename_and_leaves_it_readable(tmp_path, monkeypatch):
    target, calls = tmp_path / "new" / "figure.png", []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(("fsync", os.fstat(fd).st_size)) or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append(("replace", Path(b).name)) or real_replace(a, b))
    with files.atomic_output(target) as partial:
        assert partial.parent == target.parent and partial.name.startswith(".figure.png.")
        assert partial.suffix == ".tmp"  # a glob for *.png never meets a file being written
        partial.write_bytes(b"\x89PNG")
    assert calls == [("fsync", 4), ("replace", "figure.png")]
    assert target.read_bytes() == b"\x89PNG" and target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["figure.png"]


def test_atomic_output_keeps_the_suffix_for_writers_that_choose_the_format_by_name(tmp_path):
    with files.atomic_output(tmp_path / "demo.mp4", keep_suffix=True) as partial:
        assert partial.suffix == ".mp4" and partial.name.startswith(".demo.mp4.")
        partial.write_bytes(b"video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.mp4"]


def test_a_block_that_raises_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "last.resume.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="copy failed"), files.atomic_output(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("copy failed")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["last.resume.pt"]


def test_atomic_output_without_overwrite_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "r09_sgd.yaml"
    with files.atomic_output(target, overwrite=False) as partial:
        partial.write_text("why: first\n")
    with pytest.raises(FileExistsError), files.atomic_output(target, overwrite=False) as partial:
        partial.write_text("why: second\n")
    assert target.read_text() == "why: first\n" and [p.name for p in tmp_path.iterdir()] == ["r09_sgd.yaml"]


def test_the_resume_copy_and_the_font_copy_are_written_through_atomic_output(tmp_path, monkeypatch):
    """Both copy a file that a crash must not leave cut short: a failing copy leaves the old one, no temporary."""
    import shutil
    from types import SimpleNamespace

    from yolo_workbook.core import fonts
    from yolo_workbook.training import train

    def disk_full(source, target):
        Path(target).write_bytes(b"cut sh")
        raise OSError(28, "No space left on device")

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "last.pt").write_bytes(b"epoch 2")
    train.keep_resume_copy(SimpleNamespace(last=str(weights / "last.pt")))
    assert (weights / "last.resume.pt").read_bytes() == b"epoch 2"
    (weights / "last.pt").write_bytes(b"epoch 3")
    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space"):
        patch.setattr(shutil, "copyfile", disk_full)
        train.keep_resume_copy(SimpleNamespace(last=str(weights / "last.pt")))
    assert (weights / "last.resume.pt").read_bytes() == b"epoch 2"
    assert sorted(p.name for p in weights.iterdir()) == ["last.pt", "last.resume.pt"]

    import ultralytics.utils

    monkeypatch.setattr(ultralytics.utils, "USER_CONFIG_DIR", tmp_path / "Ultralytics")
    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(OSError, match="No space"):
        fonts.setup_ultralytics(["학생"])
    assert not (tmp_path / "Ultralytics").exists() or not list((tmp_path / "Ultralytics").iterdir())


def test_parse_yaml_reads_a_typed_value_and_names_the_line_of_an_error(tmp_path):
    assert files.parse_yaml("0.005").data == 0.005 and files.parse_yaml("[1, 2]").data == [1, 2]
    assert files.parse_yaml("").data is None and files.parse_yaml("~").data is None  # a value, not a file
    with pytest.raises(files.YamlReadError) as broken:
        files.parse_yaml("a: 1\nb: [1, 2\n")
    assert broken.value.line == 3 and "not valid YAML" in broken.value.reason and broken.value.fix
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert files.read_yaml(empty).data == {}  # a file: an empty one is an empty mapping
    cp949 = tmp_path / "data.yaml"
    cp949.write_bytes("names: [학생]\n".encode("cp949"))
    with pytest.raises(files.YamlReadError, match="not UTF-8"):
        files.read_yaml(cp949)


def _calls(path: Path) -> list[tuple[int, str]]:
    """``module.function`` and ``.method`` calls of a source file, with their lines and argument counts."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            found.append((node.lineno, f"{owner}.{node.func.attr}/{len(node.args)}"))
    return found


def test_files_is_the_one_place_that_renames_files_into_place_and_reads_yaml():
    """A rename over a target (``os.replace``, ``Path.replace(target)``), fsync or temporary file is
    ``atomic_output``'s; ``yaml.safe_load`` and friends are ``read_yaml``'s."""
    package = Path(files.__file__).parents[1]
    renames = ("os.replace/", "os.rename/", "os.fsync/", "tempfile.mkstemp/")
    path_renames = (".replace/1", ".rename/1")  # str.replace takes two arguments, Path.replace one
    yaml_reads = ("yaml.safe_load/", "yaml.load/", "yaml.full_load/", "yaml.compose/", "yaml.unsafe_load/")
    found = []
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if name == "core/files.py":
            continue
        for line, call in _calls(path):
            if call.startswith(renames) or (call.endswith(path_renames) and not call.startswith("dataclasses.")):
                found.append(f"{name}:{line}: {call} (use files.atomic_output)")
            if call.startswith(yaml_reads):
                found.append(f"{name}:{line}: {call} (use files.read_yaml)")
    assert not found, "\n".join(found)
