"""Benchmark: the modules of the package a round passes through, and how often it goes back and forth.

Traces every call into ``yolo_workbook`` (``sys.setprofile``) while one training round (``train_round`` of
``r01_base``, ci profile: 1 epoch at 64 px) and one prediction (``predict_and_count``, or on an older checkout
``predict_to_json`` then ``count_attendance``, the same work) run, and reports per step: the distinct modules
entered and the hops (a call from one module into another). Fewer hops back and forth is the aim.

    python bench/module_hops.py                      # this checkout
    PYTHONPATH=/path/to/other/lib python bench/module_hops.py   # another checkout, the same data

Writes the ci demo data into a temporary folder; nothing is written into the project.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path


def traced(step) -> dict[str, object]:
    """Run ``step()`` and count the module hops of the calls inside the package."""
    hops: Counter[tuple[str, str]] = Counter()
    stack: list[str] = []

    def profile(frame, event, arg):
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            if module.startswith("yolo_workbook"):
                caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
                if caller.startswith("yolo_workbook") and caller != module:
                    hops[(caller, module)] += 1
                stack.append(module)

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    modules = {m for pair in hops for m in pair}
    back_and_forth = sum(min(n, hops.get((b, a), 0)) for (a, b), n in hops.items() if a < b)
    return {
        "modules": len(modules),
        "hops": sum(hops.values()),
        "edges": len(hops),
        "back_and_forth_edges": sum(1 for (a, b) in hops if (b, a) in hops) // 2,
        "back_and_forth_calls": back_and_forth,
    }


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hops-"))
    os.environ["YOLO_WORKBOOK_OUTPUTS"] = str(tmp / "outputs")
    from yolo_workbook.core import paths
    from yolo_workbook.data.demo import write_demo_data

    data = tmp / "data"
    write_demo_data(data, size="ci")
    params = tmp / "params"
    import shutil

    shutil.copytree(paths.PROJECT_ROOT / "params", params, ignore=shutil.ignore_patterns("local.yaml"))
    profile = params / "profiles" / "ci.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("outputs/datasets/ci/", f"{data.as_posix()}/"), encoding="utf-8"
    )
    os.environ["YOLO_WORKBOOK_PARAMS"] = str(params)
    from yolo_workbook.config.params import load_round
    from yolo_workbook.training.train import train_round

    rnd = load_round("r01_base", profile="ci", use_local=False)
    results = {"train_round": traced(lambda: train_round(rnd))}
    video = load_round("p01_video", profile="ci", use_local=False, injected={"model": {"from": "r01_base"}})
    try:
        from yolo_workbook.attendance.job import predict_and_count

        results["predict_and_count"] = traced(lambda: predict_and_count(video))
    except ImportError:  # an older checkout: the same steps, called one by one
        from yolo_workbook.attendance.job import check_truth, count_attendance
        from yolo_workbook.prediction.predict import predict_to_json

        def step() -> None:
            truth = check_truth(video)
            count_attendance(predict_to_json(video).folder, video, truth=truth)

        results["predict_and_count"] = traced(step)
    print(json.dumps(results, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
