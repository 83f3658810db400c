"""Benchmark: one class per track by vote against one tracker per class, on a round's video with ground truth.

A classroom detector calls a sitae "student" for a few frames now and then. With one tracker per class
(``attendance.track_class: per_class``) each flip starts a second track, counted as a student; with one tracker
over every class and a confidence-weighted vote (``vote``, the default) the track stays one, of its majority
class. This runs the round's prediction, count and score (``predict_and_count``, as the CLI and notebook 05 do)
once per mode, into a temporary folder, and prints per class side by side: the share of frames whose stable count
is exact, IDF1, ID switches and the tracks counted as present (and the true number of objects, when the ground
truth gives it).

    python bench/track_class.py [--profile demo] [--round p01_video] [--conf 0.25] [--model-from r08_rare_class]

The round's weights must exist (for the demo: ``make demo`` has trained r07_lr_freeze6). The annotated video is
not written (``save: false``): it changes no number.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("vote", "per_class")


def run(rnd: Any, mode: str, folder: Path, conf: float | None) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The score and the prediction summary of the round with ``attendance.track_class: mode``, and the seconds."""
    from yolo_workbook.attendance.job import predict_and_count

    predict = {**rnd.predict, "save": False, **({"conf": conf} if conf is not None else {})}
    started = time.perf_counter()
    result = predict_and_count(
        dataclasses.replace(rnd, attendance={**rnd.attendance, "track_class": mode}, predict=predict), folder=folder
    )
    seconds = time.perf_counter() - started
    if not result.summary.get("score"):
        raise SystemExit(f"{rnd.round_id}: no score (does attendance.truth point at the video's ground truth?)")
    return result.summary["score"], result.prediction.summary, seconds


def cell(value: Any, form: str) -> str:
    return "-" if value is None else format(value, form)


def table(scores: dict[str, dict[str, Any]]) -> list[str]:
    """One row per class and one for all: per mode exact stable, IDF1, ID switches, counted tracks."""
    names = list(next(iter(scores.values()))["classes"])
    head = f"{'class':<9}{'true':>5}" + "".join(
        f" | {mode + ' exact':>15} {'IDF1':>6} {'IDsw':>5} {'counted':>7}" for mode in scores
    )
    lines = [head, "-" * len(head)]
    for name in [*names, "all"]:
        row = f"{name:<9}"
        true = None if name == "all" else next(iter(scores.values()))["classes"][name].get("true_present")
        row += f"{cell(true, 'd'):>5}"
        for score in scores.values():
            c = score["overall"] if name == "all" else score["classes"][name]
            counted = (
                sum(score["classes"][n].get("counted_tracks") or 0 for n in names)
                if name == "all"
                else c.get("counted_tracks")
            )
            row += (
                f" | {cell(c.get('exact_stable'), '.1%'):>15} {cell(c.get('idf1'), '.3f'):>6}"
                f" {cell(c.get('id_switches'), 'd'):>5} {cell(counted, 'd'):>7}"
            )
        lines.append(row)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--round", default="p01_video", help="a predict round with attendance.truth")
    parser.add_argument("--conf", type=float, help="another predict.conf than the round's (one number)")
    parser.add_argument("--model-from", help="another model.from than the round's (a round id of the profile)")
    args = parser.parse_args()
    from yolo_workbook.config.params import load_round

    rnd = load_round(args.round, profile=args.profile)
    if args.model_from:
        rnd = dataclasses.replace(rnd, weights_from=args.model_from)
    scores, summaries = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:
            scores[mode], summaries[mode], seconds = run(rnd, mode, Path(tmp) / mode, args.conf)
            print(
                f"{mode:<9} {summaries[mode]['frames']} frames in {seconds:.1f} s, {summaries[mode]['tracks']} tracks"
            )
    first = summaries[MODES[0]]
    print(
        f"\n{args.profile}/{args.round}: weights {first['model']}, tracker {first['trackers'][0]},"
        f" conf {first['parameters'].get('conf')}, {scores[MODES[0]]['frames_scored']} frames scored\n"
    )
    print("\n".join(table(scores)))


if __name__ == "__main__":
    main()
