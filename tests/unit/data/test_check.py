"""datacheck: every planted fault in a broken copy of the demo data is found, none in the clean one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import cli

from yolo_workbook.data.check import check_dataset, dataset_stats, format_report


@pytest.fixture()
def broken(tmp_path: Path, ci_data) -> Path:
    """A copy of the ci demo export with one planted fault per rule."""
    export = tmp_path / "broken.v1i.yolov8"
    shutil.copytree(ci_data["first"].parent, export)
    images = sorted((export / "train" / "images").glob("*.jpg"))
    labels = export / "train" / "labels"
    (labels / f"{images[0].stem}.txt").unlink()  # image without label
    (labels / "orphan_jpg.rf.0.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # label without image
    (labels / f"{images[1].stem}.txt").write_text("0 0.5 0.5 0.1\n")  # 4 fields
    (labels / f"{images[2].stem}.txt").write_text("1 1.2 0.5 0.1 0.1\n")  # outside [0, 1]
    (labels / f"{images[3].stem}.txt").write_text("1 0.5 0.5 0.0 0.1\n")  # zero area
    (labels / f"{images[4].stem}.txt").write_text("0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n")  # class 7 >= nc
    (labels / f"{images[5].stem}.txt").write_text("0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1\n")  # duplicate box
    images[6].write_bytes(images[6].read_bytes()[: len(images[6].read_bytes()) // 2])  # truncated JPEG
    leaked = export / "valid" / "images" / images[7].name
    shutil.copy(images[7], leaked)  # the same image in train and valid
    shutil.copy(labels / f"{images[7].stem}.txt", export / "valid" / "labels" / f"{images[7].stem}.txt")
    for path in (export / "test" / "images").glob("*"):
        path.unlink()  # empty test split
    text = (export / "data.yaml").read_text().replace("nc: 3", "nc: 4")  # nc does not match names
    (export / "data.yaml").write_text(text)
    return export / "data.yaml"


def test_clean_demo_data_has_no_problem(ci_data):
    for key in ("first", "second"):
        report = check_dataset(ci_data[key])
        assert report.ok and report.problems == [], format_report(report)


def test_every_planted_fault_is_found_with_file_and_line(broken):
    report = check_dataset(broken)
    found = {(p.key, p.level) for p in report.problems}
    expected = {
        ("image-without-label", "warning"),
        ("label-without-image", "warning"),
        ("label-format", "error"),
        ("out-of-range", "error"),
        ("zero-area", "error"),
        ("class-id", "error"),
        ("duplicate-box", "warning"),
        ("unreadable-image", "error"),
        ("split-leak", "error"),
        ("test", "warning"),
        ("nc", "error"),
    }
    assert expected <= found, expected - found
    by_key = {p.key: p for p in report.problems}
    assert by_key["class-id"].line == 2 and by_key["class-id"].file.endswith(".txt")
    assert by_key["nc"].line is not None and "names lists 3" in by_key["nc"].message
    assert "truncated" in by_key["unreadable-image"].message or "unreadable" in by_key["unreadable-image"].message
    assert "train: " in by_key["split-leak"].message and "val: " in by_key["split-leak"].message
    assert not report.ok


def test_cli_exit_codes(broken, ci_data):
    bad = cli("data", "check", str(broken))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "error(s)" in bad.stdout
    good = cli("data", "check", str(ci_data["first"]))
    assert good.returncode == 0 and "0 error(s), 0 warning(s)" in good.stdout
    missing = cli("data", "check", "nowhere/data.yaml")
    assert missing.returncode == 1 and "not found" in missing.stdout


# Boxes per split and class in the ci size's first export (seeded: the same on every machine).
CI_FIRST_BOXES = {
    "train": {"student": 29, "desk": 41, "sitae": 7},
    "val": {"student": 18, "desk": 10, "sitae": 3},
    "test": {"student": 7, "desk": 8, "sitae": 4},
}


def test_stats_count_every_box_and_the_imbalance(ci_data):
    report = check_dataset(ci_data["first"])
    stats = dataset_stats(report)
    lines = sum(
        len(p.read_text().splitlines())
        for s in ("train", "valid", "test")
        for p in (ci_data["first"].parent / s / "labels").glob("*.txt")
    )
    assert lines == 127 == sum(stats["boxes_per_class"].values())
    assert {s: {n: c["boxes"] for n, c in v["per_class"].items()} for s, v in stats["splits"].items()} == CI_FIRST_BOXES
    assert stats["boxes_per_class"] == {"student": 29 + 18 + 7, "desk": 41 + 10 + 8, "sitae": 7 + 3 + 4}
    assert stats["rarest_class"] == "sitae"
    assert stats["imbalance_ratio"] == 4.21  # desk 59 / sitae 14 = 4.214...
    train = stats["splits"]["train"]
    assert sum(sum(bins.values()) for bins in train["box_sizes"].values()) == sum(
        c["boxes"] for c in train["per_class"].values()
    )
    done = cli("data", "stats", str(ci_data["first"]))
    assert done.returncode == 0 and "imbalance ratio (largest / smallest class): 4.21; rarest: sitae" in done.stdout


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [(b"names: [a, b\ntrain: x\n", 2, "not valid YAML"), ("names: [학생]\n".encode("cp949"), None, "not UTF-8")],
)
def test_a_data_yaml_that_cannot_be_read_is_one_problem_with_its_line(tmp_path, content, line, reason):
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_bytes(content)
    report = check_dataset(data_yaml)
    assert [(p.key, p.line, p.level) for p in report.problems] == [("yaml", line, "error")]
    assert reason in report.problems[0].message and report.problems[0].fix
