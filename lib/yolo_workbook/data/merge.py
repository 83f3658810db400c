"""``yolo-workbook data merge``: several exports as one dataset, classes matched by name.

The first dataset's class order is kept and new classes are appended. Images are never copied:
a source whose ids do not change is listed as is (image lists), a remapped source gets links to
its images (symlink, else hardlink; a copy only where neither works) beside rewritten labels.
``provenance.json`` records the sources, the class mapping and the counts; running the same merge
again is a no-op, and a folder holding a different merge is refused.

Also here: rare-class oversampling, a training image list that repeats the images containing
chosen classes until those reach a target share of the boxes (the original data untouched).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.core import locks, paths
from yolo_workbook.core.errors import DatasetError
from yolo_workbook.core.files import YamlReadError, read_yaml, write_atomic, write_json
from yolo_workbook.data.dataset import (
    SPLITS,
    LabelLineError,
    class_names,
    label_classes,
    label_path,
    list_images,
    parse_label_line,
    read_data_yaml,
    read_label_lines,
    resolve_splits,
)

PROVENANCE = "provenance.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def class_mapping(name_lists: list[list[str]]) -> tuple[list[str], list[dict[int, int]]]:
    """Merged class names (first order kept, new ones appended) and each source's old -> new ids."""
    merged: list[str] = []
    for names in name_lists:
        merged += [n for n in names if n not in merged]
    return merged, [{old: merged.index(name) for old, name in enumerate(names)} for names in name_lists]


def _link(source: Path, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    for how, make in (("symlink", os.symlink), ("hardlink", os.link)):
        try:
            make(source, target)
            return how
        except OSError:
            continue
    shutil.copy2(source, target)  # neither link works here (e.g. Windows without privileges, other volume)
    return "copy"


def _checked_rows(label: Path, data_yaml: Path, nc: int) -> list[tuple[int, list[str]]]:
    """Each box of a label file as (class, fields), by the one label rule; a line training refuses stops the merge."""
    rows = []
    for number, text in read_label_lines(label):
        try:
            row = parse_label_line(text, nc=nc)
        except LabelLineError as exc:
            raise DatasetError(
                f"{label}, line {number}: {exc.message}; nothing was merged",
                fix=f"{exc.fix} ('yolo-workbook data check {data_yaml}' lists every such line)",
            ) from None
        if row is not None:
            rows.append((row.cls, text.split()))
    return rows


def _write_label(target: Path, rows: list[tuple[int, list[str]]], mapping: dict[int, int]) -> int:
    """The label with each class id mapped (written as an integer: ``1.0`` becomes ``1``); the rest as written."""
    lines = [" ".join([str(mapping[cls]), *fields[1:]]) for cls, fields in rows]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(lines)


def merged_dir(profile_dir: Path, data_yamls: list[Path], names: list[str]) -> Path:
    """Where a round's merge of these sources lives: shared by rounds, one folder per content."""
    digest = hashlib.sha256(b"".join(_sha256(p).encode() for p in data_yamls)).hexdigest()[:10]
    return profile_dir / "datasets" / f"{'+'.join(names)}-{digest}"


def merge_datasets(data_yamls: list[Path], out_dir: Path, *, names: list[str] | None = None) -> Path:
    """Merge exports into ``out_dir``; return its ``data.yaml``.

    Args:
        data_yamls (list[Path]): The exports' data.yaml files, the first one's class order kept.
        out_dir (Path): Folder for the merged dataset (lists, links, rewritten labels, data.yaml).
        names (list[str] | None): Names of the sources for the provenance (default: folder names).

    Returns:
        (Path): The merged data.yaml.
    """
    data_yamls = [Path(p).resolve() for p in data_yamls]
    names = names or [p.parent.name for p in data_yamls]
    # Two rounds merging the same exports at once: the second waits, then finds the merge done.
    with locks.hold(out_dir, what=f"the merge in {out_dir}", fix="wait for the other merge to end", wait=600):
        return _merge_locked(data_yamls, out_dir, names)


def _merge_locked(data_yamls: list[Path], out_dir: Path, names: list[str]) -> Path:
    lists = [class_names(read_data_yaml(p, dataset=n)) for p, n in zip(data_yamls, names, strict=True)]
    merged_names, mappings = class_mapping(lists)
    sources = [
        {"name": n, "data_yaml": str(p), "sha256": _sha256(p), "names": c, "mapping": {str(k): v for k, v in m.items()}}
        for n, p, c, m in zip(names, data_yamls, lists, mappings, strict=True)
    ]
    key = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()
    provenance_path = out_dir / PROVENANCE
    if out_dir.exists() and any(out_dir.iterdir()):
        existing = json.loads(provenance_path.read_text(encoding="utf-8")) if provenance_path.is_file() else None
        if existing and existing.get("key") == key and (out_dir / "data.yaml").is_file():
            return out_dir / "data.yaml"  # the same merge is already there
        what = "a different merge" if existing else "other files"
        raise DatasetError(
            f"{out_dir} already holds {what}; nothing was changed",
            fix="choose another output folder (-o), or move that one away first",
        )
    # Every label is read and checked before anything is written: a refused line leaves no half merge.
    planned = []
    for source, path, mapping in zip(sources, data_yamls, mappings, strict=True):
        for split, entries in resolve_splits(path, dataset=source["name"]).items():
            images = [image for entry in entries for image in list_images(entry)]
            labels = [_checked_rows(label_path(image), path, len(mapping)) for image in images]
            planned.append((source["name"], mapping, split, images, labels))
    counts: dict[str, dict[str, int]] = {}
    split_lists: dict[str, list[str]] = {split: [] for split in SPLITS}
    how_counts: dict[str, int] = {}
    for name, mapping, split, images, labels in planned:
        identity = all(k == v for k, v in mapping.items())
        for image, rows in zip(images, labels, strict=True):
            if identity:  # labels need no change: list the original image
                split_lists[split].append(str(image))
                continue
            target = out_dir / name / split / "images" / image.name
            how = _link(image, target)
            how_counts[how] = how_counts.get(how, 0) + 1
            _write_label(label_path(target), rows, mapping)
            split_lists[split].append(str(target))
        counts.setdefault(name, {})[split] = len(images)
        counts[name][f"{split}_boxes"] = sum(len(rows) for rows in labels)
    content: dict[str, Any] = {}
    for split, images in split_lists.items():
        if images:
            write_atomic(out_dir / f"{split}.txt", "\n".join(images) + "\n")
            content[split] = str(out_dir / f"{split}.txt")
    content.update(nc=len(merged_names), names=merged_names)
    write_json(
        provenance_path,
        {"key": key, "sources": sources, "names": merged_names, "counts": counts, "image_links": how_counts},
    )
    return write_atomic(out_dir / "data.yaml", yaml.safe_dump(content, allow_unicode=True, sort_keys=False))


def oversample(data_yaml: Path, out_yaml: Path, *, classes: list[str], target_share: float) -> dict[str, Any]:
    """Write a data.yaml whose training list repeats images with ``classes`` until they reach ``target_share``.

    The share is of all training boxes; images are repeated whole (their other boxes come along),
    so the result is approximate. Validation and test are unchanged.

    Returns:
        (dict): Share before and after, and how many entries were added.
    """
    if not 0 < target_share < 1:
        raise DatasetError(f"oversample target_share {target_share} must be between 0 and 1", fix="e.g. 0.25")
    data = read_data_yaml(data_yaml)
    names = class_names(data)
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise DatasetError(f"oversample: unknown class(es) {unknown} in {data_yaml}", fix=f"use names from {names}")
    wanted = {names.index(c) for c in classes}
    splits = resolve_splits(data_yaml)
    entries: list[tuple[str, int, int]] = []  # (image, wanted boxes, all boxes)
    for entry in splits["train"]:
        for image in list_images(entry):
            ids = label_classes(label_path(image), nc=len(names))
            entries.append((str(image), sum(i in wanted for i in ids), len(ids)))
    rare = sum(e[1] for e in entries)
    total = sum(e[2] for e in entries)
    carriers = [e for e in entries if e[1]]
    if not carriers:
        raise DatasetError(f"oversample: no training image contains {classes}", fix="check the class names")
    reachable = sum(e[1] for e in carriers) / sum(e[2] for e in carriers)
    if target_share >= reachable:
        raise DatasetError(
            f"oversample: {classes} cannot reach {target_share:.0%} of the training boxes: the images that contain"
            f" them hold only {reachable:.0%} of such boxes, so repeating them approaches {reachable:.0%} at most",
            fix=f"choose a target_share below {reachable:.2f}",
        )
    listing = [e[0] for e in entries]
    added = 0
    while rare / total < target_share:
        for image, rare_boxes, all_boxes in carriers:
            listing.append(image)
            rare, total, added = rare + rare_boxes, total + all_boxes, added + 1
            if rare / total >= target_share:
                break
    out_yaml.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_yaml.with_name("train_oversampled.txt"), "\n".join(listing) + "\n")
    content = {"train": str(out_yaml.with_name("train_oversampled.txt"))}
    content.update({split: [str(p) for p in splits[split]] for split in ("val", "test") if split in splits})
    content.update(nc=len(names), names=names)
    write_atomic(out_yaml, yaml.safe_dump(content, allow_unicode=True, sort_keys=False))
    before = sum(e[1] for e in entries) / (sum(e[2] for e in entries) or 1)
    return {"classes": classes, "share_before": round(before, 4), "share_after": round(rare / total, 4), "added": added}


def planned_data_yaml(rnd: Any) -> Path:
    """The data.yaml a round trains on: its one source, the merge of several, or its oversampled list."""
    sources = rnd.data_paths()
    if rnd.oversample:
        return rnd.output_dir / "data.yaml"
    if len(sources) == 1:
        return sources[0]
    if not all(p.is_file() for p in sources):
        return paths.profile_dir(rnd.profile) / "datasets" / "+".join(rnd.data_use) / "data.yaml"
    return merged_dir(paths.profile_dir(rnd.profile), sources, rnd.data_use) / "data.yaml"


def round_merge(rnd: Any) -> dict[str, Any] | None:
    """What the merge a round trains on did to class ids (:func:`merge_facts` of its folder), or None for one source."""
    sources = rnd.data_paths()
    if len(sources) < 2 or not all(p.is_file() for p in sources):
        return None
    return merge_facts(merged_dir(paths.profile_dir(rnd.profile), sources, rnd.data_use))


def merge_facts(folder: Path) -> dict[str, Any] | None:
    """The class mapping of the merge in ``folder``, from its ``provenance.json``, for a round's record.

    Returns:
        (dict | None): ``names`` (the merged classes, in id order) and ``sources``: per source its ``name``, its
        class ``names`` and ``moved`` (``[old id, new id]`` for each id the merge rewrote); None when the folder
        holds no merge.
    """
    try:
        provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
        sources = [
            {
                "name": str(source["name"]),
                "names": [str(n) for n in source["names"]],
                "moved": [[int(old), int(new)] for old, new in source["mapping"].items() if int(old) != int(new)],
            }
            for source in provenance["sources"]
        ]
        return {"names": [str(n) for n in provenance["names"]], "sources": sources}
    except (OSError, ValueError, KeyError, TypeError):  # no merge there, or not one this version wrote
        return None


def mapping_lines(merge: dict[str, Any]) -> list[str]:
    """One line per source of a merge (:func:`merge_facts`): ``classroom_v2: desk, student, sitae; ids 0->1 1->0``."""
    lines = []
    for source in merge["sources"]:
        moves = " ".join(f"{old}->{new}" for old, new in source["moved"]) or "unchanged"
        lines.append(f"{source['name']}: {', '.join(source['names'])}; ids {moves}")
    return lines


def describe_training_data(record: dict[str, Any]) -> str:
    """What a round trained on: one export, or a merge (with its class mapping) and any oversampling."""
    data_yaml = Path(record["data"]["data_yaml"])
    lines = [f"trained on {' + '.join(record['data']['use'])}: {data_yaml}"]
    try:
        content = read_yaml(data_yaml).data
    except YamlReadError:  # moved or broken since: the record still says what it trained on
        content = {}
    train = content.get("train") if isinstance(content, dict) else None
    if isinstance(train, str) and train.endswith("train_oversampled.txt"):
        listing = Path(train).read_text(encoding="utf-8").splitlines()
        lines.append(f"oversampled: {len(listing)} training entries for {len(set(listing))} images")
        first_val = (content.get("val") or [""])[0]
        data_yaml = Path(first_val).parent / "data.yaml" if first_val else data_yaml
    merge = record["data"].get("merge") or merge_facts(data_yaml.parent)  # older records: from the merge folder
    if merge:
        lines.append(f"merged classes: {', '.join(merge['names'])}")
        lines += [f"  {line}" for line in mapping_lines(merge)]
    transfer = record.get("class_transfer")
    if transfer:
        lines.append(f"from the starting weights: {transfer['text']}")
    return "\n".join(lines)
