"""Deterministic synthetic datasets in the exact layout of a Roboflow "YOLOv8" export.

Two datasets stand in for the founding user's classroom data: a first export (``classroom.v1i``)
and a second, "new data" export (``classroom.v2i``) that is darker, noisier and has smaller
objects, so that the merge round has something real to merge. Three classes, one of them rare
(about 10% of boxes), learnable by YOLOv8n from scratch on a CPU in a few minutes. A classroom
video drawn with the same shapes (:mod:`.shapes`), with its ground truth, comes from
:mod:`.classroom_video`.

Examples:
    >>> from yolo_workbook.data.demo import write_demo_data
    >>> written = write_demo_data("outputs/datasets/demo", size="demo")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo_workbook.data.classroom_video import write_classroom_video
from yolo_workbook.data.shapes import CLASS_NAMES, RARE_CLASS, draw_object


@dataclass(frozen=True)
class DatasetSpec:
    """How one synthetic export looks.

    Attributes:
        name (str): Folder name, Roboflow style (``<project>.v<N>i.yolov8``).
        version (int): The Roboflow version number written into ``data.yaml``.
        splits (dict[str, int]): Images per split (``train``, ``valid``, ``test``).
        background (tuple[int, int]): Range of the background grey level.
        noise (float): Standard deviation of the pixel noise.
        size_range (tuple[float, float]): Object size as a fraction of the image side.
        seed (int): Random seed; the same seed writes byte-identical files.
        names (tuple[str, ...]): Class names in this export's id order (exports differ in order).
    """

    name: str
    version: int
    splits: dict[str, int]
    background: tuple[int, int]
    noise: float
    size_range: tuple[float, float]
    seed: int
    names: tuple[str, ...] = CLASS_NAMES


SIZES: dict[str, dict[str, dict[str, int]]] = {
    # Images per split for each dataset of a size profile.
    "demo": {
        "v1": {"train": 200, "valid": 50, "test": 16},
        "v2": {"train": 120, "valid": 30, "test": 8},
    },
    "ci": {
        "v1": {"train": 24, "valid": 8, "test": 4},
        "v2": {"train": 16, "valid": 6, "test": 2},
    },
}

IMAGE_SIDE = 160  # pixels; Roboflow exports are square after its resize step
TUNING_SEED = 8  # the tuning clip's room: another seed than the scored video's (7), so another layout and schedule
TUNING_FRAMES = {"demo": 60, "ci": 40}  # 6 s and 4 s at 10 fps: enough to choose a threshold per class


def dataset_specs(size: str) -> list[DatasetSpec]:
    """Return the two dataset specs of a size profile (``demo`` or ``ci``)."""
    if size not in SIZES:
        from yolo_workbook.core.errors import WorkbookError

        raise WorkbookError(
            f"unknown demo-data size {size!r}",
            fix=f"use one of: {', '.join(SIZES)}",
        )
    counts = SIZES[size]
    return [
        DatasetSpec("classroom.v1i.yolov8", 1, counts["v1"], (150, 215), 10.0, (0.16, 0.30), 1),
        # The new export lists its classes in another order, as a re-made Roboflow project can:
        # merging the two must match classes by name, not by id.
        DatasetSpec(
            "classroom.v2i.yolov8", 2, counts["v2"], (60, 130), 18.0, (0.12, 0.24), 2, ("desk", "student", "sitae")
        ),
    ]


def _boxes_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def render_image(
    rng: np.random.Generator, spec: DatasetSpec
) -> tuple[np.ndarray, list[tuple[int, float, float, float, float]]]:
    """Draw one image and return it with its YOLO labels ``(cls, cx, cy, w, h)``, normalised."""
    side = IMAGE_SIDE
    level = rng.integers(*spec.background)
    img = np.full((side, side, 3), level, dtype=np.float32)
    img += rng.normal(0, spec.noise, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    labels: list[tuple[int, float, float, float, float]] = []
    placed: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(2, 6))):
        # About 10% of boxes are the rare class; the rest split between the two common ones.
        cls = RARE_CLASS if rng.random() < 0.10 else int(rng.integers(0, 2))
        for _attempt in range(20):
            w = int(side * rng.uniform(*spec.size_range))
            h = int(w * rng.uniform(0.8, 1.25))
            x1 = int(rng.integers(0, side - w))
            y1 = int(rng.integers(0, side - h))
            box = (x1, y1, x1 + w, y1 + h)
            if not any(_boxes_overlap(box, other) for other in placed):
                break
        else:
            continue
        placed.append(box)
        draw_object(img, cls, box, shade=float(rng.uniform(0.8, 1.2)))
        labels.append((cls, (x1 + w / 2) / side, (y1 + h / 2) / side, w / side, h / side))
    return img, labels


def _data_yaml(spec: DatasetSpec) -> str:
    names = ", ".join(f"'{n}'" for n in spec.names)
    return (
        "train: ../train/images\n"
        "val: ../valid/images\n"
        "test: ../test/images\n\n"
        f"nc: {len(spec.names)}\n"
        f"names: [{names}]\n\n"
        "roboflow:\n"
        "  workspace: yolo-workbook\n"
        "  project: classroom\n"
        f"  version: {spec.version}\n"
        "  license: CC BY 4.0\n"
        f"  url: https://universe.roboflow.com/yolo-workbook/classroom/dataset/{spec.version}\n"
    )


def write_dataset(spec: DatasetSpec, root: Path) -> Path:
    """Write one export under ``root / spec.name`` and return its ``data.yaml`` path."""
    import cv2

    out = root / spec.name
    if out.exists():
        shutil.rmtree(out)  # generated data only: this folder holds nothing but our own output
    rng = np.random.default_rng(spec.seed)
    for split, count in spec.splits.items():
        (out / split / "images").mkdir(parents=True)
        (out / split / "labels").mkdir(parents=True)
        for index in range(count):
            img, labels = render_image(rng, spec)
            ok, encoded = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok, "OpenCV could not encode a JPEG"
            data = encoded.tobytes()
            stem = f"frame_{spec.version}_{split}_{index:04d}_jpg.rf.{hashlib.md5(data).hexdigest()}"
            (out / split / "images" / f"{stem}.jpg").write_bytes(data)
            ids = [spec.names.index(CLASS_NAMES[c]) for c, *_ in labels]  # this export's own ids
            lines = [f"{i} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}" for i, (_, cx, cy, w, h) in zip(ids, labels, strict=True)]
            (out / split / "labels" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    (out / "data.yaml").write_text(_data_yaml(spec), encoding="utf-8")
    (out / "README.dataset.txt").write_text(
        f"# classroom > {spec.name}\nSynthetic demo data written by yolo-workbook.\nProvided under CC BY 4.0.\n",
        encoding="utf-8",
    )
    (out / "README.roboflow.txt").write_text(
        "This dataset imitates a Roboflow export (YOLOv8 format) so that the workbook can run "
        "without network access. Nothing in it comes from Roboflow.\n",
        encoding="utf-8",
    )
    return out / "data.yaml"


def write_demo_data(root: str | Path, *, size: str = "demo") -> dict[str, Path]:
    """Write both demo datasets and a classroom video with its ground truth under ``root``.

    Args:
        root (str | Path): Folder to write into (created if missing).
        size (str): ``demo`` (CPU training scale) or ``ci`` (tiny, for tests).

    Returns:
        (dict[str, Path]): ``first`` and ``second`` data.yaml paths, the ``video`` path and its
        ground-truth folder ``truth`` (see :mod:`yolo_workbook.data.classroom_video`), and a second, shorter
        classroom of another seed and layout: ``tuning_clip`` and ``tuning_truth``, where operating points are
        chosen (never on ``video``, where they are reported).

    Examples:
        >>> paths = write_demo_data("/tmp/demo", size="ci")  # doctest: +SKIP
        >>> sorted(paths)
        ['first', 'second', 'truth', 'tuning_clip', 'tuning_truth', 'video']
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    first_spec, second_spec = dataset_specs(size)
    first = write_dataset(first_spec, root)
    second = write_dataset(second_spec, root)
    written = write_classroom_video(root / "classroom_video.mp4", size=size)
    # Another room (seed, layout, schedule): operating points are chosen on it and reported on the video above.
    tuning = write_classroom_video(root / "tuning_clip.mp4", size=size, frames=TUNING_FRAMES[size], seed=TUNING_SEED)
    return {
        "first": first,
        "second": second,
        "video": written.video,
        "truth": written.truth,
        "tuning_clip": tuning.video,
        "tuning_truth": tuning.truth,
    }
