"""train: argument checks by ultralytics' rules, starting weights, and a real (tiny) round."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import BIN, ROOT, write

from yolo_workbook.config import params
from yolo_workbook.core.errors import DatasetError, ParamsError, WeightsError, WeightsFromNotRunError
from yolo_workbook.training import metrics, train, weights


def _round(profile: str = "ci", **train_args):
    rnd = params.load_round("r04_lr_cos", profile=profile, use_local=False)
    rnd.train.update(train_args)
    return rnd


def _round_file_with(params_dir, train_args: dict):
    """A round whose own file sets ``train_args`` (so the error can name that file)."""
    import yaml

    write(params_dir, "r01_base.yaml", "round_id: r01_base\nnotebook: 02_base_train\nmodel: {from: yolov8n.yaml}\n")
    body = {"round_id": "r02_typo", "extends": "r01_base", "notebook": "04_tune_round", "train": train_args}
    write(params_dir, "r02_typo.yaml", yaml.safe_dump(body))
    # check=False: this is the guard inside train_round (it also covers papermill -p overrides)
    return params.load_round("r02_typo", params_dir=params_dir, use_local=False, check=False)


@pytest.mark.parametrize(
    ("bad", "pattern"),
    [
        ({"scals": 0.9}, r"(?s)train.scals.*is not accepted.*scale"),
        ({"close_mosic": 5}, r"(?s)train.close_mosic.*close_mosaic"),
        ({"cls": "3.1,"}, r"(?s)train.cls is not accepted"),
        ({"close_mosaic": 5.5}, r"(?s)train.close_mosaic is not accepted"),
        ({"flipud": 1.5}, r"(?s)train.flipud is not accepted"),
        ({"freeze": "10"}, r"(?s)freeze is '10'.*freezes nothing.*fix: write it as an integer"),
        ({"freeze": 6.0}, r"(?s)freeze is 6.0"),
        ({"project": "runs"}, r"(?s)train.project is set by the workbook"),
    ],
)
def test_bad_train_arguments_name_the_key_and_the_file(bad, pattern, params_dir):
    with pytest.raises(ParamsError, match=pattern) as info:
        train.check_train_args(_round_file_with(params_dir, bad))
    assert info.value.message.startswith(str(params_dir / "r02_typo.yaml"))


def test_good_train_arguments_pass():
    assert train.check_train_args(_round(freeze=[0, 1], cls=3.1))["cls"] == 3.1


def test_parent_not_run_names_the_parent_and_the_command(outputs):
    rnd = params.load_round("r02_freeze_new_data", profile="ci", use_local=False)
    with pytest.raises(
        WeightsFromNotRunError,
        match=r"(?s)round 'r01_base'.*has not run.*yolo-workbook run params/r01_base.yaml --profile ci",
    ):
        weights.resolve_start_weights(rnd)


@pytest.mark.parametrize("bad", ["weights_from not run", "data missing"])
def test_a_round_run_without_the_runner_still_refuses_a_bad_round(bad, ci_data, outputs, params_copy):
    """A kernel started by plain papermill or JupyterLab gets no checks handed over: it runs every check itself."""
    if bad == "data missing":
        profile = params_copy / "profiles" / "ci.yaml"
        settings = yaml.safe_load(profile.read_text(encoding="utf-8"))
        settings["datasets"]["classroom_v1"] = str(outputs / "nowhere" / "data.yaml")
        profile.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        rnd = params.load_round("r01_base", profile="ci", use_local=False, check=False)
        expected = (DatasetError, r"data.yaml not found.*nowhere")
    else:
        rnd = params.load_round("r02_freeze_new_data", profile="ci", use_local=False)
        expected = (WeightsFromNotRunError, r"round 'r01_base'.*has not run")
    with pytest.raises(expected[0], match=expected[1]):
        train.train_round(rnd)
    assert not rnd.output_dir.exists()  # refused before anything was written


def test_a_round_refuses_data_from_which_ultralytics_would_drop_images(ci_data, outputs, params_copy, tmp_path):
    """ultralytics leaves out an image whose label it refuses and trains on the rest: the round refuses first."""
    import shutil

    export = shutil.copytree(ci_data["first"].parent, tmp_path / "export", ignore=shutil.ignore_patterns("*.cache"))
    broken = sorted((export / "train" / "labels").glob("*.txt"))[0]
    good_text = broken.read_text(encoding="utf-8")
    broken.write_text("7 0.5 0.5 0.2 0.2\n", encoding="utf-8")  # class id 7 of 3 classes
    profile = params_copy / "profiles" / "ci.yaml"
    settings = yaml.safe_load(profile.read_text(encoding="utf-8"))
    settings["datasets"]["classroom_v1"] = str(export / "data.yaml")
    profile.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    rnd = params.load_round("r01_base", profile="ci", use_local=False, check=False)
    with pytest.raises(DatasetError) as refused:
        train.train_round(rnd)
    message = str(refused.value)
    assert "dataset 'classroom_v1' has 1 error(s) in the splits round 'r01_base' trains on" in message
    assert f"{broken}:1: error:" in message and f"yolo-workbook data check {export / 'data.yaml'}" in message
    assert not rnd.output_dir.exists()  # refused before anything was written
    broken.write_text(good_text, encoding="utf-8")
    test_label = sorted((export / "test" / "labels").glob("*.txt"))[0]
    test_label.write_text("7 0.5 0.5 0.2 0.2\n", encoding="utf-8")  # the test split: training does not read it
    assert train.check_round(rnd, training=True).state.state == "new"


def test_the_figures_ultralytics_draws_in_the_background_are_written_before_the_round_ends(tmp_path):
    import threading

    figure = tmp_path / "val_batch0_pred.jpg"

    def plot_images() -> None:  # as ultralytics' @threaded plot_images runs: a thread named after it
        time.sleep(0.3)
        figure.write_bytes(b"jpg")

    threading.Thread(target=plot_images, daemon=False).start()
    train.wait_for_background_plots()
    assert figure.is_file()


def test_model_yaml_builds_without_download():
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    assert weights.resolve_start_weights(rnd) == "yolov8n.yaml"


def test_offline_pt_download_fails_fast_with_the_fix(monkeypatch, tmp_path):
    from ultralytics.utils import downloads

    # Whatever the network does, the failure path must explain itself; here the download fails.
    def offline(*args, **kwargs):
        raise ConnectionError("Download failure for https://github.com/ultralytics/assets/releases/yolov8n.pt")

    monkeypatch.setattr(downloads, "attempt_download_asset", offline)
    monkeypatch.setattr("ultralytics.utils.WEIGHTS_DIR", tmp_path)
    rnd = params.load_round("r01_base", use_local=False)
    with pytest.raises(WeightsError) as error:  # how long a real run takes offline: the next test
        weights.resolve_start_weights(rnd)
    assert "weights 'yolov8n.pt' are not on this machine" in error.value.message
    assert error.value.fix.startswith("put yolov8n.pt in ")
    # From scratch for this round only: a top-level model.from in local.yaml would change every round's start.
    assert "in params/local.yaml, 'rounds: {r01_base: {model: {from: yolov8n.yaml}}}'" in error.value.fix


def _closed_port() -> int:
    """A port on this machine that nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_offline_a_missing_pt_fails_a_real_run_in_seconds_with_where_to_put_it(ci_data, outputs, params_copy):
    """The real CLI and ultralytics' real download, through a proxy that refuses: nothing leaves this machine."""
    from ultralytics.utils import WEIGHTS_DIR

    name = next((n for n in ("yolov8s.pt", "yolov8m.pt", "yolov8l.pt") if not (WEIGHTS_DIR / n).exists()), None)
    if name is None or (ROOT / name).exists():
        pytest.skip(f"the weights this test needs to be missing are in {WEIGHTS_DIR}")
    profile = params_copy / "profiles" / "ci.yaml"
    settings = yaml.safe_load(profile.read_text(encoding="utf-8"))
    settings["rounds"]["r01_base"]["model"]["from"] = name
    profile.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy" and not k.startswith("PYTEST_")}
    env.update(
        {key: proxy for key in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")}
    )
    env["YOLO_OFFLINE"] = "true"  # ultralytics' online probe (a DNS lookup) answers as on a machine without network
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "yolo-workbook"), "run", str(params_copy / "r01_base.yaml"), "--profile", "ci"],
        cwd=params_copy.parent, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    seconds = time.monotonic() - started
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    error, fix = [line for line in done.stderr.splitlines() if line.startswith(("error:", "  fix:"))]
    assert f"weights '{name}' are not on this machine and could not be downloaded" in error
    assert "Download failure" in error  # ultralytics tried (the proxy refused) and gave up
    assert fix.startswith(f"  fix: put {name} in {ROOT} or {WEIGHTS_DIR}")
    assert seconds < 30, (seconds, done.stderr)
    assert not (outputs / "ci" / "r01_base" / "train").exists()


def test_yolo_train_command_matches_the_round(ci_data, outputs):
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    command = train.yolo_train_command(rnd)
    assert command[:3] == ["yolo", "train", "model=yolov8n.yaml"]
    assert "epochs=1" in command and "imgsz=64" in command and f"project={outputs / 'ci' / 'r01_base'}" in command


@pytest.mark.slow
def test_train_round_writes_a_valid_record_and_keeps_earlier_results(ci_data, outputs, monkeypatch):
    fingerprint, hashed = metrics.dataset_fingerprint, []

    def counted(data_yamls):  # what reads every label file: once per round
        hashed.append(data_yamls)
        return fingerprint(data_yamls)

    monkeypatch.setattr(metrics, "dataset_fingerprint", counted)
    rnd = params.load_round("r01_base", profile="ci", use_local=False)
    first = train.train_round(rnd)
    assert len(hashed) == 1 and first.record["dataset_fingerprint"] == first.record["inputs"]["dataset_fingerprint"]
    jsonschema.validate(first.record, metrics.schema())
    assert first.record["status"] == "ok" and first.best_weights.is_file()
    assert first.record["epochs_run"] == 1 and first.record["data"]["names"] == ["student", "desk", "sitae"]
    assert set(first.record["per_class"]) == {"student", "desk", "sitae"}
    nothing_dropped = {"train": {"images": 0, "of": 24, "reasons": []}, "val": {"images": 0, "of": 8, "reasons": []}}
    assert first.record["data_dropped"] == nothing_dropped  # read from the label caches this training wrote
    assert (first.round_dir / "params.resolved.yaml").is_file()
    again = train.train_round(rnd, force=True)  # a forced rerun moves the first result to history/
    assert len(hashed) == 2
    archived = list((again.round_dir / "history").glob("*/train/weights/best.pt"))
    assert len(archived) == 1 and again.best_weights.is_file()
    assert (again.round_dir / "train" / "weights" / "last.resume.pt").is_file()
    assert not list(again.round_dir.glob("train2*"))


def _iou(a: list[float], b: list[float]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


@pytest.mark.slow
def _truth_rows(gt_txt: Path, names: list[str]) -> dict[int, list[tuple[str, list[float]]]]:
    """Frame (1-based) -> the visible objects of a MOTChallenge gt.txt: (class name, [x1, y1, x2, y2])."""
    rows: dict[int, list[tuple[str, list[float]]]] = {}
    for line in gt_txt.read_text().splitlines():
        frame, _, left, top, width, height, conf, cls, _ = line.split(",")
        if float(conf) > 0:
            box = [float(left), float(top), float(left) + float(width), float(top) + float(height)]
            rows.setdefault(int(frame), []).append((names[int(cls) - 1], box))
    return rows


def test_demo_base_round_learns_the_rare_class_trails_and_predict_finds_the_objects(outputs, params_copy, tmp_path):
    """The demo data's promise: YOLOv8n from scratch on this CPU reaches mAP50 >= 0.5, sitae trails; and the
    detections written for the attendance system name the right class, in the right place, with its confidence."""
    from conftest import point_profile_at

    from yolo_workbook.data.demo import write_demo_data
    from yolo_workbook.prediction import predict

    data = write_demo_data(tmp_path / "datasets" / "demo", size="demo")  # not the repo's outputs/datasets/demo
    point_profile_at(params_copy, "demo", tmp_path / "datasets" / "demo")
    record = train.train_round(params.load_round("r01_base", profile="demo", use_local=False)).record
    assert record["overall"]["mAP50"] >= 0.5, record["overall"]
    ap50 = {name: c["AP50"] for name, c in record["per_class"].items()}
    assert ap50["sitae"] < min(ap50["student"], ap50["desk"]), ap50

    # The demo video is a classroom of the same objects, with its ground truth (gt.txt, MOTChallenge rows). With
    # vid_stride 4 ultralytics decodes the last of each four frames: 3, 7, 11, ...
    injected = {"model": {"from": "r01_base"}, "predict": {"vid_stride": 4, "conf": 0.25}}
    rnd = params.load_round("p01_video", profile="demo", use_local=False, injected=injected)
    assert rnd.predict["tracker"] == ["bytetrack", "botsort"]  # p01_video's, so detections carry track ids
    frames = json.loads(predict.predict_to_json(rnd).json_path.read_text())
    assert [f["frame_id"] for f in frames] == [4 * i + 3 for i in range(60)]  # 240 frames
    truth = _truth_rows(data["truth"] / "gt" / "gt.txt", ["student", "desk", "sitae"])
    found = missed = wrong = 0
    for frame in frames:
        known = truth.get(frame["frame_id"] + 1, [])  # visible objects (conf 1); MOT frames count from 1
        for det in frame["detections"]:
            assert set(det) == {"class", "confidence", "bbox", "class_id", "track_id", "track_class"}
            assert 0.25 < det["confidence"] <= 1 and ["student", "desk", "sitae"][det["class_id"]] == det["class"]
            assert 0 <= det["bbox"][0] < det["bbox"][2] <= 320 and 0 <= det["bbox"][1] < det["bbox"][3] <= 192
            wrong += not any(n == det["class"] and _iou(b, det["bbox"]) >= 0.5 for n, b in known)
        for name, box in known:
            if name != "sitae":  # the weak class: trailing is the demo's point
                hit = any(d["class"] == name and _iou(box, d["bbox"]) >= 0.5 for d in frame["detections"])
                found, missed = found + hit, missed + (not hit)
    assert found >= 0.75 * (found + missed), (found, missed)  # students and desks found where they are
    assert wrong <= 0.2 * (found + wrong), (wrong, found)  # and few detections where there is nothing of that class
