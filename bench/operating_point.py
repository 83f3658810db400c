"""Benchmark: from measuring attendance to reaching it, before and after, side by side in one run.

On the demo's scored video (``classroom_video.mp4``, 240 frames, ground truth) with the round the workbook
recommends (``compare``'s first line: the best on the tuning clip; r08 when no round has one), the video score's
settings (its ``predict`` section, ByteTrack, window 2 s), this predicts the scored video and the tuning clip
(``tuning_clip.mp4``, another generated room) once per ``attendance.track_class`` mode and prints:

1. **before**: the counting of the previous release on the per-class trackers' tracks: every track alive counts
   (``conf`` did not reach the counts), fragments are not joined, no headcount;
2. **after**: one tracker and the class vote, the operating point chosen per class on the tuning clip, identities
   alive (fragments joined): the stable count's exact share per class and for every class at once, on the tuning
   clip (where the point was chosen) and on the scored video (where it is reported), and the headcount error;
3. vote against per-class trackers, each at its own operating point: exact share and IDF1 per class;
4. what the tuning clip costs a round's video score: the same score without and with it, one after the other.

    python bench/operating_point.py [--round r08_rare_class]

Needs ``make demo`` (the rounds' weights and the demo data).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("vote", "per_class")


def weights_of(round_id: str | None) -> str:
    from yolo_workbook.reporting.readiness import best_round
    from yolo_workbook.training.metrics import load_records

    best = best_round(load_records("demo"))
    return round_id or (best["round_id"] if best else "r08_rare_class")


def before(result: Any) -> dict[str, Any]:
    """The previous release's counting: the stable count of every track alive, per class, and all at once."""
    from yolo_workbook.attendance.counts import alive_counts, stable_counts

    counts, truth = result.counts, result.truth
    frames = np.asarray(counts.frame_ids)
    alive = alive_counts(result.tracks or [], counts.classes, counts.frame_ids)
    exact = {}
    every = np.ones(len(frames), dtype=bool)
    for name in counts.classes:
        hit = np.asarray(stable_counts(alive[name], window=counts.window_frames)) == truth.counts[name][frames]
        exact[name], every = float(hit.mean()), every & hit
    return {"exact": exact, "all": float(every.mean())}


def _exact(point: dict[str, Any], side: str) -> dict[str, float]:
    return {name: entry["exact"] for name, entry in point[side].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--round", help="the training round whose weights to use (default: the recommended one)")
    args = parser.parse_args()
    from yolo_workbook.attendance.videoscore import score_weights_on_video
    from yolo_workbook.config.params import best_weights_of, load_round

    round_id = weights_of(args.round)
    rnd = load_round(round_id, profile="demo", check=False)
    weights = best_weights_of(round_id, "demo")
    if not weights.is_file() or not rnd.attendance_setting("tuning_clip"):
        raise SystemExit(f"{weights}: not trained, or the demo profile names no tuning clip: run make demo first")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:
            moded = dataclasses.replace(rnd, attendance={**rnd.attendance, "track_class": mode})
            results[mode] = score_weights_on_video(moded, weights, Path(tmp) / mode)
    old, new = before(results["per_class"]), results["vote"].summary
    point, score = new["operating_point"], new["score"]
    classes = list(point["conf"])
    print(f"round {round_id} ({weights}); scored video {point['scored_on']}; tuning clip {point['chosen_on']}\n")
    print("| figure | " + " | ".join(classes) + " | every class |")
    print("|---|" + "---|" * (len(classes) + 1))
    errors = point["scoring_headcount_err"]
    rows = [
        ("before: stable exact, scored video (per-class trackers, every track)", old["exact"], old["all"], "%"),
        ("after: operating point, chosen on the tuning clip", point["conf"], None, "g"),
        ("after: stable exact, tuning clip (chosen here)", _exact(point, "tuning"), point["tuning_exact_all"], "%"),
        ("after: stable exact, scored video (reported)", _exact(point, "scoring"), point["scoring_exact_all"], "%"),
        ("after: headcount error, scored video", errors, None, "+d"),
    ]
    for label, values, every, form in rows:
        cells = ["-" if values[n] is None else format(values[n], ".0%" if form == "%" else form) for n in classes]
        print(f"| {label} | {' | '.join(cells)} | {'' if every is None else format(every, '.0%')} |")
    print("\nvote against per-class trackers (scored video, each at the point chosen on the tuning clip):\n")
    print("| mode | " + " | ".join(f"{n} exact | {n} IDF1" for n in classes) + " | tracks counted |")
    print("|---|" + "---|---|" * len(classes) + "---|")
    for mode in MODES:
        doc = results[mode].summary
        mine, tracking = doc["operating_point"], doc["score"]["classes"]
        cells = []
        for name in classes:
            idf1 = tracking[name]["idf1"]
            cells += [f"{mine['scoring'][name]['exact']:.0%}", "-" if idf1 is None else f"{idf1:.3f}"]
        counted = sum(c["counted_tracks"] or 0 for c in tracking.values())
        print(f"| {mode} | {' | '.join(cells)} | {counted} |")
    print("\ncost of one round's video score (vote), measured here one after the other:\n")
    with tempfile.TemporaryDirectory() as tmp:
        for label, clip in (("without a tuning clip", None), ("with the tuning clip", rnd.attendance["tuning_clip"])):
            timed = dataclasses.replace(rnd, attendance={**rnd.attendance, "tuning_clip": clip})
            started = time.perf_counter()
            score_weights_on_video(timed, weights, Path(tmp) / str(bool(clip)))
            print(f"- {label}: {time.perf_counter() - started:.1f} s")
    print(
        f"\n(IDF1 at the round's own conf, {rnd.predict.get('conf', 0.25)}; vote IDF1 all: {score['overall']['idf1']})"
    )


if __name__ == "__main__":
    main()
