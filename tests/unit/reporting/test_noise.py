"""noise: training noise from repeated runs in the verdict (within / beyond), in metrics.json, in the journal."""

from __future__ import annotations

import jsonschema
import pytest

from yolo_workbook.core.files import read_json
from yolo_workbook.reporting import compare, journal, noise
from yolo_workbook.reporting.leaderboard import leaderboard
from yolo_workbook.training import metrics

SHARES = {"student": 0.45, "desk": 0.45, "sitae": 0.10}


def _record(rid: str, base: str, ap50: dict[str, float], map5095: float, spread: dict | None = None) -> dict:
    per_class = {n: {"in_val": True, "AP50": v, "AP50-95": v / 2, "train_share": SHARES[n]} for n, v in ap50.items()}
    overall = {"mAP50": 0.8, "mAP50-95": map5095, "precision": 0.7, "recall": 0.7}
    record = {"round_id": rid, "base": base, "status": "ok", "overall": overall, "per_class": per_class}
    if spread is not None:
        runs = [{"seed": s, "mAP50": 0.8, "mAP50-95": map5095, "per_class": dict(ap50)} for s in range(3)]
        record["repeats"] = {"runs": runs, "spread": spread}
        record["data"] = {"names": list(ap50)}
    return record


def _spread(n: int, **std: float) -> dict:
    return {
        metric.replace("_", " "): {"n": n, "mean": 0.5, "std": s, "min": 0.4, "max": 0.6} for metric, s in std.items()
    }


# r03_merge trained with 3 seeds: mAP50-95 moves by std 0.01, sitae AP50 by 0.03, student AP50 by 0.05.
BASE_SPREAD = _spread(3, **{"mAP50-95": 0.01, "sitae_AP50": 0.03, "student_AP50": 0.05})


def test_each_delta_says_whether_it_is_within_the_training_noise_of_the_base(outputs):
    base = _record("r03_merge", "", {"student": 0.9, "desk": 0.9, "sitae": 0.5}, 0.60, BASE_SPREAD)
    child = _record("r04_lr_cos", "r03_merge", {"student": 0.97, "desk": 0.91, "sitae": 0.4}, 0.64)
    line = compare.verdict(child, base)
    # band = 2 * sqrt(2) * std: 0.0283 (mAP50-95), 0.0849 (sitae), 0.1414 (student)
    assert line.startswith(
        "mAP50-95 +0.040, beyond training noise ±0.028 (3 seeds of r03_merge) vs r03_merge;"
        " sitae AP50 -0.100, beyond training noise ±0.085 (3 seeds of r03_merge);"
        " student AP50 +0.070, within training noise ±0.141 (3 seeds of r03_merge)"
    ), line
    assert "(no interval: " in line and "weakest: sitae" in line  # the rest of the verdict as before


def test_a_delta_just_inside_the_band_is_within_and_just_outside_beyond():
    found = noise.noise_of(_record("r07", "r06", {"sitae": 0.5}, 0.5, _spread(3, sitae_AP50=0.03)), None)
    assert found.band("sitae AP50") == pytest.approx(0.0848528, abs=1e-6)
    assert found.call("sitae AP50", -0.0848) == "within training noise"
    assert found.call("sitae AP50", 0.0849) == "beyond training noise"
    assert found.call("desk AP50", 0.5) == "" and found.text("sitae AP50", None) == ""


def test_the_noise_of_the_round_and_its_base_is_pooled_by_their_runs():
    record = _record("r04", "r03", {"sitae": 0.5}, 0.5, _spread(3, sitae_AP50=0.01))
    base = _record("r03", "", {"sitae": 0.5}, 0.5, _spread(5, sitae_AP50=0.02))
    found = noise.noise_of(record, base)
    # (2 * 0.01^2 + 4 * 0.02^2) / 6 = 0.0003 -> std 0.0173205, band 0.0489898; 3 + 5 runs
    assert found.std["sitae AP50"] == pytest.approx(0.0173205, abs=1e-7)
    assert found.band("sitae AP50") == pytest.approx(0.0489898, abs=1e-7)
    assert found.runs["sitae AP50"] == 8 and found.rounds == ("r04", "r03")
    assert found.text("sitae AP50", 0.05) == ", beyond training noise ±0.049 (8 seeds of r04 and r03)"


def test_without_repeats_the_verdict_is_as_before(outputs):
    base = _record("r03_merge", "", {"student": 0.9, "desk": 0.9, "sitae": 0.5}, 0.60)
    child = _record("r04_lr_cos", "r03_merge", {"student": 0.97, "desk": 0.91, "sitae": 0.4}, 0.64)
    assert noise.noise_of(child, base) is None
    assert compare.verdict(child, base).startswith("mAP50-95 +0.040 vs r03_merge; sitae AP50 -0.100; student")


def test_the_comparisons_training_noise_is_valid_against_the_record_schema():
    found = noise.noise_of(_record("r03", "", {"sitae": 0.5}, 0.5, BASE_SPREAD), None)
    field = found.as_record({"mAP50-95": 0.001, "sitae AP50": 0.2})
    assert field["metrics"]["mAP50-95"] == {"std": 0.01, "band": 0.028284, "runs": 3, "call": "within training noise"}
    assert field["metrics"]["sitae AP50"]["call"] == "beyond training noise"
    assert field["metrics"]["student AP50"]["call"] == "no delta"
    comparison = {"against": "r03", "paired": True, "resamples": 1000, "metrics": {}, "training_noise": field}
    schema = metrics.schema()
    schema["required"] = []
    jsonschema.validate({"comparison": comparison}, schema)
    field["metrics"]["sitae AP50"]["runs"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"comparison": comparison}, schema)


def test_the_journal_shows_each_run_and_the_spread():
    record = _record("r03_merge", "", {"student": 0.9, "sitae": 0.5}, 0.6, BASE_SPREAD)
    record["repeats"]["runs"][0]["folder"] = "train"
    record["repeats"]["runs"][1]["per_class"]["sitae"] = None  # absent from val in that run
    header, rows = noise.runs_table(record)
    assert header == ["seed", "mAP50", "mAP50-95", "student AP50", "sitae AP50"]
    assert rows[0] == ["0 (own)", "0.800", "0.600", "0.900", "0.500"]
    assert rows[1] == ["1", "0.800", "0.600", "0.900", "–"]
    assert rows[-2] == ["mean ± std", "–", "0.500 ± 0.010", "0.500 ± 0.050", "0.500 ± 0.030"]
    assert rows[-1][0] == "min – max" and rows[-1][2] == "0.400 – 0.600"
    assert noise.runs_table(_record("r04", "r03", {"sitae": 0.5}, 0.5)) is None

    entry = {
        "record": {**record, "notebook": "03_finetune"},
        "base": None,
        "verdict": "v",
        "changes": [],
        "classes": [],
    }
    entry.update(repeats=(header, rows), gallery=None)
    page = {"profile": "demo", "written": "now", "lineage": [], "leaderboard": leaderboard([])}
    page.update(entries=[entry], predictions=[], figures={})
    text = journal.to_markdown(page)
    assert "Training noise: the same round with 3 seeds" in text
    assert "| seed | mAP50 | mAP50-95 | student AP50 | sitae AP50 |" in text and "| 0 (own) | 0.800 |" in text


def test_the_journal_table_stops_at_its_limit():
    record = _record("r03_merge", "", {"sitae": 0.5}, 0.6, BASE_SPREAD)
    record["repeats"]["runs"] = [dict(record["repeats"]["runs"][0], seed=s) for s in range(noise.SHOWN_RUNS + 3)]
    _, rows = noise.runs_table(record)
    assert len(rows) == noise.SHOWN_RUNS + 3 and rows[noise.SHOWN_RUNS][0] == "(+3 more runs)"


@pytest.mark.slow
def test_a_real_round_with_repeats_writes_its_noise_into_the_comparison_and_the_journal(ci_data, outputs):
    import dataclasses

    from yolo_workbook.config import params
    from yolo_workbook.training import train

    train.train_round(params.load_round("r01_base", profile="ci", use_local=False))
    rnd = dataclasses.replace(params.load_round("r02_freeze_new_data", profile="ci", use_local=False), repeat=2)
    record = train.train_round(rnd).record
    field = compare.record_comparison(record, profile="ci")
    assert field["training_noise"]["rounds"] == ["r02_freeze_new_data"]
    assert set(field["training_noise"]["metrics"]) >= {"mAP50", "mAP50-95"}
    jsonschema.validate(read_json(outputs / "ci" / "r02_freeze_new_data" / "metrics.json"), metrics.schema())
    assert "seeds of r02_freeze_new_data)" in compare.verdict_for(record, profile="ci")
    md_path, html_path = journal.write_journal("ci")
    assert "Training noise: the same round with 2 seeds" in md_path.read_text(encoding="utf-8")
    assert "Training noise: the same round with 2 seeds" in html_path.read_text(encoding="utf-8")
