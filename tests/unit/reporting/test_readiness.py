"""readiness: the round is chosen by the tuning clip and reported on the scored video, against the bar."""

from __future__ import annotations

from yolo_workbook.reporting.readiness import answer, best_round


def _record(rid: str, tuning: float, scoring: float, heads: dict[str, int | None] | None = None) -> dict:
    point = {
        "conf": {"student": 0.35, "sitae": 0.2},
        "chosen_on": "outputs/datasets/demo/tuning_clip.mp4",
        "tuning_exact_all": tuning,
        "scoring_exact_all": scoring,
        "scoring_headcount_err": heads if heads is not None else {"student": 0, "sitae": 0},
        "classes": {"student": {"scoring_exact": 0.97}, "sitae": {"scoring_exact": 0.99}},
    }
    return {
        "round_id": rid,
        "status": "ok",
        "video": {"source": "/p/outputs/datasets/demo/v.mp4", "operating_point": point},
    }


def test_the_best_round_is_the_best_on_the_tuning_clip_not_on_the_scored_video():
    records = [_record("r03_merge", tuning=0.9, scoring=0.5), _record("r08_rare_class", tuning=0.6, scoring=0.99)]
    assert best_round(records)["round_id"] == "r03_merge"
    line = answer(records)
    assert line.startswith("precise enough for attendance? not yet: r03_merge at conf {student 0.35, sitae 0.2}")
    assert "exactly in 50% of v.mp4's frames (student 97%, sitae 99%), headcount err student +0, sitae +0" in line


def test_yes_needs_the_exact_share_and_a_zero_headcount_error_for_every_class():
    assert answer([_record("r08", 0.9, 0.96)]).startswith("precise enough for attendance? yes: r08")
    assert "not yet" in answer([_record("r08", 0.9, 0.94)])  # below 95%
    assert "not yet" in answer([_record("r08", 0.9, 0.96, {"student": -1, "sitae": 0})])  # one student missed
    assert "not yet" in answer([_record("r08", 0.9, 0.96, {"student": None, "sitae": 0})])  # unknown: no gt.txt


def test_no_answer_without_a_round_scored_with_a_tuning_clip():
    assert answer([{"round_id": "r01", "status": "ok", "video": {"score": {}}}]) == ""
    assert answer([{**_record("r01", 0.9, 0.99), "status": "failed"}]) == ""
