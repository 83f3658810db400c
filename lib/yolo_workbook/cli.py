"""``yolo-workbook``: the command line of the workbook.

Examples:
    yolo-workbook doctor --profile demo
    yolo-workbook demo-data
    yolo-workbook run params/r01_base.yaml --profile demo
    yolo-workbook pipeline --profile demo
    yolo-workbook predict --profile demo --source video.mp4 --vid-stride 3
    yolo-workbook export r08_rare_class --profile demo --format onnx openvino
    yolo-workbook predict --profile demo --weights r08_rare_class:openvino
    yolo-workbook predict --profile demo --tracker bytetrack --truth outputs/datasets/demo/classroom_video.truth
    yolo-workbook score-video --profile demo --window 1 2 4
    yolo-workbook compare --profile demo
    yolo-workbook check
    yolo-workbook data check outputs/datasets/demo/classroom.v1i.yolov8/data.yaml
    yolo-workbook resolve params/r05_augment.yaml --as-cli
    yolo-workbook diff r03_merge r05_augment

A path typed on the command line is read from the current folder, as every command line reads it; a path
inside a round file is read from the project root (the folder that holds ``params/``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from yolo_workbook import __version__
from yolo_workbook.core import logs, paths
from yolo_workbook.core.errors import WorkbookError
from yolo_workbook.core.text import format_duration


def _here(value: str) -> Path:
    """A path typed on the command line, read from the current folder (absolute, ``~`` expanded).

    Paths in round files start at the project root instead (:func:`yolo_workbook.core.paths.project_path`): a value
    that an option injects into a round is made absolute here, so the round reads it where the user meant.
    """
    path = Path(value).expanduser()
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def _is_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.startswith("~")


def _source_here(value: str) -> str:
    """``--source``: a file, folder or glob from the current folder; a camera index or stream URL as is."""
    return value if value.isdigit() or "://" in value else str(_here(value))


def _weights_here(value: str) -> str:
    """``--weights``: a file named by a path, or found in the current folder, from here; a round id,
    ``ROUND:onnx`` or an ultralytics name (``yolov8n.pt``, downloaded when missing) as is."""
    from yolo_workbook.config.params import is_round_reference

    if _is_path(value) or (not is_round_reference(value) and (Path.cwd() / value).is_file()):
        return str(_here(value))
    return value


def _tracker_here(value: str) -> str:
    """``--tracker``: a tracker YAML named by a path, or found in the current folder, from here; a name as is."""
    if _is_path(value) or (value.endswith((".yaml", ".yml")) and (Path.cwd() / value).is_file()):
        return str(_here(value))
    return value


def _doctor(args: argparse.Namespace) -> int:
    import json

    from yolo_workbook.core.files import write_json
    from yolo_workbook.envcheck.doctor import environment_report, format_report

    report = environment_report(profile=args.profile)
    print(format_report(report))
    if args.json:
        print(f"report: {write_json(_here(args.json), report)}")
    elif args.json == "":
        print(json.dumps(report, indent=1, ensure_ascii=False))
    return 1 if any(f["level"] == "error" for f in report["findings"]) else 0


def _demo_data(args: argparse.Namespace) -> int:
    from yolo_workbook.data.demo import write_demo_data

    out = _here(args.out) if args.out else paths.outputs_root() / "datasets" / args.size
    started = time.time()
    written = write_demo_data(out, size=args.size)
    for name, path in written.items():
        print(f"{name:<7} {path}")
    print(f"demo data ({args.size}) written in {format_duration(time.time() - started)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from yolo_workbook.orchestration.runner import round_id_of, run_round

    executed = run_round(
        round_id_of(args.round_file), profile=args.profile, log_output=not args.quiet, force=args.force
    )
    print(f"done: {executed}" if executed else "done: up to date")
    return 0


def _pipeline(args: argparse.Namespace) -> int:
    from yolo_workbook.orchestration.runner import format_outcomes, run_pipeline

    outcomes = run_pipeline(args.rounds or None, profile=args.profile, log_output=not args.quiet, force=args.force)
    print("\n" + format_outcomes(outcomes))
    return 0 if all(o.status == "ok" for o in outcomes) else 1


# The attendance keys that options of predict and score-video set, and their options: an error names the option.
ATTENDANCE_OPTIONS = {"truth": "--truth", "window_s": "--window", "min_seen_s": "--min-seen"}


def _attendance_overrides(args: argparse.Namespace) -> dict[str, object]:
    values = {
        "truth": str(_here(args.truth)) if args.truth else args.truth,
        "window_s": args.window if not args.window or len(args.window) > 1 else args.window[0],
        "min_seen_s": args.min_seen,
    }
    return {key: value for key, value in values.items() if value is not None}


def _options(injected: dict[str, dict[str, object]]) -> dict[str, str]:
    """The option that gave each injected value (``predict.vid_stride`` -> ``--vid-stride``), for error messages."""
    named = {"model.from": "--weights", **{f"attendance.{k}": option for k, option in ATTENDANCE_OPTIONS.items()}}
    return {
        f"{section}.{key}": named.get(f"{section}.{key}", "--" + key.replace("_", "-"))
        for section, values in injected.items()
        for key in values
    }


def _predict(args: argparse.Namespace) -> int:
    import json

    from yolo_workbook.attendance.job import format_attendance, predict_and_count
    from yolo_workbook.config.params import load_round
    from yolo_workbook.orchestration.runner import round_id_of

    trackers = [_tracker_here(value) for value in args.tracker or []]
    overrides = {
        key: value
        for key, value in {
            "source": _source_here(args.source) if args.source else None,
            "conf": args.conf,
            "iou": args.iou,
            "imgsz": args.imgsz,
            "vid_stride": args.vid_stride,
            "classes": args.classes,
            "device": args.device,
            "save": True if args.save else None,
            "tracker": (trackers if len(trackers) > 1 else trackers[0]) if trackers else None,
        }.items()
        if value is not None
    }
    injected = {
        "predict": overrides,
        "model": {"from": _weights_here(args.weights)} if args.weights else {},
        "attendance": _attendance_overrides(args),
    }
    round_file = args.round_file or paths.params_dir() / "p01_video.yaml"
    if args.source and args.truth is None:  # the round's ground truth belongs to its own video
        injected["attendance"]["truth"] = None
    options = _options(injected)
    if args.source and args.truth is None:
        options["attendance.truth"] = "--source"  # a --source without --truth drops the round's ground truth
    rnd = load_round(round_id_of(round_file), profile=args.profile, injected=injected, options=options)
    attendance = predict_and_count(rnd)
    result = attendance.prediction
    print(f"{result.json_path}\n{result.jsonl_path}\n{result.summary_path}\n{attendance.json_path}")
    summary = result.summary
    detected = "" if summary["per_class"] else ", no detections"  # not a bare {}
    print(f"{summary['frames']} frames at {summary['frames_per_second']} frames/s{detected}")
    if summary["per_class"]:
        print(json.dumps(summary["per_class"], indent=1, ensure_ascii=False))
    print(format_attendance(attendance))
    return 0


def _score_video(args: argparse.Namespace) -> int:
    from yolo_workbook.attendance.job import count_attendance, format_attendance
    from yolo_workbook.config.params import load_round
    from yolo_workbook.orchestration.runner import round_id_of

    round_file = args.round_file or paths.params_dir() / "p01_video.yaml"
    injected = {"attendance": _attendance_overrides(args)}
    rnd = load_round(round_id_of(round_file), profile=args.profile, injected=injected, options=_options(injected))
    folder = _here(args.folder) if args.folder else rnd.output_dir
    if not (folder / "detections.jsonl").is_file() or not (folder / "summary.json").is_file():
        raise WorkbookError(
            f"{folder}: no prediction here (detections.jsonl, summary.json)",
            fix=f"predict first (yolo-workbook predict {round_file}), or give --folder a prediction's folder",
        )
    attendance = count_attendance(folder, rnd)
    print(attendance.json_path)
    print(format_attendance(attendance))
    return 0


def _export(args: argparse.Namespace) -> int:
    from yolo_workbook.config.params import load_round
    from yolo_workbook.deployment.export import export_round, format_gate
    from yolo_workbook.deployment.latency import format_latency
    from yolo_workbook.orchestration.runner import refresh_journal, round_id_of

    round_id = round_id_of(args.round) if args.round.endswith((".yaml", ".yml")) else args.round
    rnd = load_round(round_id, profile=args.profile)
    result = export_round(rnd, args.format, imgsz=args.imgsz, latency_frames=args.frames)
    refresh_journal(args.profile)  # the journal shows the gate and the latency
    print(format_gate(result.report))
    latency = result.report["latency"]
    if latency:
        print(format_latency(latency))
    else:
        print("latency: not measured " + ("(--frames 0)" if not args.frames else "(no video and no validation images)"))
    print(result.json_path)
    return 0 if result.ok else 1


def _data_check(args: argparse.Namespace) -> int:
    from yolo_workbook.data.check import check_dataset, format_report

    report = check_dataset(_here(args.data_yaml))
    print(format_report(report, limit=10**9 if args.all else 25))
    return 0 if report.ok else 1


def _data_stats(args: argparse.Namespace) -> int:

    from yolo_workbook.data.check import check_dataset, dataset_stats, format_stats

    report = check_dataset(_here(args.data_yaml))
    stats = dataset_stats(report)
    if args.json:
        from yolo_workbook.core.files import write_json

        print(write_json(_here(args.json), stats))
    else:
        print(format_stats(stats))
    if not report.ok:
        print(f"note: the dataset has errors; run: yolo-workbook data check {args.data_yaml}", file=sys.stderr)
    return 0 if report.ok else 1


def _data_merge(args: argparse.Namespace) -> int:
    from yolo_workbook.data.merge import merge_datasets

    data_yaml = merge_datasets([_here(p) for p in args.data_yamls], _here(args.out))
    print(data_yaml)
    print((data_yaml.parent / "provenance.json").read_text(encoding="utf-8"))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from yolo_workbook.reporting.compare import format_comparison
    from yolo_workbook.reporting.leaderboard import format_leaderboard
    from yolo_workbook.reporting.readiness import answer
    from yolo_workbook.training.metrics import load_records

    records = load_records(args.profile)
    if line := answer(records):
        print(line + "\n")
    print(format_leaderboard(records))
    if records:
        print("\n" + format_comparison(records, changed=3))
    return 0


def _journal(args: argparse.Namespace) -> int:
    from yolo_workbook.reporting.journal import write_journal

    md_path, html_path = write_journal(args.profile)
    print(f"{md_path}\n{html_path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from yolo_workbook.config.lint import check_rounds, format_problems

    problems = check_rounds(args.files or None, profile=args.profile)
    print(format_problems(problems))
    return 1 if any(p.level == "error" for p in problems) else 0


def _resolve(args: argparse.Namespace) -> int:
    import shlex

    import yaml

    from yolo_workbook.config.explain import yolo_command
    from yolo_workbook.config.params import load_round
    from yolo_workbook.orchestration.runner import round_id_of

    rnd = load_round(round_id_of(args.round_file), profile=args.profile)
    if args.as_cli:
        if rnd.sweep:  # not one training: say what each trial changes in the command below
            from yolo_workbook.config.sweeps import parse_sweep

            spec = parse_sweep(rnd)
            print(
                f"# {rnd.round_id} is a sweep: {spec.trials} trials, each this command with epochs={spec.epochs} and"
                f" its own {', '.join(spec.space)} (sweep.space), into trials/tNNN/ of the round folder"
            )
        command = yolo_command(rnd)
        print(" ".join(command) if all(" " not in c for c in command) else shlex.join(command))
    else:
        print(yaml.safe_dump(rnd.to_dict(), allow_unicode=True, sort_keys=False), end="")
    return 0


def _diff(args: argparse.Namespace) -> int:
    from yolo_workbook.config.explain import format_diff
    from yolo_workbook.config.params import load_round
    from yolo_workbook.orchestration.runner import round_id_of

    def load(name: str):
        rid = round_id_of(name) if name.endswith((".yaml", ".yml")) else name
        return load_round(rid, profile=args.profile, check=False)

    print(format_diff(load(args.old), load(args.new)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one sub-command per verb)."""
    parser = argparse.ArgumentParser(prog="yolo-workbook", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    demo = verbs.add_parser("demo-data", help="write the synthetic demo datasets and video")
    demo.add_argument("--size", choices=("demo", "ci"), default="demo", help="demo (CPU scale) or ci (tiny)")
    demo.add_argument("--out", help="folder to write into (default: outputs/datasets/<size>)")
    demo.set_defaults(func=_demo_data)

    def add_profile(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--profile", default="", help="overlay params/profiles/PROFILE.yaml (e.g. demo, ci)")

    def add_attendance(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--truth",
            help="the video's ground-truth folder (classes.txt, gt/gt.txt and/or counts.csv);"
            " with --source: none unless given",
        )
        sub.add_argument(
            "--window", type=float, nargs="+", metavar="SECONDS", help="stable count window(s); several: each scored"
        )
        sub.add_argument("--min-seen", type=float, metavar="SECONDS", help="a track seen this long counts as present")

    doctor = verbs.add_parser(
        "doctor", help="check this environment: versions, device, OpenMP, fonts, weights (exit 1 on errors)"
    )
    add_profile(doctor)
    doctor.add_argument("--json", metavar="FILE", help="also write the report as JSON (env_report.json's shape)")
    doctor.set_defaults(func=_doctor)

    run = verbs.add_parser("run", help="run one round file through its notebook (papermill)")
    run.add_argument("round_file", help="e.g. params/r01_base.yaml")
    add_profile(run)
    run.add_argument("-q", "--quiet", action="store_true", help="do not echo the notebook's output")
    run.add_argument("--force", action="store_true", help="train a finished round again (old results kept)")
    run.set_defaults(func=_run)

    pipe = verbs.add_parser("pipeline", help="run rounds in lineage order (all by default)")
    pipe.add_argument(
        "rounds", nargs="*", help="round ids to run (the rounds whose weights they start from run first when needed)"
    )
    add_profile(pipe)
    pipe.add_argument("-q", "--quiet", action="store_true", help="do not echo the notebooks' output")
    pipe.add_argument("--force", action="store_true", help="train finished rounds again (old results kept)")
    pipe.set_defaults(func=_pipeline)

    predict = verbs.add_parser("predict", help="detections of a video, images or a stream as JSON (streaming)")
    predict.add_argument("round_file", nargs="?", help="default: params/p01_video.yaml")
    add_profile(predict)
    predict.add_argument(
        "--source", help="video, image, folder or glob (relative: from the current folder), camera index or stream URL"
    )
    predict.add_argument(
        "--weights",
        help="a round id (its best weights), ROUND:onnx / ROUND:openvino (its export) or a .pt file;"
        " default: the file's model.from",
    )
    predict.add_argument("--conf", type=float, help="confidence threshold in [0, 1]")
    predict.add_argument("--iou", type=float, help="NMS IoU threshold in [0, 1]")
    predict.add_argument("--imgsz", type=int, help="inference size")
    predict.add_argument(
        "--vid-stride", type=int, help="use every k-th video frame: k-1, 2k-1, ... (frame_id stays the source index)"
    )
    predict.add_argument("--classes", type=int, nargs="+", help="keep only these class ids")
    predict.add_argument("--device", help="cpu, 0, 0,1, mps ...")
    predict.add_argument("--save", action="store_true", help="also write the annotated video or images")
    predict.add_argument(
        "--tracker", nargs="+", help="none, bytetrack, botsort, ... or a tracker YAML; several: each is scored"
    )
    add_attendance(predict)
    predict.set_defaults(func=_predict)

    score = verbs.add_parser(
        "score-video", help="count a prediction again and score it against the video's ground truth (no predicting)"
    )
    score.add_argument("round_file", nargs="?", help="default: params/p01_video.yaml (its output folder is scored)")
    add_profile(score)
    score.add_argument("--folder", help="another prediction's folder, e.g. outputs/demo/r03_merge/video")
    add_attendance(score)
    score.set_defaults(func=_score_video)

    export = verbs.add_parser(
        "export", help="export a round's best weights (ONNX, OpenVINO) with a parity gate and latency (exit 1: failed)"
    )
    export.add_argument("round", help="a round id (or its file), e.g. r08_rare_class")
    add_profile(export)
    export.add_argument("--format", nargs="+", metavar="FORMAT", help="onnx, openvino (default: both)")
    export.add_argument("--imgsz", type=int, help="the export's fixed size, to predict at (default: train imgsz)")
    export.add_argument("--frames", type=int, default=200, help="timed frames per backend for the latency (0: none)")
    export.set_defaults(func=_export)

    data = verbs.add_parser("data", help="dataset doctor: check, stats, merge")
    data_verbs = data.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    check_data = data_verbs.add_parser("check", help="every label and image checked (exit 1 on errors)")
    check_data.add_argument("data_yaml", help="an export's data.yaml (relative: from the current folder)")
    check_data.add_argument("--all", action="store_true", help="print every problem (default: 25 per rule)")
    check_data.set_defaults(func=_data_check)
    stats = data_verbs.add_parser("stats", help="boxes and images per split and class, imbalance, box sizes")
    stats.add_argument("data_yaml", help="an export's data.yaml (relative: from the current folder)")
    stats.add_argument("--json", help="write the stats to this JSON file instead of printing a table")
    stats.set_defaults(func=_data_stats)
    merge = data_verbs.add_parser("merge", help="merge exports, classes matched by name (first order kept)")
    merge.add_argument("data_yamls", nargs="+", metavar="DATA_YAML")
    merge.add_argument("-o", "--out", required=True, help="output folder (new, or holding this same merge)")
    merge.set_defaults(func=_data_merge)

    compare = verbs.add_parser("compare", help="leaderboard of finished rounds, each with its verdict")
    add_profile(compare)
    compare.set_defaults(func=_compare)

    journal = verbs.add_parser("journal", help="write the lab journal (outputs/<profile>/journal.md and .html)")
    add_profile(journal)
    journal.set_defaults(func=_journal)

    check = verbs.add_parser("check", help="lint round files before training (all in params/ by default)")
    check.add_argument("files", nargs="*", help="round files, e.g. params/r05_augment.yaml")
    add_profile(check)
    check.set_defaults(func=_check)

    resolve = verbs.add_parser("resolve", help="print a round as resolved (extends, local, profile)")
    resolve.add_argument("round_file", help="e.g. params/r05_augment.yaml")
    add_profile(resolve)
    resolve.add_argument("--as-cli", action="store_true", help="print the equivalent single `yolo train` line")
    resolve.set_defaults(func=_resolve)

    diff = verbs.add_parser("diff", help="what changed between two rounds (ids or files)")
    diff.add_argument("old", help="e.g. r03_merge")
    diff.add_argument("new", help="e.g. r05_augment")
    add_profile(diff)
    diff.set_defaults(func=_diff)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; a :class:`WorkbookError` prints as one short message, exit status 1."""
    args = build_parser().parse_args(argv)
    logs.show()  # the CLI is a face: the workbook's log lines reach the terminal
    try:
        return args.func(args)
    except WorkbookError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
