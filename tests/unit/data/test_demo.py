"""demo_data: a deterministic Roboflow-shaped export, with a rare class, small and fast."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import cv2
import yaml

from yolo_workbook.data.dataset import count_dataset
from yolo_workbook.data.demo import CLASS_NAMES, write_demo_data


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".mp4"):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_roboflow_layout_and_data_yaml(tmp_path):
    written = write_demo_data(tmp_path, size="ci")
    export = written["first"].parent
    for split in ("train", "valid", "test"):
        assert (export / split / "images").is_dir() and (export / split / "labels").is_dir()
    assert (export / "README.dataset.txt").is_file() and (export / "README.roboflow.txt").is_file()
    data = yaml.safe_load(written["first"].read_text())
    assert data["train"] == "../train/images" and data["val"] == "../valid/images" and data["test"] == "../test/images"
    assert data["nc"] == len(data["names"]) == 3
    assert set(data["roboflow"]) >= {"workspace", "project", "version", "license", "url"}
    image = next((export / "train" / "images").glob("*.jpg"))
    assert "_jpg.rf." in image.name
    assert (export / "train" / "labels" / f"{image.stem}.txt").is_file()


def test_same_seed_writes_identical_files(tmp_path):
    write_demo_data(tmp_path / "a", size="ci")
    write_demo_data(tmp_path / "b", size="ci")
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")


def test_demo_size_is_fast_small_and_has_a_rare_class(tmp_path):
    started = time.time()
    written = write_demo_data(tmp_path, size="demo")
    assert time.time() - started < 30
    size = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert size < 20 * 2**20, f"{size / 2**20:.1f} MB"
    capture = cv2.VideoCapture(str(written["video"]))
    geometry = [
        int(capture.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT)
    ]
    capture.release()
    assert geometry == [240, 320, 192]  # the demo video: 24 s at 10 fps, the demo detectors' object sizes
    for key in ("first", "second"):
        counts = count_dataset(written[key])
        boxes = {n: sum(counts["splits"][s]["per_class"][n]["boxes"] for s in counts["splits"]) for n in CLASS_NAMES}
        share = boxes["sitae"] / sum(boxes.values())
        assert 0.06 < share < 0.14, (key, boxes)
        assert counts["splits"]["train"]["images"] > counts["splits"]["val"]["images"] > 0


def test_second_dataset_looks_different(tmp_path):
    written = write_demo_data(tmp_path, size="ci")
    means = []
    for key in ("first", "second"):
        images = sorted((written[key].parent / "train" / "images").glob("*.jpg"))
        means.append(sum(float(cv2.imread(str(p)).mean()) for p in images) / len(images))
    assert means[0] - means[1] > 40  # the new data is clearly darker


def test_demo_video_is_the_classroom_scene_with_its_truth(tmp_path):
    written = write_demo_data(tmp_path, size="ci")
    assert sorted(written) == ["first", "second", "truth", "tuning_clip", "tuning_truth", "video"]
    # the tuning clip is another room: other pictures and another truth than the scored video's
    assert written["tuning_truth"] == tmp_path / "tuning_clip.truth"
    assert written["tuning_clip"].read_bytes() != written["video"].read_bytes()
    tuning_gt = (written["tuning_truth"] / "gt" / "gt.txt").read_text()
    assert tuning_gt != (written["truth"] / "gt" / "gt.txt").read_text()
    capture = cv2.VideoCapture(str(written["video"]))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    assert frames == 40 and round(fps) == 10
    assert written["truth"] == tmp_path / "classroom_video.truth"
    assert {p.relative_to(written["truth"]).as_posix() for p in written["truth"].rglob("*.*")} == {
        "classes.txt",
        "counts.csv",
        "gt/gt.txt",
        "seqinfo.ini",
    }
