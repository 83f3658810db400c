"""labels: one rule for every label line the workbook reads, the rule ultralytics trains by.

``data check`` reports a line, ``data stats`` / the record's counts / oversampling leave it out, and
``data merge`` refuses it, all by :func:`dataset.parse_label_line`: a class written ``1.0`` is class
1 everywhere; ``1.5``, ``-1`` and ``x`` are refused everywhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from yolo_workbook.core.errors import DatasetError
from yolo_workbook.data import dataset
from yolo_workbook.data.check import check_dataset, dataset_stats
from yolo_workbook.data.merge import merge_datasets, oversample

NC = 3
# (line, taken by training, the rule that refuses it)
LINES = [
    ("1 0.5 0.5 0.2 0.1", True, ""),
    ("1.0 0.5 0.5 0.2 0.1", True, ""),
    ("1e0 0.5 0.5 0.2 0.1", True, ""),
    ("1 1.005 0.5 0.2 0.1", True, ""),  # ultralytics' 1% tolerance
    ("1 -0.005 0.5 0.2 0.1", True, ""),
    ("2 0.1 0.1 0.3 0.1 0.3 0.3", True, ""),  # a polygon of three points
    ("1.5 0.5 0.5 0.2 0.1", False, "class-id"),
    ("-1 0.5 0.5 0.2 0.1", False, "class-id"),
    ("3 0.5 0.5 0.2 0.1", False, "class-id"),  # not below nc
    ("x 0.5 0.5 0.2 0.1", False, "label-format"),
    ("1 0.5 0.5 nan 0.1", False, "label-format"),
    ("1 0.5 0.5 inf 0.1", False, "label-format"),
    ("1 0.5 0.5 0.2", False, "label-format"),
    ("1 0.5 0.5 0.2 0.1 0.3", False, "label-format"),
    ("2 0.1 0.1 0.3 0.1 0.3 0.3 0.5", False, "label-format"),  # a polygon with half a point
    ("1 1.2 0.5 0.2 0.1", False, "out-of-range"),
    ("1 0.5 0.5 -0.005 0.1", False, "out-of-range"),
]


@pytest.mark.parametrize(("line", "taken", "rule"), LINES)
def test_parse_label_line_takes_what_training_takes(line, taken, rule):
    if taken:
        row = dataset.parse_label_line(line, nc=NC)
        assert row is not None and row.cls == int(float(line.split()[0])) and isinstance(row.cls, int)
    else:
        with pytest.raises(dataset.LabelLineError) as refused:
            dataset.parse_label_line(line, nc=NC)
        assert refused.value.key == rule and refused.value.fix


@pytest.mark.parametrize(("line", "taken", "rule"), LINES)
def test_the_rule_is_the_one_of_ultralytics_verify_image_label(line, taken, rule, ci_data, tmp_path):
    from ultralytics.data.utils import verify_image_label

    image = next((ci_data["first"].parent / "train" / "images").glob("*.jpg"))
    label = tmp_path / "label.txt"
    label.write_text(line + "\n", encoding="utf-8")
    *_, corrupt, message = verify_image_label((str(image), str(label), "", False, NC, 0, 0, False))
    assert (corrupt == 0) == taken, message


def test_a_zero_area_box_is_refused_although_ultralytics_takes_it():
    """The one place the workbook is stricter: such a box teaches nothing, and data check flags it."""
    with pytest.raises(dataset.LabelLineError, match="zero area"):
        dataset.parse_label_line("1 0.5 0.5 0.0 0.1", nc=NC)


def test_label_files_are_read_as_ultralytics_reads_them(tmp_path):
    label = tmp_path / "a.txt"
    # A byte-order mark, blank lines, a line that is not UTF-8:
    label.write_bytes("\ufeff1 0.5 0.5 0.2 0.1\n\n  \n0 0.5 0.5 0.1 0.1\n".encode() + b"\xff\n")
    assert dataset.read_label_lines(label) == [(1, "1 0.5 0.5 0.2 0.1"), (4, "0 0.5 0.5 0.1 0.1"), (5, "\ufffd")]
    assert dataset.label_classes(label, nc=NC) == [1, 0]
    assert dataset.read_label_lines(tmp_path / "missing.txt") == []


def _planted(tmp_path: Path, ci_data, line: str) -> tuple[Path, Path, int]:
    """A copy of the ci first export with ``line`` added to one training label: (data.yaml, label, line number)."""
    export = tmp_path / "planted.v1i.yolov8"
    shutil.copytree(ci_data["first"].parent, export)
    label = sorted((export / "train" / "labels").glob("*.txt"))[0]
    lines = label.read_text(encoding="utf-8").splitlines()
    label.write_text("\n".join([*lines, line]) + "\n", encoding="utf-8")
    return export / "data.yaml", label, len(lines) + 1


def _train_boxes(data_yaml: Path) -> dict[str, dict[str, int]]:
    """Training boxes per class, as data stats, the record's counts and oversampling see them."""
    stats = dataset_stats(check_dataset(data_yaml))["splits"]["train"]["per_class"]
    counts = dataset.count_dataset(data_yaml)["splits"]["train"]["per_class"]
    facts = oversample(data_yaml, data_yaml.with_name("over.yaml"), classes=["sitae"], target_share=0.18)
    return {
        "stats": {name: entry["boxes"] for name, entry in stats.items()},
        "counts": {name: entry["boxes"] for name, entry in counts.items()},
        "oversample": {"sitae share": facts["share_before"]},
    }


@pytest.fixture(scope="module")
def clean_boxes(ci_data, tmp_path_factory) -> dict[str, dict[str, int]]:
    return _train_boxes(_planted(tmp_path_factory.mktemp("clean"), ci_data, "")[0])


def test_a_class_written_1_0_is_class_1_in_check_stats_and_merge(tmp_path, ci_data, clean_boxes):
    data_yaml, label, _ = _planted(tmp_path, ci_data, "1.0 0.5 0.5 0.2 0.1")
    report = check_dataset(data_yaml)
    assert report.ok and not [p for p in report.problems if p.file == str(label)]
    boxes = _train_boxes(data_yaml)
    for view in ("stats", "counts"):
        assert boxes[view] == {**clean_boxes[view], "desk": clean_boxes[view]["desk"] + 1}, view
    assert boxes["oversample"]["sitae share"] < clean_boxes["oversample"]["sitae share"]  # one more box in all
    # The second export orders its classes otherwise, so this one's labels are rewritten: ids as integers.
    merged = merge_datasets([ci_data["second"], data_yaml], tmp_path / "merged", names=["v2", "planted"])
    rewritten = merged.parent / "planted" / "train" / "labels" / label.name
    last = rewritten.read_text(encoding="utf-8").splitlines()[-1]
    assert last == "0 0.5 0.5 0.2 0.1"  # desk is class 0 of the second export


@pytest.mark.parametrize(("line", "rule"), [("1.5 0.5 0.5 0.2 0.1", "class-id"), ("-1 0.5 0.5 0.2 0.1", "class-id"),
                                            ("x 0.5 0.5 0.2 0.1", "label-format")])  # fmt: skip
@pytest.mark.parametrize("merge_order", ["listed as is", "rewritten"])
def test_a_refused_line_is_refused_by_check_stats_and_merge(line, rule, merge_order, tmp_path, ci_data, clean_boxes):
    data_yaml, label, number = _planted(tmp_path, ci_data, line)
    report = check_dataset(data_yaml)
    found = [p for p in report.problems if p.file == str(label)]
    assert [(p.key, p.line, p.level) for p in found] == [(rule, number, "error")]
    assert _train_boxes(data_yaml) == clean_boxes  # left out of every count
    sources = [data_yaml, ci_data["second"]] if merge_order == "listed as is" else [ci_data["second"], data_yaml]
    out = tmp_path / "merged"
    with pytest.raises(DatasetError, match=rf"(?s){label.name}, line {number}: .*nothing was merged.*data check"):
        merge_datasets(sources, out)
    assert not out.exists()  # checked before anything was written: no half merge in the way of the next try
