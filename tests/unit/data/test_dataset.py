"""dataset: resolving data.yaml like ultralytics, counting, combining; negative tests."""

from __future__ import annotations

import pytest
import yaml

from yolo_workbook.core.errors import DatasetError
from yolo_workbook.data import dataset


def test_roboflow_relative_paths_resolve_without_the_leading_dotdot(ci_data):
    splits = dataset.resolve_splits(ci_data["first"])
    assert splits["train"] == [ci_data["first"].parent / "train" / "images"]
    assert splits["val"] == [ci_data["first"].parent / "valid" / "images"]


def test_path_key_and_txt_lists(tmp_path, ci_data):
    export = ci_data["first"].parent
    images = sorted((export / "train" / "images").glob("*.jpg"))[:5]
    listing = tmp_path / "train.txt"
    listing.write_text("\n".join(str(p) for p in images))
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text(
        yaml.safe_dump({"path": str(export), "train": str(listing), "val": "valid/images", "names": ["a", "b", "c"]})
    )
    counts = dataset.count_dataset(data_yaml)
    assert counts["splits"]["train"]["images"] == 5
    assert counts["splits"]["val"]["images"] == 8


def test_counts_per_split_and_class(ci_data):
    counts = dataset.count_dataset(ci_data["first"])
    assert counts["names"] == ["student", "desk", "sitae"]
    train = counts["splits"]["train"]
    assert train["images"] == 24
    label_lines = sum(
        len(p.read_text().splitlines()) for p in (ci_data["first"].parent / "train" / "labels").glob("*.txt")
    )
    assert train["boxes"] == label_lines == sum(c["boxes"] for c in train["per_class"].values())


def test_missing_data_yaml_names_the_path(tmp_path):
    with pytest.raises(DatasetError, match=r"(?s)data.yaml not found: .*nowhere/data.yaml \(dataset 'mine'\).*fix"):
        dataset.resolve_splits(tmp_path / "nowhere" / "data.yaml", dataset="mine")


def test_missing_image_folder_names_the_split(tmp_path):
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text("train: ../train/images\nval: ../valid/images\nnames: [a]\n")
    with pytest.raises(DatasetError, match="train images not found"):
        dataset.resolve_splits(data_yaml)


def test_data_yaml_without_names(tmp_path):
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text("train: x\n")
    with pytest.raises(DatasetError, match="no 'names'"):
        dataset.read_data_yaml(data_yaml)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"names: [a, b\ntrain: x\n", r"data.yaml, line 2 \(dataset 'mine'\): not valid YAML"),
        ("names: [학생]\n".encode("cp949"), r"data.yaml \(dataset 'mine'\): not UTF-8 text"),
    ],
)
def test_a_data_yaml_that_cannot_be_read_names_the_file_the_line_and_the_fix(tmp_path, content, message):
    """read through core.files.read_yaml: a broken or non-UTF-8 data.yaml is a DatasetError, not a traceback."""
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as broken:
        dataset.read_data_yaml(data_yaml, dataset="mine")
    assert broken.value.fix
