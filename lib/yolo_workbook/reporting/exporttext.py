"""A round's export in words, for the journal: per format the parity gate, then the latency table.

The text comes from ``outputs/<profile>/<round>/export/export.json`` (written by ``yolo-workbook export``);
a field it lacks reads as ``–``, so an older or partial export.json still shows what it holds.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from yolo_workbook.core.files import read_json

LATENCY_HEADER = ["backend", "p50 ms", "p95 ms", "frames/s", "vs PyTorch"]


def _num(value: Any, form: str) -> str:
    return format(value, form) if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def read_export(round_folder: Path) -> dict[str, Any] | None:
    """The round's ``export/export.json``, or ``None`` when it was not exported (or the file is unreadable)."""
    doc = read_json(round_folder / "export" / "export.json")
    return doc if isinstance(doc, dict) else None


def gate_lines(doc: dict[str, Any]) -> list[str]:
    """One line per exported format: ok or failed, the mAP50-95 change, the worst class, the boxes that agree.

    Args:
        doc (dict[str, Any]): An export.json.

    Returns:
        (list[str]): ``"openvino: ok; mAP50-95 0.612 → 0.612 (Δ +0.0003); ..."``, then the reasons of a failure.
    """
    lines = []
    for name, fmt in (doc.get("formats") or {}).items():
        val, boxes = fmt.get("val") or {}, fmt.get("boxes") or {}
        worst = val.get("worst_class") or {}
        parts = [
            f"mAP50-95 {_num((val.get('pt') or {}).get('mAP50-95'), '.3f')} →"
            f" {_num((val.get('export') or {}).get('mAP50-95'), '.3f')} (Δ {_num(val.get('delta_map50_95'), '+.4f')})",
            f"worst class {worst.get('name') or '–'} Δ AP50 {_num(worst.get('delta'), '+.4f')}",
            f"boxes agreeing {_num(boxes.get('share'), '.1%')} ({boxes.get('agreeing', '–')} of"
            f" {boxes.get('boxes', '–')} in {boxes.get('frames', '–')} frames)"
            if boxes
            else "boxes not compared (the profile has no video)",
        ]
        lines.append(f"{name}: {fmt.get('status') or '–'}; " + "; ".join(parts))
        if fmt.get("status") != "ok":
            lines += [f"{name} failed: {reason}" for reason in fmt.get("reasons") or []]
    return lines


def latency_caption(doc: dict[str, Any]) -> str:
    """What the latency figures were measured on, or ``""`` when there are none."""
    latency = doc.get("latency") or {}
    if not latency.get("backends"):
        return ""
    return (
        f"Latency on the machine that exported: {latency.get('frames')} frames at imgsz {latency.get('imgsz')},"
        f" batch 1, {latency.get('threads')} thread(s)"
    )


def latency_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Per backend: p50 and p95 milliseconds per frame, frames per second, and its speed against PyTorch."""
    backends = (doc.get("latency") or {}).get("backends") or {}
    reference = (backends.get("pytorch") or {}).get("fps")
    rows = []
    for name, figures in backends.items():
        fps = figures.get("fps")
        ratio = fps / reference if isinstance(fps, (int, float)) and isinstance(reference, (int, float)) else None
        rows.append(
            [
                name,
                _num(figures.get("p50_ms"), ".1f"),
                _num(figures.get("p95_ms"), ".1f"),
                _num(fps, ".1f"),
                f"{ratio:.2f}x" if ratio is not None and reference else "–",
            ]
        )
    return rows


def export_markdown(doc: dict[str, Any]) -> list[str]:
    """The round's export as Markdown lines: a heading, the gate per format, the latency table."""
    out = ["", "### Export", "", *[f"- {line}" for line in gate_lines(doc)]]
    rows = latency_rows(doc)
    if rows:
        out += ["", latency_caption(doc) + ":", "", "| " + " | ".join(LATENCY_HEADER) + " |"]
        out += ["|---|" + "---:|" * (len(LATENCY_HEADER) - 1), *["| " + " | ".join(row) + " |" for row in rows]]
    return out


def export_html(doc: dict[str, Any]) -> list[str]:
    """The round's export as HTML lines: a heading, the gate per format, the latency table."""
    out = ["<h3>Export</h3><ul>", *[f"<li>{html.escape(line)}</li>" for line in gate_lines(doc)], "</ul>"]
    rows = latency_rows(doc)
    if rows:
        out.append(f"<table><caption>{html.escape(latency_caption(doc))}</caption><tr>")
        out.append("".join(f"<th>{html.escape(title)}</th>" for title in LATENCY_HEADER) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows]
        out.append("</table>")
    return out
