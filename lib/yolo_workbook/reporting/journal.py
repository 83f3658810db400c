"""The lab journal: the user's diary, written from the records with numbers instead of impressions.

``write_journal(profile)`` writes ``outputs/<profile>/journal.md`` (figures beside it in
``journal_files/``) and a self-contained ``journal.html`` (figures and a Hangul font subset
embedded: it opens offline, anywhere).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yolo_workbook.attendance.job import read_attendance
from yolo_workbook.core import locks, paths
from yolo_workbook.core.errors import SweepError
from yolo_workbook.core.files import atomic_output, read_json, write_atomic
from yolo_workbook.core.text import format_duration
from yolo_workbook.data.merge import mapping_lines
from yolo_workbook.reporting import compare, gallery, noise, plots, sweepplots, sweeptext, videoplots
from yolo_workbook.reporting.exporttext import export_html, export_markdown, read_export
from yolo_workbook.reporting.leaderboard import Leaderboard, leaderboard
from yolo_workbook.reporting.readiness import answer
from yolo_workbook.reporting.videotext import attendance_lines, video_line
from yolo_workbook.training import metrics
from yolo_workbook.training.labelcache import dropped_lines
from yolo_workbook.training.valstats import load_val_stats


def _run_text(record: dict[str, Any]) -> str:
    return (
        f"training {format_duration(record.get('train_seconds'))}, {record.get('epochs_run', 0)} of"
        f" {record.get('epochs_planned', 0)} epochs (best: {record.get('best_epoch')})"
    )


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def _png(fig: Any, *, colors: int = 0) -> bytes:
    """A figure as PNG bytes; with ``colors``, reduced to that many colours (a quarter of the size for flat plots)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    if not colors:
        return buffer.getvalue()
    from PIL import Image

    reduced = io.BytesIO()
    Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").quantize(colors=colors).save(reduced, format="PNG")
    return reduced.getvalue()


def _figure(name: str, sources: list[Path], profile: str, draw: Any, *, colors: int = 0) -> bytes:
    """A figure's PNG: reused from ``journal_files/`` while newer than the records it shows."""
    cached = paths.profile_dir(profile) / "journal_files" / name
    newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=float("inf"))
    if cached.is_file() and cached.stat().st_mtime > newest:
        return cached.read_bytes()
    return _png(draw(), colors=colors)


def lineage(records: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(depth, text)`` lines: which weights started which round, on which data."""
    ids = {r["round_id"] for r in records}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for record in records:
        source = record.get("weights_from", "")
        if source in ids:
            children.setdefault(source, []).append(record)
        else:
            roots.append(record)
    lines: list[tuple[int, str]] = []

    def visit(record: dict[str, Any], depth: int) -> None:
        data = " + ".join(record.get("data", {}).get("use", [])) or "-"
        source = record.get("weights_from", "")
        start = f"{source}'s best weights" if source in ids else source
        extends = f", extends {record['base']}" if record.get("base") else ""
        lines.append((depth, f"{start} → **{record['round_id']}** on {data}{extends}"))
        for child in children.get(record["round_id"], []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return lines


def _class_rows(record: dict[str, Any], base: dict[str, Any] | None) -> list[list[str]]:
    deltas = compare.class_deltas(record, base)
    rows = []
    for name, entry in (record.get("per_class") or {}).items():
        if not entry.get("in_val"):
            rows.append([name, "absent from val", "", "", "", "", "0", _fmt(entry.get("train_share"), 2)])
            continue
        delta = deltas.get(name)
        rows.append(
            [
                name,
                _fmt(entry["AP50"]),
                f"{delta:+.3f}" if delta is not None else "–",
                _fmt(entry["AP50-95"]),
                _fmt(entry["precision"]),
                _fmt(entry["recall"]),
                str(entry["instances"]),
                f"{entry['train_share']:.0%}" if isinstance(entry.get("train_share"), (int, float)) else "–",
            ]
        )
    return rows


def _prediction_text(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{n}: {c['detections']} in {c['frames_with']} frames" for n, c in summary["per_class"].items())
    return (
        f"weights of {summary.get('weights_from')}, {summary['frames']} frames at {summary.get('frames_per_second')}"
        f" frames/s; {counts or 'no detections'}"
    )


CLASS_HEADER = ["class", "AP50", "Δ AP50 vs base", "AP50-95", "P", "R", "val instances", "train share"]
PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))
BEST_NOTE = (
    "Bold: the best value of each metric column (higher is better for mAP50, mAP50-95, P, R,"
    " every AP50 and IDF1; lower for the video's count error; ties are all marked). Train time is not ranked."
)


def _leaderboard_markdown(board: Leaderboard) -> list[str]:
    """The leaderboard as a Markdown table, the best values in bold."""
    if not board.rows:
        return ["(no finished rounds yet)"]

    def cell(text: str, row: int, column: int) -> str:
        text = text.replace("|", "\\|")  # a class name may hold the column separator
        return f"**{text}**" if (row, column) in board.best else text

    lines = [
        "| " + " | ".join(title.replace("|", "\\|") for title in board.header) + " |",
        "|" + "|".join("---:" if side == ">" else "---" for side in board.align) + "|",
    ]
    lines += ["| " + " | ".join(cell(t, r, c) for c, t in enumerate(row)) + " |" for r, row in enumerate(board.rows)]
    return [*lines, "", BEST_NOTE]


def _leaderboard_html(board: Leaderboard) -> str:
    """The leaderboard as an HTML table: numbers right-aligned, each metric column's best marked ``best``."""
    if not board.rows:
        return "<p>(no finished rounds yet)</p>"

    def kind(column: int) -> str:
        return "num" if board.align[column] == ">" else "text"

    out = [f"<table class=leaderboard><caption>{html.escape(BEST_NOTE)}</caption>", "<thead><tr>"]
    out += [f"<th class={kind(c)}>{html.escape(title)}</th>" for c, title in enumerate(board.header)]
    out.append("</tr></thead><tbody>")
    for r, row in enumerate(board.rows):
        cells = []
        for c, text in enumerate(row):
            if (r, c) in board.best:
                better = "lower" if c in board.lower_is_better else "higher"
                title = html.escape(f"best {board.header[c]} of these rounds ({better} is better)", quote=True)
                cells.append(f'<td class="{kind(c)} best" title="{title}">{html.escape(text)}</td>')
            else:
                cells.append(f"<td class={kind(c)}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def class_mapping_lines(record: dict[str, Any]) -> tuple[list[str], str]:
    """How the round's class ids were mapped: one line per dataset of its merge (``[]`` for one dataset), and how
    the head's class rows went from the starting weights to the data (``""`` for weights without class names)."""
    merge = (record.get("data") or {}).get("merge")
    transfer = record.get("class_transfer") or {}
    return (mapping_lines(merge) if merge else []), str(transfer.get("text") or "")


def _diff_lines(record: dict[str, Any]) -> list[str]:
    out = []
    for change in record.get("params_diff") or []:
        if change["change"] == "~":
            out.append(f"`{change['key']}`: {change['old']} → {change['new']}")
        elif change["change"] == "+":
            out.append(f"`{change['key']}`: {change['new']} (added)")
        else:
            out.append(f"`{change['key']}`: {change['old']} (removed)")
    return out


# The journal stays small: per round at most 4 thumbnails of each kind, 160 pixels (the notebook shows 8 of 192),
# and a confusion-matrix figure of 32 colours (its cells are flat).
GALLERY_LIMIT, GALLERY_SIDE, MATRIX_COLORS = 4, 160, 32


def _gallery(
    record: dict[str, Any], base: dict[str, Any] | None, profile: str, figures: dict[str, bytes]
) -> dict[str, Any]:
    """Where the round's weakest class fails: thumbnails and the confusion matrices added to ``figures``."""
    rid = record["round_id"]
    found = gallery.round_failures(record, profile=profile, limit=GALLERY_LIMIT)
    shown: dict[str, Any] = {"class": found.class_name, "summary": found.summary(), "kinds": [], "confusion": ""}
    stats = load_val_stats(paths.round_dir(rid, profile))
    if stats is None or found.note:
        return shown
    for title, items in found.kinds():
        names = []
        for i, item in enumerate(items):
            name = f"{rid}_{title.replace(' ', '_')}_{i}.jpg"
            figures[name] = gallery.draw_failure(stats, item, side=GALLERY_SIDE)
            names.append((name, item.caption(), Path(item.image).name))
        shown["kinds"].append((title, names))
    base_stats = load_val_stats(paths.round_dir(base["round_id"], profile)) if base else None
    sources = [paths.round_dir(r["round_id"], profile) / "val_stats.npz" for r in (base, record) if r]
    titles = (rid, base["round_id"] if base else "")
    shown["confusion"] = f"{rid}_confusion.png"
    draw = functools.partial(plots.confusion_pair, stats, base_stats, titles=titles)
    figures[shown["confusion"]] = _figure(shown["confusion"], sources, profile, draw, colors=MATRIX_COLORS)
    return shown


def _gallery_markdown(shown: dict[str, Any], figure_dir: str) -> list[str]:
    out = ["", f"### Where {shown['class'] or 'the weakest class'} fails", "", shown["summary"]]
    for title, items in shown["kinds"]:
        if items:
            out += ["", f"{title}: " + " ".join(f"![{caption}]({figure_dir}/{name})" for name, caption, _ in items)]
    if shown["confusion"]:
        out += ["", f"![confusion matrices]({figure_dir}/{shown['confusion']})"]
    return out


def sweep_entry(
    round_dir: Path, figure: Callable[[str, list[Path], Callable[[], Any]], bytes], figures: dict[str, bytes]
) -> dict[str, Any] | None:
    """What the journal shows of a sweep round: the ledger, ``sweep.best.yaml`` and the figures' names.

    The text comes from :mod:`.sweeptext`, the figures from :mod:`.sweepplots`: the journal is where both meet.

    Args:
        round_dir (Path): The round's output folder.
        figure (Callable): ``(name, sources, draw) -> PNG bytes`` (the journal's figure cache).
        figures (dict[str, bytes]): The journal's figures, to which the sweep's are added.

    Returns:
        (dict[str, Any] | None): ``{ledger, best_yaml, figure_names}``, ``{problem}`` when trials.json is
        invalid, or ``None`` when the round is not a sweep.
    """
    try:
        ledger = sweeptext.read_sweep(round_dir)
    except SweepError as exc:
        return {"problem": exc.message}
    if ledger is None:
        return None
    names = []
    for kind, draw in (("trials", sweepplots.objective_by_trial), ("arguments", sweepplots.objective_by_argument)):
        name = f"{round_dir.name}_sweep_{kind}.png"
        figures[name] = figure(name, [round_dir / sweeptext.TRIALS_FILE], functools.partial(draw, ledger))
        names.append(name)
    best = round_dir / sweeptext.BEST_FILE
    best_yaml = best.read_text(encoding="utf-8") if best.is_file() else ""
    return {"ledger": ledger, "best_yaml": best_yaml, "figure_names": names}


def build(profile: str) -> dict[str, Any]:
    """Everything the journal says, as data (figures as PNG bytes)."""
    records = metrics.load_records(profile)
    records.sort(key=lambda r: r["round_id"])
    figures: dict[str, bytes] = {}
    entries = []
    for record in records:
        base = compare.base_of(record, records)
        rid = record["round_id"]
        if record.get("per_class"):
            pair = [r for r in (base, record) if r]
            sources = [paths.round_dir(r["round_id"], profile) / "metrics.json" for r in pair]
            figures[f"{rid}_classes.png"] = _figure(
                f"{rid}_classes.png", sources, profile, functools.partial(plots.round_vs_base, record, base)
            )
            figures[f"{rid}_curves.png"] = _figure(
                f"{rid}_curves.png", sources, profile, functools.partial(plots.training_curves, pair, profile=profile)
            )
        entries.append(
            {
                "record": record,
                "base": base,
                "verdict": compare.verdict(record, base),
                "changes": _diff_lines(record),
                "classes": _class_rows(record, base),
                "repeats": noise.runs_table(record),
                "gallery": _gallery(record, base, profile, figures) if record.get("per_class") else None,
                "export": read_export(paths.round_dir(rid, profile)),
                "sweep": sweep_entry(
                    paths.round_dir(rid, profile),
                    lambda name, sources, draw: _figure(name, sources, profile, draw),
                    figures,
                ),
            }
        )
    usable = [r for r in records if r.get("per_class")]
    if usable:
        figures["overview_classes.png"] = _png(plots.per_class_ap(usable))
    predictions = []
    for summary_path in sorted(paths.profile_dir(profile).glob("*/summary.json")):
        summary = read_json(summary_path)
        if isinstance(summary, dict) and "frames" in summary:
            folder = summary_path.parent
            attendance = read_attendance(folder) if (folder / "attendance.json").is_file() else None
            if attendance is not None:
                name = f"{summary['round_id']}_counts.png"
                sources = [folder / "attendance.json"]
                figures[name] = _figure(
                    name, sources, profile, functools.partial(videoplots.attendance_counts, attendance)
                )
                if attendance.summary.get("operating_point"):
                    name = f"{summary['round_id']}_operating_point.png"
                    figures[name] = _figure(
                        name, sources, profile, functools.partial(videoplots.threshold_curves, attendance)
                    )
            predictions.append({**summary, "attendance": attendance.summary if attendance else None})
    return {
        "profile": profile or "default",
        "written": time.strftime("%Y-%m-%d %H:%M"),
        "answer": answer(records),
        "lineage": lineage(records),
        "leaderboard": leaderboard(records),
        "entries": entries,
        "predictions": predictions,
        "figures": figures,
    }


def to_markdown(journal: dict[str, Any], *, figure_dir: str = "journal_files") -> str:
    """The journal as Markdown (figures referenced in ``figure_dir``)."""
    out = [
        f"# Lab journal · profile {journal['profile']}",
        "",
        f"Written by yolo-workbook on {journal['written']} from {len(journal['entries'])} round(s).",
        "",
        *([f"**{journal['answer']}**", ""] if journal.get("answer") else []),
        "## Lineage",
        "",
        *[f"{'  ' * depth}- {text}" for depth, text in journal["lineage"]],
        "",
        "## Leaderboard",
        "",
        *_leaderboard_markdown(journal["leaderboard"]),
    ]
    if "overview_classes.png" in journal["figures"]:
        out += ["", f"![per-class AP50 by round]({figure_dir}/overview_classes.png)"]
    for entry in journal["entries"]:
        record = entry["record"]
        rid = record["round_id"]
        overall = record.get("overall") or {}
        out += [
            "",
            f"## {rid}",
            "",
            f"**{entry['verdict']}**",
            "",
            f"- notebook `{record['notebook']}`, status **{record['status']}**, {_run_text(record)}",
            f"- started from `{record.get('weights_from')}`, data {' + '.join(record.get('data', {}).get('use', []))}",
            f"- why: {record.get('why') or '–'}".replace("\n", " "),
            f"- expect: {record.get('expect') or '–'}".replace("\n", " "),
            f"- changed against {record.get('base') or 'nothing (root round)'}: "
            + ("; ".join(entry["changes"]) if entry["changes"] else "nothing"),
            f"- overall: mAP50 {_fmt(overall.get('mAP50'))}, mAP50-95 {_fmt(overall.get('mAP50-95'))},"
            f" P {_fmt(overall.get('precision'))}, R {_fmt(overall.get('recall'))}",
        ]
        merged, head = class_mapping_lines(record)
        if merged:
            names = ", ".join(record["data"]["merge"]["names"])
            out += [f"- datasets merged by class name into {names}:", *(f"  - {line}" for line in merged)]
        if head:
            out.append(f"- from the starting weights: {head}")
        out += [f"- **warning**: {line}" for line in dropped_lines(record.get("data_dropped"))]
        if video_line(record):
            out.append(f"- on the classroom video: {video_line(record)}")
        if entry["classes"]:
            out += ["", "| " + " | ".join(CLASS_HEADER) + " |", "|" + "---|" * len(CLASS_HEADER)]
            out += ["| " + " | ".join(row) + " |" for row in entry["classes"]]
        if entry.get("repeats"):
            header, rows = entry["repeats"]
            out += ["", f"Training noise: the same round with {len(record['repeats']['runs'])} seeds", ""]
            cells = [[text.replace("|", "\\|") for text in row] for row in (header, *rows)]  # a class name may hold a |
            out += ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        for name in (f"{rid}_classes.png", f"{rid}_curves.png"):
            if name in journal["figures"]:
                out += ["", f"![{name}]({figure_dir}/{name})"]
        if entry.get("sweep"):
            out += sweeptext.journal_markdown(entry["sweep"], figure_dir)
        if entry.get("gallery"):
            out += _gallery_markdown(entry["gallery"], figure_dir)
        if entry.get("export"):
            out += export_markdown(entry["export"])
    if journal["predictions"]:
        out += ["", "## Predictions", ""]
        for summary in journal["predictions"]:
            out.append(f"- **{summary['round_id']}**: {_prediction_text(summary)}")
            out += (
                [f"  - {line}" for line in attendance_lines(summary["attendance"] or {})]
                if summary["attendance"]
                else []
            )
            if f"{summary['round_id']}_counts.png" in journal["figures"]:
                out += ["", f"  ![counts over time]({figure_dir}/{summary['round_id']}_counts.png)"]
            if f"{summary['round_id']}_operating_point.png" in journal["figures"]:
                name = f"{summary['round_id']}_operating_point.png"
                out += ["", f"  ![count error against the operating point per class]({figure_dir}/{name})"]
    return "\n".join(out) + "\n"


def to_html(journal: dict[str, Any]) -> str:
    """The journal as one self-contained HTML page (figures and the font subset embedded)."""
    from yolo_workbook.core.fonts import FAMILY, subset_font_base64

    def esc(text: Any) -> str:
        return html.escape(str(text))

    def img(name: str, alt: str) -> str:
        data = base64.b64encode(journal["figures"][name]).decode("ascii")
        kind = "jpeg" if name.endswith(".jpg") else "png"
        return f'<img alt="{esc(alt)}" src="data:image/{kind};base64,{data}">'

    def failures(shown: dict[str, Any]) -> list[str]:
        out = [f"<h3>Where {esc(shown['class'] or 'the weakest class')} fails</h3>", f"<p>{esc(shown['summary'])}</p>"]
        for title, items in shown["kinds"]:
            if items:
                out.append(f"<div class=gallery><b>{esc(title)}</b>")
                for name, caption, image in items:
                    out.append(f"<figure>{img(name, caption)}<figcaption>{esc(image)}</figcaption></figure>")
                out.append("</div>")
        if shown["confusion"]:
            out.append(img(shown["confusion"], "confusion matrices"))
        return out

    body = [
        f"<h1>Lab journal · profile {esc(journal['profile'])}</h1>",
        f"<p class=meta>Written by yolo-workbook on {esc(journal['written'])}"
        f" from {len(journal['entries'])} round(s).</p>",
        *([_answer_html(journal["answer"], esc)] if journal.get("answer") else []),
        "<h2>Lineage</h2><ul class=lineage>",
    ]
    for depth, text in journal["lineage"]:
        parts = esc(text).split("**")
        rendered = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
        body.append(f'<li style="margin-left:{depth * 1.6}em">{rendered}</li>')
    body += ["</ul>", "<h2>Leaderboard</h2>", _leaderboard_html(journal["leaderboard"])]
    if "overview_classes.png" in journal["figures"]:
        body.append(img("overview_classes.png", "per-class AP50 by round"))
    for entry in journal["entries"]:
        record = entry["record"]
        rid = record["round_id"]
        overall = record.get("overall") or {}
        changes = "; ".join(entry["changes"]).replace("`", "") if entry["changes"] else "nothing"
        body += [
            f'<section id="{esc(rid)}"><h2>{esc(rid)}</h2>',
            f"<p class=verdict>{esc(entry['verdict'])}</p><dl>",
            f"<dt>run</dt><dd>notebook {esc(record['notebook'])}, status <b>{esc(record['status'])}</b>,"
            f" {esc(_run_text(record))}</dd>",
            f"<dt>started from</dt><dd>{esc(record.get('weights_from'))}, data"
            f" {esc(' + '.join(record.get('data', {}).get('use', [])))}</dd>",
            f"<dt>why</dt><dd>{esc(record.get('why') or '–')}</dd>",
            f"<dt>expect</dt><dd>{esc(record.get('expect') or '–')}</dd>",
            f"<dt>changed against {esc(record.get('base') or 'nothing')}</dt><dd>{esc(changes)}</dd>",
            f"<dt>overall</dt><dd>mAP50 {_fmt(overall.get('mAP50'))}, mAP50-95 {_fmt(overall.get('mAP50-95'))},"
            f" P {_fmt(overall.get('precision'))}, R {_fmt(overall.get('recall'))}</dd>",
            *_mapping_html(record, esc),
            *(f"<dt class=warn>warning</dt><dd>{esc(line)}</dd>" for line in dropped_lines(record.get("data_dropped"))),
            *([f"<dt>classroom video</dt><dd>{esc(video_line(record))}</dd>"] if video_line(record) else []),
            "</dl>",
        ]
        if entry["classes"]:
            body.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in CLASS_HEADER) + "</tr>")
            for row in entry["classes"]:
                body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
            body.append("</table>")
        if entry.get("repeats"):
            header, rows = entry["repeats"]
            body.append(f"<table><caption>Training noise: the same round with {len(record['repeats']['runs'])} seeds")
            body.append("</caption><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
            body += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
            body.append("</table>")
        for name in (f"{rid}_classes.png", f"{rid}_curves.png"):
            if name in journal["figures"]:
                body.append(img(name, name))
        if entry.get("sweep"):
            body.append(sweeptext.journal_html(entry["sweep"], img))
        if entry.get("gallery"):
            body += failures(entry["gallery"])
        if entry.get("export"):
            body += export_html(entry["export"])
        body.append("</section>")
    if journal["predictions"]:
        body.append("<h2>Predictions</h2><ul>")
        for summary in journal["predictions"]:
            body.append(f"<li><b>{esc(summary['round_id'])}</b>: {esc(_prediction_text(summary))}")
            if summary["attendance"]:
                body.append(
                    "<ul>"
                    + "".join(f"<li>{esc(line)}</li>" for line in attendance_lines(summary["attendance"]))
                    + "</ul>"
                )
            if f"{summary['round_id']}_counts.png" in journal["figures"]:
                body.append(img(f"{summary['round_id']}_counts.png", "counts over time"))
            if f"{summary['round_id']}_operating_point.png" in journal["figures"]:
                body.append(
                    img(f"{summary['round_id']}_operating_point.png", "count error against the operating point")
                )
            body.append("</li>")
        body.append("</ul>")
    text = "\n".join(body)
    # The whole page is set in the embedded font, so the subset holds every character of the page
    # (printable ASCII too): Hangul never falls back to a system font that may lack it.
    font = subset_font_base64(PRINTABLE_ASCII + html.unescape(text))
    face = (
        f"@font-face {{ font-family: '{FAMILY}'; src: url(data:font/ttf;base64,{font}) format('truetype'); }}"
        if font
        else ""
    )
    style = f"""{face}
body {{ font-family: '{FAMILY}', system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
pre, code, table {{ font-family: inherit; }}
table {{ border-collapse: collapse; margin: .6em 0; }} th, td {{ border: 1px solid #ddd; padding: 3px 8px; }}
td {{ text-align: right; }} td:first-child, td.text {{ text-align: left; }}
th.num {{ text-align: right; }} th.text {{ text-align: left; }}
td.best {{ font-weight: 700; background: #e3f2e3; }}
caption {{ caption-side: bottom; text-align: left; color: #666; font-size: .9em; padding-top: .3em; }}
.verdict {{ font-weight: 600; background: #eef6ee; padding: .4em .6em; border-left: 4px solid #4a4; }}
.answer-yes, .answer-not-yet {{ font-weight: 600; padding: .4em .6em; }}
.answer-yes {{ background: #eef6ee; border-left: 4px solid #4a4; }}
.answer-not-yet {{ background: #fdf3e6; border-left: 4px solid #d80; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; }}
dt {{ font-weight: 600; }} dd {{ margin: 0; white-space: pre-line; }} dt.warn {{ color: #b35900; }}
img {{ max-width: 100%; display: block; margin: .5em 0; }} .meta {{ color: #666; }}
ul.lineage {{ list-style: none; padding-left: 0; }}
.gallery {{ display: flex; flex-wrap: wrap; align-items: flex-start; gap: .5em; margin: .4em 0; }}
.gallery b {{ width: 9em; }} figure {{ margin: 0; }} figure img {{ margin: 0; }}
figcaption {{ font-size: .75em; color: #666; max-width: 160px; overflow-wrap: anywhere; }}"""
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>Lab journal · {esc(journal['profile'])}</title><style>{style}</style></head>"
        f"<body>\n{text}\n</body></html>\n"
    )


def _answer_html(answer: str, esc: Callable[[Any], str]) -> str:
    """The readiness line, green when the bar is met, amber when not yet."""
    kind = "answer-yes" if "? yes: " in answer else "answer-not-yet"
    return f"<p class={kind}>{esc(answer)}</p>"


def _mapping_html(record: dict[str, Any], esc: Callable[[Any], str]) -> list[str]:
    """The class mapping lines of a round's section (:func:`class_mapping_lines`) as ``<dt>``/``<dd>`` pairs."""
    merged, head = class_mapping_lines(record)
    out = []
    if merged:
        names = ", ".join(record["data"]["merge"]["names"])
        text = "\n".join(esc(line) for line in [f"into {names}", *merged])
        out.append(f"<dt>merged by class name</dt><dd>{text}</dd>")
    if head:
        out.append(f"<dt>from the starting weights</dt><dd>{esc(head)}</dd>")
    return out


def write_journal(profile: str) -> tuple[Path, Path]:
    """Write ``journal.md`` (+ ``journal_files/``) and ``journal.html`` under ``outputs/<profile>/``.

    Returns:
        (tuple[Path, Path]): The Markdown and HTML paths.
    """
    folder = paths.profile_dir(profile)
    # Rounds that end at the same time take turns: each journal is built from every record, complete.
    with locks.hold(folder / "journal", what=f"the journal of {folder}", fix="wait, then run again", wait=300):
        journal = build(profile)
        figure_dir = folder / "journal_files"
        figure_dir.mkdir(parents=True, exist_ok=True)
        for name, data in journal["figures"].items():
            with atomic_output(figure_dir / name) as partial:
                partial.write_bytes(data)
        md_path = write_atomic(folder / "journal.md", to_markdown(journal))
        html_path = write_atomic(folder / "journal.html", to_html(journal))
    return md_path, html_path
