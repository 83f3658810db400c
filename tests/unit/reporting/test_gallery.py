"""gallery: the misses, false positives and confusions of a class, drawn; the confusion matrices beside the base's."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from journal_samples import HANGUL, HANGUL_PROFILE, write_hangul_journal

from yolo_workbook.reporting import gallery, journal, plots
from yolo_workbook.training.valstats import load_val_stats

SITAE = HANGUL.index("시태")
STUDENT, DESK = HANGUL.index("학생"), HANGUL.index("책상")


def write_val_stats(folder: Path, images: list[Path], *, names: list[str] = HANGUL) -> Path:
    """A ``val_stats.npz`` with known mistakes of 시태 (numbers in the comments).

    Image 0: a 시태 found (0.90); a 시태 predicted as 학생 (0.80: a confusion and a miss, where a 시태
    prediction at 0.10 is too unsure to count). Image 1: a 시태 on the background (0.70: a false
    positive), a 시태 on a 책상 (0.95: a false positive and a confusion), a 시태 missed (a 시태 at 0.60
    overlaps it at IoU 0.33 only: a miss and a false positive), a 시태 at 0.20 (not counted).
    Image 2: a 학생 found, a 책상 at 0.15 (not counted), nothing of 시태.
    """
    for path in images:
        if not path.exists():
            from PIL import Image

            Image.new("RGB", (160, 160), "#404040").save(path)
    preds = [  # image, class, confidence, box
        (0, SITAE, 0.90, [10, 10, 50, 50]),
        (0, STUDENT, 0.80, [100, 100, 140, 140]),
        (0, SITAE, 0.10, [101, 101, 140, 140]),
        (1, SITAE, 0.70, [0, 0, 30, 30]),
        (1, SITAE, 0.95, [60, 60, 120, 120]),
        (1, SITAE, 0.20, [130, 0, 160, 30]),
        (1, SITAE, 0.60, [25, 100, 65, 150]),
        (2, STUDENT, 0.85, [20, 20, 80, 80]),
        (2, DESK, 0.15, [100, 0, 150, 40]),
    ]
    truths = [  # image, class, box
        (0, SITAE, [10, 10, 50, 50]),
        (0, SITAE, [100, 100, 140, 140]),
        (1, DESK, [60, 60, 120, 120]),
        (1, SITAE, [5, 100, 45, 150]),
        (2, STUDENT, [20, 20, 80, 80]),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "val_stats.npz"
    np.savez(
        target,
        images=np.array([str(p) for p in images]),
        names=np.array(names),
        pred_img=np.array([p[0] for p in preds]),
        pred_cls=np.array([p[1] for p in preds]),
        pred_conf=np.array([p[2] for p in preds]),
        pred_box=np.array([p[3] for p in preds], dtype=float),
        pred_tp=np.zeros((len(preds), 10), dtype=bool),
        gt_img=np.array([t[0] for t in truths]),
        gt_cls=np.array([t[1] for t in truths]),
        gt_box=np.array([t[2] for t in truths], dtype=float),
    )
    return target


@pytest.fixture()
def stats(tmp_path):
    images = [tmp_path / f"val_{i}.jpg" for i in range(3)]
    return load_val_stats(write_val_stats(tmp_path / "r01_base", images).parent)


def test_failures_are_exactly_the_known_mistakes_most_confident_first(stats):
    found = gallery.failures(stats, "시태")
    assert [(f.image_index, f.box, f.confidence) for f in found.misses] == [
        (1, (5, 100, 45, 150), None),  # nothing of 시태 on it at IoU 0.5: the most confidently missed
        (0, (100, 100, 140, 140), 0.10),  # a 시태 prediction below 0.25 only
    ]
    assert [(f.image_index, f.confidence, f.truth) for f in found.false_positives] == [
        (1, 0.95, "책상"),
        (1, 0.70, ""),
        (1, 0.60, ""),
    ]
    assert [(f.image_index, f.confidence, f.truth, f.predicted, f.other) for f in found.confusions] == [
        (1, 0.95, "책상", "시태", "책상"),  # 시태 predicted on a 책상
        (0, 0.80, "시태", "학생", "학생"),  # a 시태 predicted as 학생
    ]
    assert found.totals == {"misses": 2, "false positives": 3, "confusions": 2}
    assert found.misses[0].image.endswith("val_1.jpg") and not found.note
    assert "2 misses, 3 false positives, 2 confusions" in found.summary()
    captions = [f.caption() for _, items in found.kinds() for f in items]
    assert captions == ["missed 시태", "missed 시태 (best 0.10)", "시태 0.95 on 책상", "시태 0.70 on background",
        "시태 0.60 on background",
                        "책상 as 시태 0.95", "시태 as 학생 0.80"]  # fmt: skip


def test_another_class_and_the_limit(stats):
    found = gallery.failures(stats, "학생")  # its one box found; once predicted on a 시태
    assert found.misses == [] and [(f.confidence, f.truth) for f in found.false_positives] == [(0.80, "시태")]
    assert [(f.truth, f.predicted, f.other) for f in found.confusions] == [("시태", "학생", "시태")]
    limited = gallery.failures(stats, "시태", limit=1)
    assert [f.confidence for f in limited.false_positives] == [0.95] and len(limited.misses) == 1
    assert limited.totals["misses"] == 2 and "2 misses (1 shown)" in limited.summary()
    assert "not a class of this round" in gallery.failures(stats, "의자").note


def test_thumbnails_are_small_jpegs_with_readable_hangul(stats):
    from PIL import Image

    found = gallery.failures(stats, "시태")
    thumbs = {title: [gallery.draw_failure(stats, item) for item in items] for title, items in found.kinds()}
    assert [len(thumbs[title]) for title, _ in found.kinds()] == [2, 3, 2]
    for data in [d for kind in thumbs.values() for d in kind]:
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "JPEG" and max(picture.size) <= gallery.THUMB + 16 and len(data) < 20_000

    def caption_pixels(failure: gallery.Failure) -> np.ndarray:
        picture = Image.open(io.BytesIO(gallery.draw_failure(stats, failure))).convert("L")
        return np.asarray(picture)[-16:].astype(int)  # the caption strip under the picture

    # Two captions that differ only in their Hangul: drawn alike when the font lacks Hangul (boxes).
    miss = found.misses[0]
    as_desk = gallery.Failure(miss.kind, miss.image, miss.image_index, miss.box, None, "책상", "")
    assert np.abs(caption_pixels(miss) - caption_pixels(as_desk)).sum() > 1000
    assert (caption_pixels(miss) < 128).sum() > 30  # the caption is written


def test_thumbnail_draws_the_box_at_fault_in_yellow(stats):
    from PIL import Image

    miss = gallery.failures(stats, "시태").misses[0]  # (5, 100, 45, 150) in a 160-pixel image
    picture = np.asarray(Image.open(io.BytesIO(gallery.draw_failure(stats, miss))).convert("RGB")).astype(int)
    yellow = (picture[..., 0] > 180) & (picture[..., 1] > 180) & (picture[..., 2] < 90)
    assert yellow.sum() > 200  # the thick outline of the missed box


def test_confusion_matrix_is_ultralytics_normalized_per_true_class(stats):
    matrix = gallery.confusion_matrix(stats)
    assert matrix.shape == (4, 4)  # three classes and the background
    # 시태's three boxes: one found, one taken for 학생, one missed (background row).
    assert matrix[:, SITAE].tolist() == pytest.approx([1 / 3, 0, 1 / 3, 1 / 3])
    assert matrix[SITAE, DESK] == 1.0 and matrix[STUDENT, STUDENT] == 1.0
    assert matrix[:, 3].tolist() == [0, 0, 1, 0]  # the false positives: one 시태 on the background


def test_confusion_pair_draws_the_round_beside_its_base(stats):
    figure = plots.confusion_pair(stats, stats, titles=("r02", "r01"))
    assert [ax.get_title() for ax in figure.axes] == ["r02", "r01"]
    assert "시태" in [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert len(plots.confusion_pair(stats, None).axes) == 1


def test_the_journal_shows_the_weak_class_gallery_and_stays_small(outputs, tmp_path):
    from PIL import Image

    images = [tmp_path / f"val_{i}.jpg" for i in range(3)]
    _, html_path = write_hangul_journal(outputs)
    without = len(html_path.read_bytes())
    # r02's weakest class is 시태; r01 has no statistics (an older round).
    write_val_stats(outputs / HANGUL_PROFILE / "r02_lr_low", images)
    md_path, html_path = journal.write_journal(HANGUL_PROFILE)
    markdown, page = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    r01, r02 = markdown.split("## r02_lr_low")
    assert "### Where 시태 fails" in r02 and "2 misses, 3 false positives, 2 confusions" in r02
    assert r02.count(".jpg)") == 7 and "r02_lr_low_confusion.png" in r02
    assert "no val_stats.npz in r01_base/" in r01  # says why there is no gallery
    thumbs = re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", page)
    assert len(thumbs) == 7 and "시태 as 학생 0.80" in page
    assert all(Image.open(io.BytesIO(base64.b64decode(t))).width <= journal.GALLERY_SIDE for t in thumbs)
    matrix = Image.open(outputs / HANGUL_PROFILE / "journal_files" / "r02_lr_low_confusion.png")
    assert matrix.mode == "P" and len(matrix.getcolors()) <= journal.MATRIX_COLORS  # a few flat colours: small
    assert len(page.encode()) - without < 60_000  # what the gallery of one round adds


def test_the_journal_bounds_the_thumbnails_of_each_kind(outputs, tmp_path, monkeypatch):
    write_hangul_journal(outputs)
    write_val_stats(outputs / HANGUL_PROFILE / "r02_lr_low", [tmp_path / f"val_{i}.jpg" for i in range(3)])
    monkeypatch.setattr(journal, "GALLERY_LIMIT", 1)
    md_path, _ = journal.write_journal(HANGUL_PROFILE)
    markdown = md_path.read_text(encoding="utf-8")
    assert markdown.count(".jpg)") == 3 and "3 false positives (1 shown)" in markdown


def test_notebooks_show_the_gallery_and_the_matrices_or_say_why_not(outputs, tmp_path, capsys, monkeypatch):
    from yolo_workbook.training.train import TrainResult
    from yolo_workbook.ui import notebook

    shown: list[object] = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    write_hangul_journal(outputs)
    folder = write_val_stats(outputs / HANGUL_PROFILE / "r02_lr_low", [tmp_path / f"v{i}.jpg" for i in range(3)]).parent
    write_val_stats(outputs / HANGUL_PROFILE / "r01_base", [tmp_path / f"v{i}.jpg" for i in range(3)])

    def result(folder: Path) -> TrainResult:
        record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        return TrainResult(folder, folder / "best.pt", folder / "metrics.json", record)

    found = notebook.show_failures(result(folder), profile=HANGUL_PROFILE)
    assert found.class_name == "시태" and "2 misses" in capsys.readouterr().out
    gallery_html, figure = shown
    assert gallery_html.data.count("data:image/jpeg;base64,") == 7
    assert [ax.get_title() for ax in figure.axes] == ["r02_lr_low", "r01_base"]
    assert (
        notebook.show_failures(result(folder), profile=HANGUL_PROFILE, class_name="학생", limit=1).class_name == "학생"
    )
    older = outputs / HANGUL_PROFILE / "r03_no_sitae_in_val"
    assert "no val_stats.npz in r03_no_sitae_in_val/" in notebook.show_failures(result(older), profile="ko").note
    assert "train it again" in capsys.readouterr().out


def test_a_round_picks_its_weakest_class_or_says_why_there_is_none(outputs, tmp_path):
    from journal_samples import HANGUL_RECORDS

    write_val_stats(outputs / HANGUL_PROFILE / "r01_base", [tmp_path / f"val_{i}.jpg" for i in range(3)])
    record = HANGUL_RECORDS[0]  # 시태 has the lowest AP50
    assert gallery.round_failures(record, profile=HANGUL_PROFILE).class_name == "시태"
    assert gallery.round_failures(record, profile=HANGUL_PROFILE, class_name="책상").class_name == "책상"
    absent = {**record, "per_class": {n: {**c, "in_val": False} for n, c in record["per_class"].items()}}
    assert "no class of this round is in the validation set" in gallery.round_failures(absent, profile="ko").note


def test_the_summary_says_one_miss_not_one_misses():
    one = gallery.Failures("시태", totals={"misses": 1, "false positives": 1, "confusions": 0})
    assert one.summary().startswith("시태: 1 miss (0 shown), 1 false positive (0 shown), 0 confusions (")
