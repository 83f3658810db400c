"""sweeptext: a sweep round's trials.json as a terminal table, in the journal, and the chosen round file."""

from __future__ import annotations

import json

import jsonschema
import pytest
from sweep_samples import BEST_YAML, MAXIMIZE, MINIMIZE, ledger, write_sweep

from yolo_workbook.core import schemas
from yolo_workbook.core.errors import SweepError
from yolo_workbook.core.text import display_width
from yolo_workbook.reporting.sweeptext import (
    NOT_A_SWEEP,
    format_trials,
    journal_markdown,
    overhead_line,
    read_sweep,
    show_sweep_text,
    sweep_html,
    sweep_markdown,
)


@pytest.mark.parametrize("doc", [MAXIMIZE, MINIMIZE])
def test_samples_are_valid_trials_json(doc):
    jsonschema.validate(doc, schemas.load("trials.schema.json"))


def test_read_sweep_returns_the_ledger_or_none_without_trials_json(tmp_path):
    assert read_sweep(tmp_path) is None
    write_sweep(tmp_path, MAXIMIZE)
    assert read_sweep(tmp_path) == MAXIMIZE


def test_read_sweep_names_the_file_and_the_key_of_an_invalid_ledger(tmp_path):
    doc = ledger(MAXIMIZE)
    doc["trials"][1]["status"] = "stopped"
    write_sweep(tmp_path, doc)
    with pytest.raises(SweepError) as caught:
        read_sweep(tmp_path)
    assert str(tmp_path / "trials.json") in caught.value.message
    assert "trials/1/status" in caught.value.message and "'stopped'" in caught.value.message
    assert "--force" in caught.value.fix


def test_read_sweep_refuses_a_file_that_is_not_json(tmp_path):
    (tmp_path / "trials.json").write_text('{"schema_version": 1, "trials": [', encoding="utf-8")
    with pytest.raises(SweepError, match="not readable JSON"):
        read_sweep(tmp_path)


def test_format_trials_of_a_minimized_objective():
    expected = "\n".join(
        [
            "r10_sweep_count: 2 of 4 trials ended (1 running), objective count err (lower is better);"
            " best: trial 1, 1.200",
            "trial status   epochs count err optimizer mosaic mAP50-95 train time",
            "0     ok          2/2     2.500       SGD    0.5    0.500      1m00s",
            "1     ok          2/2     1.200     AdamW   0.25    0.510      1m01s ← best",
            "2     running     0/2         –       SGD   0.75        –      1m02s",
            "trials trained 3m03s in all (the sweep's wall time is not recorded)",
        ]
    )
    assert format_trials(MINIMIZE) == expected


def test_format_trials_aligns_hangul_columns_and_marks_only_the_best():
    lines = format_trials(MAXIMIZE).splitlines()
    header, rows = lines[1], lines[2:7]
    assert header.split() == ["trial", "status", "epochs", "시태", "AP50", "lr0", "cls_pw", "freeze", "mAP50-95",
                              "train", "time"]  # fmt: skip
    # right-aligned columns end at the same terminal column in every row (시태 takes two columns a character)
    columns = {"AP50": ["0.401", "0.105", "0.612", "–", "0.550"], "mAP50-95": ["0.500", "0.510", "0.520", "–", "0.540"]}
    for title, values in columns.items():
        end = display_width(header[: header.index(title) + len(title)])
        for row, value in zip(rows, values, strict=True):
            if value != "–":
                assert display_width(row[: row.index(value) + len(value)]) == end, (title, row)
    assert [row.split()[0] for row in rows if row.endswith("← best")] == ["2"]
    assert "1     pruned     1/3     0.105" in rows[1]
    assert rows[3].split()[:4] == ["3", "failed", "0/3", "–"]
    assert lines[7] == "trial 3 failed: CUDA out of memory"
    assert lines[8] == "wall time 6m40s, trials trained 5m00s: overhead 1m40s (25% of it)"
    assert lines[0].startswith("r09_sweep_sitae: 5 of 5 trials ended (1 pruned, 1 failed), objective 시태 AP50;")


def test_overhead_sums_the_trials_when_the_ledger_has_only_the_wall_time():
    doc = ledger(MINIMIZE)
    doc["seconds"] = {"wall": 200.0}
    assert overhead_line(doc) == "wall time 3m20s, trials trained 3m03s: overhead 0m17s (8% of it)"


def test_show_sweep_text_says_when_a_round_is_not_a_sweep(tmp_path):
    assert show_sweep_text(tmp_path) == NOT_A_SWEEP == "this round is not a sweep (no trials.json)"
    write_sweep(tmp_path, MINIMIZE)
    assert show_sweep_text(tmp_path).splitlines()[1].startswith("trial status")


def test_sweep_markdown_has_the_table_the_figures_and_the_ready_round_file():
    lines = sweep_markdown(MAXIMIZE, BEST_YAML, ["r09_sweep_trials.png"], figure_dir="files")
    text = "\n".join(lines)
    assert "| trial | status | epochs | 시태 AP50 | lr0 | cls_pw | freeze | mAP50-95 | train time |" in lines
    assert "|---|---|---:|---:|---:|---:|---:|---:|---:|" in lines
    assert "| **2** | **ok** | **3/3** | **0.612** | **0.0051** | **0.5** | **10** | **0.520** | **1m02s** |" in lines
    assert "| 3 | failed | 0/3 | – | 0.002 | 0.1 | 6 | – | 1m03s |" in lines
    assert sum("**" in line for line in lines if line.startswith("| ")) == 1
    assert "![r09_sweep_trials.png](files/r09_sweep_trials.png)" in lines
    assert "copy to params/r09_sweep_sitae_best.yaml" in text
    block = text[text.index("```yaml\n") + 8 : text.rindex("\n```")]
    assert block + "\n" == BEST_YAML
    assert "- wall time 6m40s, trials trained 5m00s: overhead 1m40s (25% of it)" in lines


def test_sweep_markdown_without_a_best_round_file_and_with_a_pipe_in_a_value():
    doc = ledger(MINIMIZE)
    doc["trials"][0]["arguments"]["optimizer"] = "a|b"
    lines = sweep_markdown(doc, "", [])
    assert "| 0 | ok | 2/2 | 2.500 | a\\|b | 0.5 | 0.500 | 1m00s |" in lines
    assert not any("```" in line or "copy to" in line for line in lines)


def test_sweep_markdown_names_a_placeholder_when_the_round_file_has_no_round_id():
    text = "\n".join(sweep_markdown(MAXIMIZE, "train: [unclosed\n", []))
    assert "copy to params/<next round>.yaml" in text


def test_sweep_html_marks_the_best_row_and_shows_the_round_file_without_pre():
    page = sweep_html(MAXIMIZE, BEST_YAML + "# <b>\n", ["x.png"], img=lambda name, alt: f"<img {name}>")
    assert "<pre" not in page  # a <pre> would be set in a monospace font that may lack Hangul
    assert "<th>시태 AP50</th>" in page
    best = [row for row in page.split("<tr>") if 'class="best"' in row]
    assert len(best) == 1 and best[0].startswith('<td class="best" title="the best trial">2</td>')
    assert "<li>trial 3 failed: CUDA out of memory</li>" in page
    assert "<img x.png>" in page
    assert "copy to params/r09_sweep_sitae_best.yaml" in page
    assert "<code class=yaml" in page and "# &lt;b&gt;" in page and "# <b>" not in page


def test_journal_markdown_says_why_a_ledger_cannot_be_shown():
    assert journal_markdown({"problem": "trials.json: key best is not valid"}, "files")[-1] == (
        "trials.json cannot be shown: trials.json: key best is not valid"
    )


def test_sample_ledgers_are_plain_json():
    assert json.loads(json.dumps(MAXIMIZE, ensure_ascii=False)) == MAXIMIZE
