"""labelcache: what ultralytics left out of a training, read from its own label caches, into the round's record."""

from __future__ import annotations

import shutil
from pathlib import Path

import jsonschema
import pytest

from yolo_workbook.config import params
from yolo_workbook.training import labelcache, metrics


def _broken_copy(ci_data: dict[str, Path], tmp_path: Path) -> Path:
    """The ci export (24 train images) with three training images that ultralytics refuses."""
    folder = shutil.copytree(ci_data["first"].parent, tmp_path / "export", ignore=shutil.ignore_patterns("*.cache"))
    labels = sorted((folder / "train" / "labels").glob("*.txt"))
    labels[0].write_text("7 0.5 0.5 0.2 0.2\n", encoding="utf-8")  # class id 7 of 3 classes
    labels[1].write_text("0 1.5 0.5 0.2 0.2\n", encoding="utf-8")  # a centre outside the image
    image = sorted((folder / "train" / "images").glob("*.jpg"))[2]
    image.write_bytes(b"not an image")
    return folder / "data.yaml"


def _scan(data_yaml: Path, split: str) -> None:
    """ultralytics' own first label scan of a split, as its trainer builds the dataset (writes labels.cache)."""
    from ultralytics.data.dataset import YOLODataset

    names = {0: "student", 1: "desk", 2: "sitae"}
    folder = data_yaml.parent / split / "images"
    data = {"names": names, "nc": 3, "channels": 3}
    YOLODataset(img_path=str(folder), imgsz=64, augment=False, data=data, task="detect")


def test_the_images_ultralytics_dropped_are_read_from_its_label_cache(ci_data, tmp_path):
    data_yaml = _broken_copy(ci_data, tmp_path)
    assert labelcache.data_dropped(data_yaml) is None  # nothing scanned yet: nothing known
    _scan(data_yaml, "train")
    _scan(data_yaml, "valid")
    dropped = labelcache.data_dropped(data_yaml)
    assert set(dropped) == {"train", "val"}
    assert dropped["val"] == {"images": 0, "of": 8, "reasons": []}
    assert dropped["train"]["images"] == 3 and dropped["train"]["of"] == 24
    reasons = dropped["train"]["reasons"]
    assert len(reasons) == 3 and all("ignoring corrupt image/label" in reason for reason in reasons)
    assert not any(reason.startswith(("train:", "\x1b")) for reason in reasons)  # the coloured prefix is gone
    assert "frame_1_train_0000_jpg" in " ".join(reasons) and "frame_1_train_0002_jpg" in " ".join(reasons)
    assert labelcache.dropped_lines(dropped) == [
        f"ultralytics left out 3 of 24 train images, e.g. {reasons[0]}"
    ]  # val dropped nothing: no line


def test_a_label_cache_of_other_images_is_not_read_as_this_datas(ci_data, tmp_path):
    data_yaml = _broken_copy(ci_data, tmp_path)
    _scan(data_yaml, "train")
    images = data_yaml.parent / "train" / "images"
    shutil.copy(sorted(images.glob("*.jpg"))[5], images / "zz_added_since.jpg")  # 25 images now; the cache has 24
    assert labelcache.data_dropped(data_yaml) is None


@pytest.mark.parametrize("status", ["ok", "failed"])
def test_the_record_says_what_ultralytics_dropped(status, ci_data, outputs, tmp_path):
    data_yaml = _broken_copy(ci_data, tmp_path)
    _scan(data_yaml, "train")
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    record = metrics.build_record(
        rnd, trainer=None, train_dir=tmp_path / "train", start_weights="yolov8n.yaml", data_yaml=data_yaml,
        wall_seconds=1.0, status=status, fingerprint="sha256:0",
    )  # fmt: skip
    assert record["data_dropped"]["train"]["images"] == 3 and "val" not in record["data_dropped"]
    jsonschema.validate(record, metrics.schema())
    started = metrics.build_record(
        rnd, trainer=None, train_dir=tmp_path / "train", start_weights="yolov8n.yaml", data_yaml=data_yaml,
        wall_seconds=0.0, status="interrupted", fingerprint="sha256:0",
    )  # fmt: skip
    assert "data_dropped" not in started  # before training: what ultralytics will drop is not known yet
