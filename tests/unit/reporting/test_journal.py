"""journal: the story of the rounds, with numbers that match results.csv and ultralytics' validation."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import warnings
from pathlib import Path

import pytest
import yaml
from journal_samples import write_hangul_journal
from sweep_samples import BEST_YAML, MAXIMIZE, MINIMIZE, ledger, write_sweep

from yolo_workbook.core.fonts import setup_matplotlib
from yolo_workbook.data import dataset
from yolo_workbook.reporting import journal, plots
from yolo_workbook.training import metrics

HANGUL = ["학생", "책상", "시태"]


@pytest.mark.notebook
@pytest.mark.slow
def test_pipeline_writes_a_self_contained_journal(ci_pipeline):
    folder = ci_pipeline / "ci"
    page = (folder / "journal.html").read_text(encoding="utf-8")
    markdown = (folder / "journal.md").read_text(encoding="utf-8")
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("r0*/metrics.json"))]
    assert len(records) == 9
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from the network
    assert page.count("data:image/png;base64,") >= 1 + 2 * len(records)
    for record in records:
        rid = record["round_id"]
        assert f"<h2>{rid}</h2>" in page and f"## {rid}" in markdown
        assert f"mAP50-95 {record['overall']['mAP50-95']:.3f}" in markdown
        for change in record["params_diff"]:
            assert change["key"] in markdown
    assert "r02_freeze_new_data's best weights → **r03_merge**" in markdown
    assert "데이터 증강" in page  # the user's own words, in Korean
    assert "## Predictions" in markdown and "p01_video" in markdown


@pytest.mark.notebook
@pytest.mark.slow
def test_journal_font_subset_covers_every_hangul_character(ci_pipeline):
    from fontTools.ttLib import TTFont

    page = (ci_pipeline / "ci" / "journal.html").read_text(encoding="utf-8")
    font = re.search(r"data:font/ttf;base64,([A-Za-z0-9+/=]+)", page).group(1)
    cmap = TTFont(io.BytesIO(base64.b64decode(font))).getBestCmap()
    hangul = {ch for ch in page if "\uac00" <= ch <= "\ud7a3"}
    assert hangul and all(ord(ch) in cmap for ch in hangul)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("round_id", ["r01_base", "r03_merge"])
def test_recorded_numbers_match_results_csv_and_a_fresh_validation(ci_pipeline, round_id, monkeypatch):
    from ultralytics import YOLO

    monkeypatch.setenv("YOLO_WORKBOOK_OUTPUTS", str(ci_pipeline))
    folder = ci_pipeline / "ci" / round_id
    record = json.loads((folder / "metrics.json").read_text())
    rows = metrics.read_results_csv(folder / "train" / "results.csv")
    assert record["epochs_run"] == len(rows)
    assert record["best_epoch"] == int(max(rows, key=lambda r: r["metrics/mAP50-95(B)"])["epoch"])
    args = yaml.safe_load((folder / "train" / "args.yaml").read_text())
    fresh = YOLO(str(folder / "train" / "weights" / "best.pt")).val(
        data=record["data"]["data_yaml"], imgsz=args["imgsz"], batch=args["batch"], workers=0, plots=False,
        project=str(folder / "revalidation"), name="val", verbose=False,
    )  # fmt: skip
    assert record["overall"]["mAP50-95"] == pytest.approx(float(fresh.box.map), abs=1e-6)
    assert record["overall"]["mAP50"] == pytest.approx(float(fresh.box.map50), abs=1e-6)
    present = [int(i) for i in fresh.ap_class_index]
    for cid, name in enumerate(record["data"]["names"]):
        entry = record["per_class"][name]
        assert entry["in_val"] == (cid in present)
        if cid in present:
            assert entry["AP50"] == pytest.approx(float(fresh.box.ap50[present.index(cid)]), abs=1e-6)
        else:
            assert entry["AP50"] is None  # never ultralytics' filled-in overall mAP


def test_hangul_class_names_render_without_missing_glyphs(tmp_path, ci_data):
    data_yaml = tmp_path / "data.yaml"
    source = yaml.safe_load(ci_data["first"].read_text())
    source.update(path=str(ci_data["first"].parent), train="train/images", val="valid/images", test="test/images")
    source["names"] = HANGUL
    data_yaml.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    counts = dataset.count_dataset(data_yaml)
    record = {
        "round_id": "r01_base",
        "per_class": {n: {"in_val": True, "AP50": 0.5 + i / 10, "AP50-95": 0.3} for i, n in enumerate(HANGUL)},
    }
    assert setup_matplotlib() == "NanumGothic"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        for fig in (
            plots.class_balance({"교실": counts}),
            plots.per_class_ap([record]),
            plots.round_vs_base(record, None),
        ):
            fig.savefig(io.BytesIO(), format="png")


# --- Hangul in journal.html: the leaderboard table and the embedded font ----------------------------


@pytest.fixture()
def hangul_journal(outputs) -> tuple[Path, Path]:
    """``journal.md`` and ``journal.html`` of three rounds whose classes are 학생, 책상, 시태."""
    return write_hangul_journal(outputs)


def _visible_text(page: str) -> str:
    """Every character the page shows: the body's text and attribute values (titles, alt texts)."""
    body = page[page.index("<body>") : page.index("</body>")]
    body = re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", body)
    return html.unescape(body)


def test_journal_leaderboard_is_a_table_with_the_best_values_marked(hangul_journal):
    md_path, html_path = hangul_journal
    page = html_path.read_text(encoding="utf-8")
    assert "<pre" not in page  # no monospace block whose font lacks Hangul
    table = re.search(r"<table class=leaderboard>.*?</table>", page, re.S).group(0)
    for title in ("AP50 학생", "AP50 책상", "AP50 시태", "train time"):
        assert f">{title}</th>" in table
    best = re.findall(r'<td class="num best" title="best ([^"]+) of these rounds \(higher is better\)">([^<]+)<', table)
    assert sorted(best) == sorted(
        [("mAP50", "0.787"), ("mAP50-95", "0.394"), ("P", "0.700"), ("P", "0.700"), ("P", "0.700"), ("R", "0.600"),
         ("R", "0.600"), ("R", "0.600"), ("AP50 학생", "0.910"), ("AP50 책상", "0.950"), ("AP50 책상", "0.950"),
         ("AP50 시태", "0.612")]
    )  # fmt: skip
    assert "higher is better" in table and "Train time is not ranked" in table
    markdown = md_path.read_text(encoding="utf-8")
    header = "| round | status | mAP50 | mAP50-95 | P | R | AP50 학생 | AP50 책상 | AP50 시태 | train time |"
    second = "| r02_lr_low | ok | 0.755 | 0.378 | **0.700** | **0.600** | **0.910** | **0.950** | 0.405 | 1m35s |"
    assert header in markdown and second in markdown


def test_journal_font_subset_covers_every_character_on_the_page(hangul_journal):
    from fontTools.ttLib import TTFont

    from yolo_workbook.core.fonts import FAMILY, cjk_font_path

    page = hangul_journal[1].read_text(encoding="utf-8")
    assert re.search(rf"body {{ font-family: '{FAMILY}',", page)  # the embedded font first, for every element
    font = re.search(r"data:font/ttf;base64,([A-Za-z0-9+/=]+)", page).group(1)
    subset = TTFont(io.BytesIO(base64.b64decode(font))).getBestCmap()
    full = TTFont(str(cjk_font_path())).getBestCmap()
    shown = {ch for ch in _visible_text(page) if not ch.isspace() or ch == " "}
    assert {"학", "생", "책", "상", "시", "태", "증", "강", "교", "실"} <= shown  # class names, why, data names
    assert not [ch for ch in shown if ord(ch) in full and ord(ch) not in subset]


# --- a sweep round in the journal: its trials table, figures and ready round file ---------------------


def test_journal_shows_a_sweep_round_after_its_results(hangul_journal):
    from journal_samples import HANGUL_PROFILE
    from sweep_samples import BEST_YAML, MAXIMIZE, ledger, write_sweep

    from yolo_workbook.reporting import journal

    folder = hangul_journal[0].parent
    doc = ledger(MAXIMIZE)
    doc["round_id"] = "r02_lr_low"
    write_sweep(folder / "r02_lr_low", doc, BEST_YAML)
    md_path, html_path = journal.write_journal(HANGUL_PROFILE)
    markdown = md_path.read_text(encoding="utf-8")
    assert markdown.count("### Sweep") == 1
    section = markdown[markdown.index("## r02_lr_low") : markdown.index("## r03_no_sitae_in_val")]
    assert section.index("r02_lr_low_curves.png") < section.index("### Sweep")  # after the round's results
    assert "| **2** | **ok** | **3/3** | **0.612** |" in section
    for name in ("r02_lr_low_sweep_trials.png", "r02_lr_low_sweep_arguments.png"):
        assert f"![{name}](journal_files/{name})" in section
        assert (folder / "journal_files" / name).read_bytes().startswith(b"\x89PNG")
    assert (
        "copy to params/r09_sweep_sitae_best.yaml" in section and "```yaml\nround_id: r09_sweep_sitae_best" in section
    )
    page = html_path.read_text(encoding="utf-8")
    assert "<pre" not in page and page.count("<h3>Sweep</h3>") == 1
    assert (
        page.index('<section id="r02_lr_low">') < page.index("<h3>Sweep</h3>") < page.index('id="r03_no_sitae_in_val"')
    )
    assert "<th>시태 AP50</th>" in page and "<code class=yaml" in page
    assert 'alt="r02_lr_low_sweep_trials.png" src="data:image/png;base64,' in page


def test_journal_names_the_key_of_an_invalid_trials_json_and_goes_on(hangul_journal):
    from journal_samples import HANGUL_PROFILE
    from sweep_samples import MAXIMIZE, ledger, write_sweep

    from yolo_workbook.reporting import journal

    folder = hangul_journal[0].parent
    doc = ledger(MAXIMIZE)
    del doc["trials"][0]["status"]
    write_sweep(folder / "r01_base", doc)
    md_path, html_path = journal.write_journal(HANGUL_PROFILE)
    markdown = md_path.read_text(encoding="utf-8")
    assert "trials.json cannot be shown:" in markdown and "key trials/0 is not valid ('status'" in markdown
    assert "## r03_no_sitae_in_val" in markdown
    assert "trials.json cannot be shown:" in html_path.read_text(encoding="utf-8")


def test_sweep_entry_draws_both_figures_and_reads_the_best_round_file(tmp_path):
    calls = []

    def figure(name, sources, draw):
        import matplotlib.pyplot as plt

        fig = draw()
        calls.append((name, sources, len(fig.axes)))  # objective by trial: 1 panel; by argument: 1 per argument
        plt.close(fig)
        return b"png"

    figures: dict[str, bytes] = {}
    folder = write_sweep(tmp_path / "r09_sweep_sitae", MAXIMIZE, BEST_YAML)
    shown = journal.sweep_entry(folder, figure, figures)
    names = ["r09_sweep_sitae_sweep_trials.png", "r09_sweep_sitae_sweep_arguments.png"]
    assert shown == {"ledger": MAXIMIZE, "best_yaml": BEST_YAML, "figure_names": names}
    assert calls == [(names[0], [folder / "trials.json"], 1), (names[1], [folder / "trials.json"], 3)]
    assert figures == dict.fromkeys(names, b"png")
    assert journal.sweep_entry(tmp_path, figure, {}) is None


def test_sweep_entry_reports_an_invalid_ledger_instead_of_raising(tmp_path):
    doc = ledger(MINIMIZE)
    doc["best"] = "one"
    shown = journal.sweep_entry(write_sweep(tmp_path, doc), lambda *_: b"", {})
    assert set(shown) == {"problem"} and "key best is not valid" in shown["problem"]


def test_the_best_count_error_is_the_lowest_and_its_cell_says_so():
    from yolo_workbook.reporting.leaderboard import leaderboard

    def record(round_id: str, count_err: float) -> dict:
        video = {"score": {"overall": {"count_mae_stable": count_err, "idf1": 0.5}}}
        return {"round_id": round_id, "status": "ok", "overall": {"mAP50": 0.5}, "video": video}

    table = journal._leaderboard_html(leaderboard([record("r01_base", 0.9), record("r02_merge", 0.4)]))
    assert '<td class="num best" title="best count err of these rounds (lower is better)">0.400</td>' in table
    assert "count err of these rounds (higher" not in table


def test_a_rounds_section_shows_its_class_mapping_and_what_ultralytics_left_out(outputs):
    import jsonschema
    from journal_samples import hangul_record

    from yolo_workbook.reporting.leaderboard import format_result

    record = hangul_record("r03_merge", "", [0.8, 0.9, 0.5], 0.75, 60)
    record.update(per_class=None)  # no figures to draw: the section's text is what this test reads
    record["data"] = {
        "use": ["classroom_v1", "classroom_v2"],
        "data_yaml": "merged/data.yaml",
        "names": ["student", "desk", "sitae"],
        "merge": {
            "names": ["student", "desk", "sitae"],
            "sources": [
                {"name": "classroom_v1", "names": ["student", "desk", "sitae"], "moved": []},
                {"name": "classroom_v2", "names": ["desk", "student", "sitae"], "moved": [[0, 1], [1, 0]]},
            ],
        },
    }
    record["class_transfer"] = {
        "how": "remapped",
        "moved": [["desk", 1, 0], ["student", 0, 1]],
        "only_in_weights": [],
        "only_in_data": [],
        "text": "head rows remapped by name: desk 1->0, student 0->1",
    }
    reason = "/data/train/images/a.jpg: ignoring corrupt image/label: Label class 7 exceeds dataset class count 3."
    record["data_dropped"] = {
        "train": {"images": 4, "of": 40, "reasons": [reason]},
        "val": {"images": 0, "of": 12, "reasons": []},
    }
    folder = outputs / "mapped" / "r03_merge"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    built = journal.build("mapped")
    markdown, page = journal.to_markdown(built), journal.to_html(built)
    assert (
        "- datasets merged by class name into student, desk, sitae:\n"
        "  - classroom_v1: student, desk, sitae; ids unchanged\n"
        "  - classroom_v2: desk, student, sitae; ids 0->1 1->0\n"
        "- from the starting weights: head rows remapped by name: desk 1->0, student 0->1\n"
        f"- **warning**: ultralytics left out 4 of 40 train images, e.g. {reason}\n"
    ) in markdown
    assert "val images" not in markdown  # nothing left out of val: no line
    assert "<dt>merged by class name</dt><dd>into student, desk, sitae\nclassroom_v1:" in page
    assert "ids 0-&gt;1 1-&gt;0" in page and "ultralytics left out 4 of 40 train images" in page
    lines = format_result(record).splitlines()
    assert lines[1] == f"  warning: ultralytics left out 4 of 40 train images, e.g. {reason}"
    jsonschema.validate(record, metrics.schema())  # the fields as metrics.json holds them
