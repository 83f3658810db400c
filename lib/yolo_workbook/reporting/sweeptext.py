"""A sweep round in words: the trials table for the notebook and the journal, and the chosen arguments.

Everything comes from the files a sweep leaves in its round folder: ``trials.json`` (schema
``trials.schema.json``, one entry per trial) and ``sweep.best.yaml`` (a ready round file with the best
trial's arguments). This module reads them only; the sweep itself is :mod:`yolo_workbook.tuning`.

Examples:
    >>> from yolo_workbook.reporting.sweeptext import objective_text
    >>> objective_text({"text": "count err", "direction": "minimize"})
    'count err (lower is better)'
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yolo_workbook.core.files import YamlReadError, parse_yaml
from yolo_workbook.core.text import column_widths, format_duration, format_row
from yolo_workbook.tuning import ledger as ledgers
from yolo_workbook.tuning.sweep import BEST_FILE

TRIALS_FILE, BEST_FILE = ledgers.FILE_NAME, BEST_FILE
NOT_A_SWEEP = "this round is not a sweep (no trials.json)"
BEST_MARK = "← best"


def read_sweep(round_dir: Path) -> dict[str, Any] | None:
    """The round's ``trials.json``, checked against its schema; ``None`` when the round has none
    (:func:`yolo_workbook.tuning.ledger.read_ledger`: the one reader of the format).

    Raises:
        SweepError: The file is not JSON, or not valid against the schema (naming the key).
    """
    return ledgers.read_ledger(round_dir)


def _num(value: Any, form: str = ".3f") -> str:
    return format(value, form) if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def _argument(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def objective_text(objective: dict[str, Any]) -> str:
    """The objective as written in the round file, with ``(lower is better)`` when it is minimized."""
    return objective["text"] + (" (lower is better)" if objective.get("direction") == "minimize" else "")


def trial_header(ledger: dict[str, Any]) -> list[str]:
    """The trials table's titles: number, status, epochs, objective, each searched argument, mAP50-95, time."""
    return ["trial", "status", "epochs", ledger["objective"]["text"], *ledger["space"], "mAP50-95", "train time"]


def trial_rows(ledger: dict[str, Any]) -> list[list[str]]:
    """One row of cells per trial, in trial order (the columns of :func:`trial_header`)."""
    epochs = ledger["budget"]["epochs"]
    rows = []
    for trial in sorted(ledger["trials"], key=lambda t: t["number"]):
        arguments = trial.get("arguments") or {}
        rows.append(
            [
                str(trial["number"]),
                trial["status"],
                f"{trial['epochs_run']}/{epochs}",
                _num(trial.get("objective")),
                *[_argument(arguments.get(key)) for key in ledger["space"]],
                _num((trial.get("metrics") or {}).get("mAP50-95")),
                format_duration(trial["train_seconds"]) if "train_seconds" in trial else "–",
            ]
        )
    return rows


def summary_line(ledger: dict[str, Any]) -> str:
    """Trials done of planned, pruned and failed, the objective, and the best trial's value."""
    trials = ledger["trials"]
    ended = [t for t in trials if t["status"] != "running"]
    counts = [f"{sum(t['status'] == s for t in trials)} {s}" for s in ("pruned", "failed", "running")]
    counts = [c for c in counts if not c.startswith("0 ")]
    best = next((t for t in trials if t["number"] == ledger.get("best")), None)
    chosen = f"best: trial {best['number']}, {_num(best.get('objective'))}" if best else "no best trial yet"
    return (
        f"{ledger['round_id']}: {len(ended)} of {ledger['budget']['trials']} trials ended"
        + (f" ({', '.join(counts)})" if counts else "")
        + f", objective {objective_text(ledger['objective'])}; {chosen}"
    )


def overhead_line(ledger: dict[str, Any]) -> str:
    """The sweep's wall time against the sum of its trials' training times: the overhead."""
    seconds = ledger.get("seconds") or {}
    trained = seconds.get("trials")
    if not isinstance(trained, (int, float)):
        trained = sum(t.get("train_seconds", 0) for t in ledger["trials"])
    wall = seconds.get("wall")
    if not isinstance(wall, (int, float)):
        return f"trials trained {format_duration(trained)} in all (the sweep's wall time is not recorded)"
    share = f" ({(wall - trained) / wall:.0%} of it)" if wall > 0 else ""
    return (
        f"wall time {format_duration(wall)}, trials trained {format_duration(trained)}:"
        f" overhead {format_duration(wall - trained)}{share}"
    )


def failure_lines(ledger: dict[str, Any]) -> list[str]:
    """Why each failed trial failed (its ``error``)."""
    return [
        f"trial {t['number']} failed: {t.get('error') or 'no error recorded'}"
        for t in sorted(ledger["trials"], key=lambda t: t["number"])
        if t["status"] == "failed"
    ]


def format_trials(ledger: dict[str, Any]) -> str:
    """The trials as a terminal table (Hangul-safe widths), the best trial marked, then the overhead.

    Args:
        ledger (dict[str, Any]): A ``trials.json`` (see :func:`read_sweep`).

    Returns:
        (str): A summary line, the table, why trials failed, and the wall time against the trials' time.
    """
    header = trial_header(ledger)
    rows = trial_rows(ledger)
    best = ledger.get("best")
    rows = [[*row, f" {BEST_MARK}"] if row[0] == str(best) else row for row in rows]
    widths = column_widths([header, *rows])
    align = "<<>>" + ">" * len(ledger["space"]) + ">><"
    table = [format_row(row, widths, align) for row in (header, *rows)]
    return "\n".join([summary_line(ledger), *table, *failure_lines(ledger), overhead_line(ledger)])


def show_sweep_text(round_dir: Path) -> str:
    """The notebook's display of a sweep round: :func:`format_trials`, or a sentence when it is not a sweep."""
    ledger = read_sweep(round_dir)
    return NOT_A_SWEEP if ledger is None else format_trials(ledger)


def best_round_id(best_yaml: str) -> str:
    """The ``round_id`` the ready round file names (its file name under ``params/``), or ``""``."""
    try:
        data = parse_yaml(best_yaml).data
    except YamlReadError:
        return ""
    return str(data.get("round_id") or "") if isinstance(data, dict) else ""


def best_sentence(best_yaml: str) -> str:
    """What to do with ``sweep.best.yaml``: where to copy it to train the chosen arguments fully."""
    target = best_round_id(best_yaml) or "<next round>"
    return (
        f"The best trial's arguments as a round file of their own ({BEST_FILE} in the round folder):"
        f" copy to params/{target}.yaml to train them in full."
    )


def sweep_markdown(
    ledger: dict[str, Any], best_yaml: str, figure_names: list[str], *, figure_dir: str = "journal_files"
) -> list[str]:
    """A sweep round in the journal's Markdown: the trials table, its figures and the chosen arguments.

    Args:
        ledger (dict[str, Any]): The round's ``trials.json``.
        best_yaml (str): The text of ``sweep.best.yaml`` (``""`` before a best trial exists).
        figure_names (list[str]): The figures' file names in ``figure_dir``.
        figure_dir (str): Where the Markdown finds the figures.

    Returns:
        (list[str]): Lines, starting with a blank one.
    """
    header, rows = trial_header(ledger), trial_rows(ledger)
    best = str(ledger.get("best"))

    def cell(text: str, row: list[str]) -> str:
        text = text.replace("|", "\\|")  # an argument value may hold the column separator
        return f"**{text}**" if row[0] == best else text

    out = ["", "### Sweep", "", summary_line(ledger) + " (bold: the best trial)", ""]
    out += ["| " + " | ".join(t.replace("|", "\\|") for t in header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    out += ["| " + " | ".join(cell(t, row) for t in row) + " |" for row in rows]
    out += ["", *[f"- {line}" for line in failure_lines(ledger)], f"- {overhead_line(ledger)}"]
    for name in figure_names:
        out += ["", f"![{name}]({figure_dir}/{name})"]
    if best_yaml:
        out += ["", best_sentence(best_yaml), "", "```yaml", best_yaml.rstrip("\n"), "```"]
    return out


def sweep_html(
    ledger: dict[str, Any], best_yaml: str, figure_names: list[str], *, img: Callable[[str, str], str]
) -> str:
    """A sweep round in the journal's HTML: the trials table (the best row marked), figures, chosen arguments.

    Args:
        ledger (dict[str, Any]): The round's ``trials.json``.
        best_yaml (str): The text of ``sweep.best.yaml`` (``""`` before a best trial exists).
        figure_names (list[str]): The figures' names.
        img (Callable[[str, str], str]): ``(name, alt) -> <img>`` with the figure embedded (the journal's).

    Returns:
        (str): HTML; the round file in a ``<code>`` block set in the page's font (no ``<pre>``: its
        monospace font may lack Hangul).
    """
    esc = html.escape
    best = str(ledger.get("best"))
    out = [
        "<h3>Sweep</h3>",
        f"<table class=sweep><caption>{esc(summary_line(ledger))}; marked: the best trial."
        f" {esc(overhead_line(ledger))}</caption><tr>",
        "".join(f"<th>{esc(title)}</th>" for title in trial_header(ledger)) + "</tr>",
    ]
    for row in trial_rows(ledger):
        mark = ' class="best" title="the best trial"' if row[0] == best else ""
        out.append("<tr>" + "".join(f"<td{mark}>{esc(cell)}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    failures = failure_lines(ledger)
    if failures:
        out.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in failures) + "</ul>")
    out += [img(name, name) for name in figure_names]
    if best_yaml:
        out += [
            f"<p>{esc(best_sentence(best_yaml))}</p>",
            f'<code class=yaml style="display:block; white-space:pre; background:#f6f6f6; padding:.5em">'
            f"{esc(best_yaml.rstrip())}</code>",
        ]
    return "\n".join(out)


def journal_markdown(shown: dict[str, Any], figure_dir: str) -> list[str]:
    """:func:`sweep_markdown` of what the journal found (:func:`yolo_workbook.reporting.journal.sweep_entry`), or
    why its trials.json cannot be shown."""
    if "problem" in shown:
        return ["", "### Sweep", "", f"trials.json cannot be shown: {shown['problem']}"]
    return sweep_markdown(shown["ledger"], shown["best_yaml"], shown["figure_names"], figure_dir=figure_dir)


def journal_html(shown: dict[str, Any], img: Callable[[str, str], str]) -> str:
    """:func:`sweep_html` of what the journal found (:func:`yolo_workbook.reporting.journal.sweep_entry`), or why
    its trials.json cannot be shown."""
    if "problem" in shown:
        return f"<h3>Sweep</h3><p>trials.json cannot be shown: {html.escape(shown['problem'])}</p>"
    return sweep_html(shown["ledger"], shown["best_yaml"], shown["figure_names"], img=img)
