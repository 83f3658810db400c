"""merge: classes matched by name, labels rewritten box by box, no copies; oversampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from yolo_workbook.core.errors import DatasetError
from yolo_workbook.data.dataset import label_path, list_images, resolve_splits
from yolo_workbook.data.merge import class_mapping, describe_training_data, merge_datasets, oversample


def _boxes(image: Path, names: list[str]) -> list[tuple[str, str]]:
    label = label_path(image)
    rows = [line.split() for line in label.read_text().splitlines() if line.strip()] if label.is_file() else []
    return sorted((names[int(r[0])], " ".join(r[1:])) for r in rows)


def test_class_mapping_keeps_the_first_order_and_appends():
    names, maps = class_mapping([["a", "b", "c"], ["c", "d", "a"]])
    assert names == ["a", "b", "c", "d"]
    assert maps == [{0: 0, 1: 1, 2: 2}, {0: 2, 1: 3, 2: 0}]


def test_merge_of_different_class_orders_is_correct_box_by_box(tmp_path, ci_data):
    out = merge_datasets([ci_data["first"], ci_data["second"]], tmp_path / "merged", names=["v1", "v2"])
    merged = yaml.safe_load(out.read_text())
    assert merged["names"] == ["student", "desk", "sitae"] and merged["nc"] == 3
    merged_images = {
        split: list_images(Path(path)) for split, path in merged.items() if split in ("train", "val", "test")
    }
    for source in ("first", "second"):
        names = yaml.safe_load(ci_data[source].read_text())["names"]
        for split, entries in resolve_splits(ci_data[source]).items():
            for image in (i for e in entries for i in list_images(e)):
                twin = next(m for m in merged_images[split] if m.name == image.name)
                assert _boxes(twin, merged["names"]) == _boxes(image, names), image.name  # same class by name
                assert twin.resolve() == image.resolve()  # the same file: listed or linked, never copied
    provenance = json.loads((out.parent / "provenance.json").read_text())
    assert provenance["sources"][1]["mapping"] == {"0": 1, "1": 0, "2": 2}
    assert provenance["counts"]["v1"]["train"] == 24 and provenance["counts"]["v2"]["train"] == 16
    assert provenance["image_links"].get("copy", 0) == 0


def test_merge_appends_a_new_class(tmp_path, ci_data):
    other = tmp_path / "other" / "data.yaml"
    source = yaml.safe_load(ci_data["second"].read_text())
    source.update(path=str(ci_data["second"].parent), train="train/images", val="valid/images", test="test/images")
    source["names"] = ["desk", "teacher", "sitae"]
    other.parent.mkdir()
    other.write_text(yaml.safe_dump(source))
    out = merge_datasets([ci_data["first"], other], tmp_path / "merged")
    assert yaml.safe_load(out.read_text())["names"] == ["student", "desk", "sitae", "teacher"]


def test_same_merge_again_is_a_no_op_and_a_different_one_is_refused(tmp_path, ci_data):
    folder = tmp_path / "merged"
    first = merge_datasets([ci_data["first"], ci_data["second"]], folder)
    stamp = first.stat().st_mtime_ns
    assert merge_datasets([ci_data["first"], ci_data["second"]], folder).stat().st_mtime_ns == stamp
    with pytest.raises(DatasetError, match="already holds a different merge"):
        merge_datasets([ci_data["second"], ci_data["first"]], folder)


def test_oversample_reaches_the_target_share_without_touching_the_data(tmp_path, ci_data):
    before = sorted(p.stat().st_mtime_ns for p in ci_data["first"].parent.rglob("*.txt"))
    facts = oversample(ci_data["first"], tmp_path / "data.yaml", classes=["sitae"], target_share=0.18)
    assert facts["share_before"] < 0.15 and 0.18 <= facts["share_after"] < 0.25 and facts["added"] > 0
    listing = (tmp_path / "train_oversampled.txt").read_text().splitlines()
    assert len(listing) == 24 + facts["added"] and len(set(listing)) == 24
    assert sorted(p.stat().st_mtime_ns for p in ci_data["first"].parent.rglob("*.txt")) == before
    with pytest.raises(DatasetError, match="unknown class"):
        oversample(ci_data["first"], tmp_path / "x.yaml", classes=["sitea"], target_share=0.3)
    with pytest.raises(DatasetError, match="cannot reach 90%"):
        oversample(ci_data["first"], tmp_path / "x.yaml", classes=["sitae"], target_share=0.9)
    with pytest.raises(DatasetError, match="between 0 and 1"):
        oversample(ci_data["first"], tmp_path / "x.yaml", classes=["sitae"], target_share=1.5)


def test_describing_training_data_survives_a_data_yaml_broken_since(tmp_path):
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text("train: [a\n", encoding="utf-8")
    record = {"data": {"data_yaml": str(data_yaml), "use": ["v1"]}}
    assert describe_training_data(record) == f"trained on v1: {data_yaml}"
