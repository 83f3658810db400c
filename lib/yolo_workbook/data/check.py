"""``yolo-workbook data check`` and ``data stats``: a dataset doctor that reads every label and image.

The dataset is resolved the way ultralytics does (``path:``, Roboflow's ``../train/images``,
lists of folders or ``.txt`` image lists). Problems come with file and line; a broken dataset gets
a report, never a traceback. Images are read in a thread pool, as ultralytics' own label scan does.

Examples:
    >>> from yolo_workbook.data.check import check_dataset
    >>> report = check_dataset(Path("outputs/datasets/demo/classroom.v1i.yolov8/data.yaml"))  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_workbook.core.files import YamlReadError, read_yaml
from yolo_workbook.core.problems import Problem
from yolo_workbook.core.text import table
from yolo_workbook.data.dataset import (
    IMAGE_SUFFIXES,
    SPLITS,
    LabelLineError,
    label_path,
    list_images,
    parse_label_line,
    read_label_lines,
    resolve_entry,
)

MAX_PER_RULE = 25  # printed per rule; the counts always cover everything
SIZE_BINS = (0.05, 0.1, 0.2, 0.4)  # box side sqrt(w*h) as a fraction of the image side


@dataclass
class ImageFacts:
    """What one image and its label file say."""

    split: str
    image: Path
    label: Path
    digest: str = ""
    readable: str = ""  # "" when fine, else why not
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    has_label: bool = False


@dataclass
class DataReport:
    """Everything ``data check`` found, and the counts ``data stats`` needs."""

    data_yaml: Path
    names: list[str]
    problems: list[Problem]
    images: list[ImageFacts]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.level == "error" for p in self.problems)


def _read_yaml(data_yaml: Path) -> tuple[dict[str, Any], list[Problem]]:
    file = str(data_yaml)
    if not data_yaml.is_file():
        return {}, [Problem("error", file, None, "data.yaml", "not found", "check the path to the export's data.yaml")]
    try:
        data = read_yaml(data_yaml).data
    except YamlReadError as exc:
        return {}, [Problem("error", file, exc.line, "yaml", exc.reason, exc.fix)]
    if not isinstance(data, dict):
        return {}, [Problem("error", file, 1, "yaml", "not a mapping of keys", "write 'names:', 'train:', 'val:'")]
    return data, []


def _yaml_line(data_yaml: Path, key: str) -> int | None:
    for number, line in enumerate(data_yaml.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return None


def _names(data: dict[str, Any], data_yaml: Path) -> tuple[list[str], list[Problem]]:
    problems: list[Problem] = []
    raw = data.get("names")
    if isinstance(raw, dict):
        names = [str(raw[k]) for k in sorted(raw)]
    elif isinstance(raw, list):
        names = [str(n) for n in raw]
    else:
        problems.append(Problem("error", str(data_yaml), None, "names", "missing", "add names: [class0, class1, ...]"))
        names = []
    if "nc" in data and data["nc"] != len(names):
        problems.append(
            Problem(
                "error",
                str(data_yaml),
                _yaml_line(data_yaml, "nc"),
                "nc",
                f"nc is {data['nc']} but names lists {len(names)} classes",
                f"set nc: {len(names)} (or complete names)",
            )
        )
    return names, problems


def _splits(data: dict[str, Any], data_yaml: Path) -> tuple[dict[str, list[Path]], list[Problem]]:
    root = Path(data["path"]) if data.get("path") else data_yaml.parent
    root = root if root.is_absolute() else (data_yaml.parent / root).resolve()
    splits: dict[str, list[Path]] = {}
    problems: list[Problem] = []
    for split in SPLITS:
        value = data.get(split)
        if not value:
            if split != "test":
                problems.append(Problem("error", str(data_yaml), None, split, "no entry", f"add '{split}: <images>'"))
            continue
        entries = []
        for entry in value if isinstance(value, list) else [value]:
            path = resolve_entry(root, str(entry))
            if not path.exists():
                problems.append(
                    Problem(
                        "error",
                        str(data_yaml),
                        _yaml_line(data_yaml, split),
                        split,
                        f"{path} does not exist",
                        "fix the path (Roboflow exports use ../train/images)",
                    )
                )
                continue
            entries.append(path)
        splits[split] = entries
    return splits, problems


def _check_image(facts: ImageFacts, nc: int) -> ImageFacts:
    """Read one image (content hash, readable, JPEG complete) and parse its label file."""
    from PIL import Image

    try:
        data = facts.image.read_bytes()
    except OSError as exc:
        facts.readable = f"cannot be read ({exc.strerror})"
        return facts
    facts.digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        import io

        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        if facts.image.suffix.lower() in (".jpg", ".jpeg") and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
            facts.readable = "truncated JPEG (no end-of-image marker)"
    except Exception as exc:  # PIL raises many kinds for broken files
        facts.readable = f"unreadable image ({type(exc).__name__}: {exc})"
    if not facts.label.is_file():
        return facts
    facts.has_label = True
    seen: set[str] = set()
    for number, text in read_label_lines(facts.label):
        try:
            row = parse_label_line(text, nc=nc)
        except LabelLineError as exc:
            facts.problems.append(Problem("error", str(facts.label), number, exc.key, exc.message, exc.fix))
            continue
        if row is None:
            continue
        if text in seen:
            facts.problems.append(
                Problem(
                    "warning",
                    str(facts.label),
                    number,
                    "duplicate-box",
                    "the same box twice (ultralytics drops the copy)",
                    "remove one",
                )
            )
        seen.add(text)
        facts.boxes.append((row.cls, row.cx, row.cy, row.w, row.h))
    return facts


def _orphan_labels(entries: list[Path], images: set[Path]) -> list[Path]:
    """Label files next to a split's images that no image uses."""
    orphans = []
    for entry in entries:
        if not entry.is_dir():
            continue
        labels_dir = label_path(entry / "x.jpg").parent
        if labels_dir == entry or not labels_dir.is_dir():
            continue
        stems = {p.with_suffix("").name for p in images if p.parent == entry}
        orphans += [p for p in sorted(labels_dir.glob("*.txt")) if p.stem not in stems]
    return orphans


def check_dataset(data_yaml: Path, *, workers: int | None = None) -> DataReport:
    """Read every image and label of a dataset; return all problems and the facts per image."""
    data_yaml = Path(data_yaml).resolve()
    data, problems = _read_yaml(data_yaml)
    if problems:
        return DataReport(data_yaml, [], problems, [])
    names, found = _names(data, data_yaml)
    problems += found
    splits, found = _splits(data, data_yaml)
    problems += found
    jobs: list[ImageFacts] = []
    for split, entries in splits.items():
        split_images = []
        for entry in entries:
            split_images += [p for p in list_images(entry) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not split_images:
            level = "warning" if split == "test" else "error"
            problems.append(
                Problem(
                    level, str(data_yaml), _yaml_line(data_yaml, split), split, f"the {split} split has no images", ""
                )
            )
        jobs += [ImageFacts(split, image, label_path(image)) for image in split_images]
        for orphan in _orphan_labels(entries, set(split_images)):
            problems.append(
                Problem("warning", str(orphan), None, "label-without-image", "no image uses this label file", "")
            )
    threads = workers or min(8, (os.cpu_count() or 1) + 4)
    with ThreadPoolExecutor(threads) as pool:
        images = list(pool.map(lambda f: _check_image(f, len(names)), jobs))
    by_digest: dict[str, list[ImageFacts]] = defaultdict(list)
    for facts in images:
        if facts.readable:
            problems.append(
                Problem("error", str(facts.image), None, "unreadable-image", facts.readable, "re-export it")
            )
        if not facts.has_label:
            problems.append(
                Problem(
                    "warning",
                    str(facts.image),
                    None,
                    "image-without-label",
                    "no label file: trained as background",
                    f"expected {facts.label}",
                )
            )
        problems += facts.problems
        if facts.digest:
            by_digest[facts.digest].append(facts)
    for group in by_digest.values():
        if len({f.split for f in group}) > 1:
            where = ", ".join(f"{f.split}: {f.image.name}" for f in group)
            problems.append(
                Problem(
                    "error",
                    str(group[0].image),
                    None,
                    "split-leak",
                    f"the same image is in several splits ({where})",
                    "keep it in one split: validation on training images overstates the results",
                )
            )
    return DataReport(data_yaml, names, problems, images)


def training_errors(report: DataReport) -> list[Problem]:
    """The errors of a check that training meets: all but those of the test split, which training does not read.

    ultralytics leaves out an image whose label or file it refuses, with one log line: these errors are
    why a round refuses to train (:func:`yolo_workbook.training.train.check_round`).
    """
    test_files = {str(path) for facts in report.images if facts.split == "test" for path in (facts.image, facts.label)}
    return [p for p in report.problems if p.level == "error" and p.key != "test" and p.file not in test_files]


def format_report(report: DataReport, *, limit: int = MAX_PER_RULE) -> str:
    """The problems, at most ``limit`` per rule, then counts per rule and a summary line."""
    shown: Counter[str] = Counter()
    lines = []
    for problem in report.problems:
        shown[problem.key] += 1
        if shown[problem.key] <= limit:
            lines.append(str(problem))
    for key, count in sorted(shown.items()):
        if count > limit:
            lines.append(f"... {count - limit} more '{key}' (all: --all)")
    errors = sum(p.level == "error" for p in report.problems)
    warnings = len(report.problems) - errors
    per_rule = ", ".join(f"{k} {v}" for k, v in sorted(shown.items()))
    lines.append(
        f"{report.data_yaml}: {len(report.images)} images, {errors} error(s), {warnings} warning(s)"
        + (f" [{per_rule}]" if per_rule else "")
    )
    return "\n".join(lines)


def dataset_stats(report: DataReport) -> dict[str, Any]:
    """Per split and class: boxes and images; imbalance ratio; box size distribution (JSON-ready)."""
    names = report.names
    bins = [f"<{SIZE_BINS[0]}"] + [f"{a}-{b}" for a, b in zip(SIZE_BINS, SIZE_BINS[1:], strict=False)]
    bins.append(f">={SIZE_BINS[-1]}")
    splits: dict[str, Any] = {}
    for facts in report.images:
        split = splits.setdefault(
            facts.split,
            {
                "images": 0,
                "backgrounds": 0,
                "per_class": {n: {"boxes": 0, "images": 0} for n in names},
                "box_sizes": {n: dict.fromkeys(bins, 0) for n in names},
            },
        )
        split["images"] += 1
        if not facts.boxes:
            split["backgrounds"] += 1
        for cls in {b[0] for b in facts.boxes}:
            split["per_class"][names[cls]]["images"] += 1
        for cls, _, _, w, h in facts.boxes:
            split["per_class"][names[cls]]["boxes"] += 1
            side = (w * h) ** 0.5
            index = sum(side >= edge for edge in SIZE_BINS)
            split["box_sizes"][names[cls]][bins[index]] += 1
    totals = {n: sum(s["per_class"][n]["boxes"] for s in splits.values()) for n in names}
    present = [v for v in totals.values() if v > 0]
    return {
        "data_yaml": str(report.data_yaml),
        "names": names,
        "splits": splits,
        "boxes_per_class": totals,
        "share_per_class": {n: round(v / (sum(totals.values()) or 1), 4) for n, v in totals.items()},
        "imbalance_ratio": round(max(present) / min(present), 2) if present else None,
        "rarest_class": min(totals, key=totals.get) if totals else None,
        "size_bins": bins,
    }


def format_stats(stats: dict[str, Any]) -> str:
    """Boxes per split and class with each class's share, then the imbalance ratio."""
    splits = list(stats["splits"])
    rows = [["class", *(f"{s} boxes" for s in splits), "share"]]
    for name in stats["names"]:
        boxes = [str(stats["splits"][s]["per_class"][name]["boxes"]) for s in splits]
        rows.append([name, *boxes, f"{stats['share_per_class'][name]:.1%}"])
    rows.append(["images", *(str(stats["splits"][s]["images"]) for s in splits)])
    lines = [table(rows, align="<" + ">" * (len(splits) + 1), minimum=[16, *[14] * len(splits), 8])]
    ratio = stats["imbalance_ratio"]
    lines.append(f"imbalance ratio (largest / smallest class): {ratio}; rarest: {stats['rarest_class']}")
    return "\n".join(lines)


def check_round_datasets(rnd: Any) -> dict[str, DataReport]:
    """Check every dataset a round knows (its ``datasets:`` section), by name (notebook 01)."""
    from yolo_workbook.core.paths import project_path

    return {name: check_dataset(project_path(path)) for name, path in rnd.datasets.items()}


def stats_by_dataset(reports: dict[str, DataReport]) -> dict[str, dict[str, Any]]:
    """``dataset_stats`` of every readable dataset, by name."""
    return {name: dataset_stats(report) for name, report in reports.items() if report.images}


def format_reports(reports: dict[str, DataReport]) -> str:
    """Each dataset's check, then its stats table."""
    parts = []
    for name, report in reports.items():
        parts.append(f"== {name}\n{format_report(report, limit=5)}")
        if report.images:
            parts.append(format_stats(dataset_stats(report)))
    return "\n".join(parts)
