"""exporttext: a round's export.json in the journal: the parity gate per format and the latency table."""

from __future__ import annotations

import json
import re

from journal_samples import HANGUL_PROFILE, write_hangul_journal

from yolo_workbook.reporting import journal
from yolo_workbook.reporting.exporttext import export_html, export_markdown, gate_lines, latency_rows, read_export


def format_entry(status: str, pt: float, export: float, worst: tuple[str, float], boxes: tuple[int, int]) -> dict:
    agreeing, total = boxes
    return {
        "path": "best_openvino_model",
        "status": status,
        "val": {
            "pt": {"mAP50-95": pt, "per_class": {}},
            "export": {"mAP50-95": export, "per_class": {}},
            "delta_map50_95": round(export - pt, 4),
            "worst_class": {"name": worst[0], "delta": worst[1]},
        },
        "boxes": {
            "frames": 60,
            "boxes": total,
            "agreeing": agreeing,
            "share": agreeing / total,
            "differing_frames": [],
        },
        "reasons": [] if status == "ok" else ["책상 |Δ AP50| 0.0300 > 0.01", "box agreement 90.0% < 99%"],
    }


EXPORT = {
    "round_id": "r02_lr_low",
    "profile": HANGUL_PROFILE,
    "weights": "train/weights/best.pt",
    "imgsz": 640,
    "formats": {
        "onnx": format_entry("failed", 0.6120, 0.5900, ("책상", -0.03), (900, 1000)),
        "openvino": format_entry("ok", 0.6120, 0.6123, ("학생", 0.0021), (995, 1000)),
    },
    "latency": {
        "threads": 4,
        "frames": 200,
        "imgsz": 640,
        "backends": {
            "pytorch": {"p50_ms": 120.0, "p95_ms": 130.5, "fps": 8.0},
            "onnxruntime": {"p50_ms": 100.0, "p95_ms": 104.0, "fps": 10.0},
            "openvino": {"p50_ms": 60.0, "p95_ms": 66.0, "fps": 16.0},
        },
    },
    "tolerances": {"map50_95": 0.005, "class_ap50": 0.01, "box_iou": 0.95, "box_conf": 0.01, "box_share": 0.99},
}


def test_gate_lines_say_per_format_what_changed_and_why_it_failed():
    assert gate_lines(EXPORT) == [
        "onnx: failed; mAP50-95 0.612 → 0.590 (Δ -0.0220); worst class 책상 Δ AP50 -0.0300;"
        " boxes agreeing 90.0% (900 of 1000 in 60 frames)",
        "onnx failed: 책상 |Δ AP50| 0.0300 > 0.01",
        "onnx failed: box agreement 90.0% < 99%",
        "openvino: ok; mAP50-95 0.612 → 0.612 (Δ +0.0003); worst class 학생 Δ AP50 +0.0021;"
        " boxes agreeing 99.5% (995 of 1000 in 60 frames)",
    ]


def test_latency_rows_give_each_backend_its_speed_against_pytorch():
    assert latency_rows(EXPORT) == [
        ["pytorch", "120.0", "130.5", "8.0", "1.00x"],
        ["onnxruntime", "100.0", "104.0", "10.0", "1.25x"],
        ["openvino", "60.0", "66.0", "16.0", "2.00x"],
    ]
    without_pytorch = {"latency": {"backends": {"openvino": {"p50_ms": 60.0, "p95_ms": 66.0, "fps": 16.0}}}}
    assert latency_rows(without_pytorch) == [["openvino", "60.0", "66.0", "16.0", "–"]]


def test_a_partial_export_json_reads_as_dashes_and_shows_no_empty_table():
    """No video (``boxes: null``), no latency (``--frames 0``): what is there is shown, nothing else."""
    partial = {
        "formats": {"openvino": {"status": "failed", "boxes": None, "reasons": ["validation crashed"]}},
        "latency": None,
    }
    assert gate_lines(partial) == [
        "openvino: failed; mAP50-95 – → – (Δ –); worst class – Δ AP50 –; boxes not compared (the profile has no video)",
        "openvino failed: validation crashed",
    ]
    partial["formats"]["openvino"]["boxes"] = {"frames": 60}
    assert gate_lines(partial)[0].endswith("boxes agreeing – (– of – in 60 frames)")
    assert not any("|" in line for line in export_markdown(partial))
    assert "<table" not in "".join(export_html(partial))


def test_markdown_and_html_hold_the_gate_and_the_latency_table():
    markdown = "\n".join(export_markdown(EXPORT))
    assert "### Export" in markdown and "- openvino: ok;" in markdown
    assert "200 frames at imgsz 640, batch 1, 4 thread(s)" in markdown
    assert "| openvino | 60.0 | 66.0 | 16.0 | 2.00x |" in markdown
    page = "\n".join(export_html(EXPORT))
    assert "<li>onnx failed: 책상 |Δ AP50| 0.0300 &gt; 0.01</li>" in page
    assert "<tr><td>openvino</td><td>60.0</td><td>66.0</td><td>16.0</td><td>2.00x</td></tr>" in page


def test_journal_shows_the_export_of_the_round_that_has_one(outputs):
    write_hangul_journal(outputs)
    folder = outputs / HANGUL_PROFILE / "r02_lr_low" / "export"
    folder.mkdir()
    (folder / "export.json").write_text(json.dumps(EXPORT, ensure_ascii=False), encoding="utf-8")
    assert read_export(folder.parent) == EXPORT
    assert read_export(outputs / HANGUL_PROFILE / "r01_base") is None

    md_path, html_path = journal.write_journal(HANGUL_PROFILE)
    markdown, page = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    sections = re.split(r"^## ", markdown, flags=re.M)
    exported = [s.split("\n", 1)[0] for s in sections if "### Export" in s]
    assert exported == ["r02_lr_low"]
    assert "| openvino | 60.0 | 66.0 | 16.0 | 2.00x |" in markdown
    section = re.search(r'<section id="r02_lr_low">.*?</section>', page, re.S).group(0)
    assert "<h3>Export</h3>" in section and "<td>2.00x</td>" in section
    assert page.count("<h3>Export</h3>") == 1
