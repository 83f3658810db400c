"""truth: a ground-truth folder and a prediction's tracks are read into arrays; every bad input is a TruthError
naming the file and line."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from yolo_workbook.attendance.truth import read_classes, read_mot, read_truth
from yolo_workbook.core.errors import TruthError

GT = """\
1,1,10,20,30,40,1,1,1
1,2,100,20,30,40,1,1,0.5
1,3,200,20,30,40,1,2,1
2,1,11,20,30,40,1,1,1
2,2,101,20,30,40,0,1,0
3,1,12,20,30,40,1,1,1
"""
COUNTS = "frame,student,teacher\n1,2,1\n2,2,0\n3,1,0\n"


def _folder(tmp_path: Path, *, gt: str | None = GT, counts: str | None = None, classes: str | None = None) -> Path:
    folder = tmp_path / "video.truth"
    folder.mkdir()
    if classes is not None or gt is not None or counts is not None:
        (folder / "classes.txt").write_text("student\nteacher\n" if classes is None else classes)
    if gt is not None:
        (folder / "gt").mkdir()
        (folder / "gt" / "gt.txt").write_text(gt)
    if counts is not None:
        (folder / "counts.csv").write_text(counts)
    return folder


def test_gt_alone_gives_counts_of_every_row_occluded_ones_too(tmp_path):
    truth = read_truth(_folder(tmp_path))
    assert truth.classes == ("student", "teacher")
    assert truth.frames == 3 and truth.fps is None
    assert truth.boxes_path == tmp_path / "video.truth" / "gt" / "gt.txt"
    assert truth.counts["student"].tolist() == [2, 2, 1]  # frame 2's id 2 has conf 0: still present
    assert truth.counts["teacher"].tolist() == [1, 0, 0]
    rows = truth.boxes
    assert rows.box[1].tolist() == [100, 20, 130, 60]  # left,top,width,height -> x1,y1,x2,y2
    assert rows.class_names.tolist() == ["student", "student", "teacher", "student", "student", "student"]
    assert rows.conf.tolist() == [1, 1, 1, 1, 0, 1]


def test_counts_csv_alone_and_seqinfo(tmp_path):
    folder = _folder(tmp_path, gt=None, counts=COUNTS)
    (folder / "seqinfo.ini").write_text("[Sequence]\nname=video\nframeRate=25\nseqLength=3\n")
    truth = read_truth(folder)
    assert truth.boxes_path is None and truth.boxes is None
    assert truth.fps == 25.0 and truth.frames == 3
    assert truth.counts["student"].tolist() == [2, 2, 1]
    assert truth.counts["teacher"].tolist() == [1, 0, 0]


def test_seqinfo_length_extends_the_truth_with_empty_frames(tmp_path):
    folder = _folder(tmp_path)
    (folder / "seqinfo.ini").write_text("[Sequence]\nseqLength=5\nframeRate=30\n")
    truth = read_truth(folder)
    assert truth.frames == 5
    assert truth.counts["student"].tolist() == [2, 2, 1, 0, 0]


def test_counts_csv_wins_over_gt_rows(tmp_path):
    truth = read_truth(_folder(tmp_path, counts="frame,teacher,student\n1,0,5\n2,0,5\n3,0,5\n"))
    assert truth.counts["student"].tolist() == [5, 5, 5]
    assert truth.counts["teacher"].tolist() == [0, 0, 0]


def test_tracks_file_may_be_empty_and_leave_visibility_unset(tmp_path):
    # A prediction's tracks, read as the attendance job reads them: with the classes.txt written beside them.
    (tmp_path / "classes.txt").write_text("student\nteacher\n")
    classes, tracks = read_classes(tmp_path / "classes.txt"), tmp_path / "tracks.mot.txt"
    tracks.write_text("")
    assert len(read_mot(tracks, classes)) == 0
    tracks.write_text("4,7,1.5,2,3,4,0.91,2,-1\n")
    rows = read_mot(tracks, classes)
    assert rows.frame.tolist() == [4] and rows.track_id.tolist() == [7]
    assert rows.class_names.tolist() == ["teacher"] and rows.box.tolist() == [[1.5, 2, 4.5, 6]]


@pytest.mark.parametrize("blank", ["\n\n", "\n   \n"])  # numpy's parser skips the first, refuses the second
def test_blank_lines_keep_line_numbers_right(tmp_path, blank):
    path = tmp_path / "gt.txt"
    path.write_text("1,1,0,0,1,1,1,1,1\n" + blank + "0,2,0,0,1,1,1,1,1\n")
    with pytest.raises(TruthError, match=r"gt.txt:4: frame < 1"):
        read_mot(path, ["student"], ground_truth=True)


def test_a_big_gt_reads_fast(tmp_path):
    rows = [f"{f},{i},{i * 40}.5,100,30.25,60,{i % 5 > 0:d},1,0.75" for f in range(1, 3001) for i in range(1, 41)]
    _folder(tmp_path, gt="\n".join(rows) + "\n", classes="student\n")
    start = time.perf_counter()
    truth = read_truth(tmp_path / "video.truth")
    elapsed = time.perf_counter() - start
    assert truth.frames == 3000 and len(truth.boxes) == 120_000
    assert np.all(truth.counts["student"] == 40)
    assert elapsed < 1.0, f"{elapsed:.2f} s"


GT_BAD = [
    ("1,1,0,0,1,1,1,1\n", ":1: 8 fields, expected 9"),
    ("1,1,0,0,1,1,1,1,1\n2,1,x,0,1,1,1,1,1\n", ":2: 'x' is not a number"),
    ("1,1,0,0,1,1,1,1,nan\n", ":1: 'nan' is not a number"),
    ("1,1,0,0,1,1,1,1,1\n0,1,0,0,1,1,1,1,1\n", ":2: frame < 1"),
    ("1,0,0,0,1,1,1,1,1\n", ":1: id < 1"),
    ("1,1.5,0,0,1,1,1,1,1\n", ":1: id is not a whole number"),
    ("1,1,0,0,1,1,1,1,1\n1,2,0,0,1,1,1,3,1\n", ":2: class out of range: classes.txt names 2 classes"),
    ("1,1,0,0,1,1,1,0,1\n", ":1: class out of range"),
    ("1,1,0,0,-1,1,1,1,1\n", ":1: negative width"),
    ("1,1,0,0,1,-2,1,1,1\n", ":1: negative height"),
    ("1,1,0,0,1,1,1,1,1.5\n", ":1: visibility outside"),
    ("1,1,0,0,1,1,1,1,-1\n", ":1: visibility outside"),  # -1 is for tracker output only
    ("\n\n", ": the file is empty"),
    ("1,1,0,0,1,1,1,1,1\n1,1,5,5,1,1,1,1,1\n", ":2: id 1 appears twice in frame 1 (also line 1)"),
    ("1,1,0,0,1,1,1,1,1\n2,1,0,0,1,1,1,2,1\n", ":2: id 1 is 'teacher' here but 'student' on line 1"),
]


@pytest.mark.parametrize(("gt", "message"), GT_BAD)
def test_bad_gt_lines(tmp_path, gt, message):
    with pytest.raises(TruthError, match="gt.txt" + re.escape(message)) as caught:
        read_truth(_folder(tmp_path, gt=gt))
    assert caught.value.fix


COUNTS_BAD = [
    ("frame,student,desk\n1,1,1\n", "counts.csv:1: unknown class column 'desk'"),
    ("frame,student\n1,1\n", "counts.csv:1: no column for teacher"),
    ("frame,student,teacher\n1,1,0\n3,1,0\n", "counts.csv: a missing frame: 2"),
    ("frame,student,teacher\n1,1,0\n2,-1,0\n", "counts.csv:3: negative count"),
    ("time,student,teacher\n1,1,0\n", "counts.csv:1: the header starts with 'time'"),
    ("frame,student,teacher\n1,1\n", "counts.csv:2: 2 fields, expected 3"),
    ("frame,student,teacher\n1,1,0\n1,2,0\n", "counts.csv:3: frame 1 is on line 2 too"),
    ("", "counts.csv: the file is empty"),
]


@pytest.mark.parametrize(("counts", "message"), COUNTS_BAD)
def test_bad_counts(tmp_path, counts, message):
    with pytest.raises(TruthError, match=re.escape(message)):
        read_truth(_folder(tmp_path, gt=None, counts=counts))


def test_counts_csv_shorter_than_gt_misses_frames(tmp_path):
    with pytest.raises(TruthError, match=r"counts.csv: a missing frame: 3 \(the truth covers 3\)"):
        read_truth(_folder(tmp_path, counts="frame,student,teacher\n1,2,1\n2,2,0\n"))


def test_gt_beyond_seqinfo_length(tmp_path):
    folder = _folder(tmp_path)
    (folder / "seqinfo.ini").write_text("[Sequence]\nseqLength=2\n")
    with pytest.raises(TruthError, match="gt.txt: frame 3 is beyond seqinfo.ini's seqLength 2"):
        read_truth(folder)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ("student\nstudent\n", "classes.txt:2: class 'student' is already named on line 1"),
        ("student\n\nteacher\n", "classes.txt:2: blank line"),
        ("", "classes.txt: the file is empty"),
    ],
)
def test_bad_classes(tmp_path, classes, message):
    with pytest.raises(TruthError, match=re.escape(message)):
        read_truth(_folder(tmp_path, classes=classes))


def test_missing_classes_txt(tmp_path):
    folder = _folder(tmp_path)
    (folder / "classes.txt").unlink()
    with pytest.raises(TruthError, match="classes.txt: classes.txt is missing"):
        read_truth(folder)


def test_a_folder_with_neither_gt_nor_counts(tmp_path):
    with pytest.raises(TruthError, match="video.truth: neither gt/gt.txt nor counts.csv"):
        read_truth(_folder(tmp_path, gt=None, classes="student\n"))
