"""export: a trained ci round to ONNX and OpenVINO, the parity gate (also on a broken export), predicting from
an export, and the bad inputs (each one clear message, nothing earlier lost)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from yolo_workbook import cli
from yolo_workbook.config import params
from yolo_workbook.config.schema import weights_from_problem
from yolo_workbook.core import schemas
from yolo_workbook.core.errors import DeploymentError, ParamsError
from yolo_workbook.deployment import export as export_module
from yolo_workbook.deployment.export import export_round

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")
ROUND = "r01_base"


def _round() -> params.Round:
    return params.load_round(ROUND, profile="ci", use_local=False)


@pytest.fixture(scope="module")
def exported_root(tmp_path_factory: pytest.TempPathFactory, ci_data, session_params) -> tuple[Path, dict]:
    """An outputs root holding r01_base trained on ci and exported to both formats (with a short latency run)."""
    from yolo_workbook.training.train import train_round

    root = tmp_path_factory.mktemp("export") / "outputs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOLO_WORKBOOK_OUTPUTS", str(root))
        train_round(_round())
        result = export_round(_round(), ["onnx", "openvino"], box_frames=12, latency_frames=3)
    return root, result.report


@pytest.fixture()
def exported(exported_root, outputs: Path) -> Path:
    """This test's copy of the trained and exported round folder; its path."""
    folder = outputs / "ci" / ROUND
    shutil.copytree(exported_root[0] / "ci" / ROUND, folder)
    return folder


def test_export_to_both_formats_passes_the_gate_and_validates(exported_root):
    root, report = exported_root
    folder = root / "ci" / ROUND / "export"
    assert json.loads((folder / "export.json").read_text(encoding="utf-8")) == report
    schemas.validate(report, schemas.load("export.schema.json"))
    assert (report["round_id"], report["profile"], report["imgsz"]) == (ROUND, "ci", 64)  # the ci train imgsz
    assert report["weights"] == str(root / "ci" / ROUND / "train" / "weights" / "best.pt")
    assert (folder / "best.pt").read_bytes() == Path(report["weights"]).read_bytes()
    assert (folder / "best.onnx").is_file() and (folder / "best_openvino_model" / "metadata.yaml").is_file()
    assert not list((root / "ci" / ROUND / "train" / "weights").glob("best_*")), "nothing written beside train's"
    for fmt in ("onnx", "openvino"):
        entry = report["formats"][fmt]
        assert entry["status"] == "ok" and entry["reasons"] == [], entry
        assert set(entry["val"]["pt"]["per_class"]) == {"student", "desk", "sitae"}
        assert entry["boxes"]["frames"] == 12 and entry["boxes"]["share"] == 1.0
    assert report["settings"]["val"]["batch"] == 1 and report["settings"]["val"]["rect"] is False
    latency = report["latency"]
    assert latency["frames"] == 3 and set(latency["backends"]) == {"pytorch", "onnxruntime", "openvino"}
    assert not list(folder.parent.glob(".export.*")), "no partial folder left"


def test_exporting_again_at_another_size_moves_the_earlier_export_to_history(exported, capsys):
    import onnxruntime

    earlier = (exported / "export" / "export.json").read_text(encoding="utf-8")
    result = export_round(_round(), ["onnx"], imgsz=96, box_frames=4)
    kept = list((exported / "history").glob("*/export/export.json"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == earlier
    assert (kept[0].parent / "best_openvino_model").is_dir()
    assert set(result.report["formats"]) == {"onnx"} and result.ok and result.report["imgsz"] == 96
    session = onnxruntime.InferenceSession(result.report["formats"]["onnx"]["path"])
    assert session.get_inputs()[0].shape == [1, 3, 96, 96]
    # ultralytics would predict this fixed-size export at 96 whatever predict.imgsz says (64 on ci): refused
    err = _fails(["predict", "--profile", "ci", "--weights", f"{ROUND}:onnx"], capsys)
    assert "is fixed at imgsz 96, but predict.imgsz is 64" in err and "fix: predict with --imgsz 96" in err
    assert cli.main(["predict", "--profile", "ci", "--weights", f"{ROUND}:onnx", "--imgsz", "96"]) == 0


def test_predict_refuses_an_export_that_failed_its_gate(exported, capsys):
    record_path = exported / "export" / "export.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["formats"]["openvino"].update(status="failed", reasons=["AP50 differs for class(es) sitae -0.0300"])
    record_path.write_text(json.dumps(record), encoding="utf-8")
    err = _fails(["predict", "--profile", "ci", "--weights", f"{ROUND}:openvino"], capsys)
    assert "failed its parity gate: AP50 differs for class(es) sitae -0.0300" in err, err


def _break_onnx(path: Path) -> None:
    """Raise every class score of the exported graph by 0.9: an export that sees objects everywhere."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    output = graph.output[0].name
    channels = graph.output[0].type.tensor_type.shape.dim[1].dim_value  # 4 box values + one score per class
    for node in graph.node:
        node.output[:] = [f"{output}_raw" if name == output else name for name in node.output]
    bump = np.zeros((1, channels, 1), dtype=np.float32)
    bump[0, 4:, 0] = 0.9
    graph.initializer.append(numpy_helper.from_array(bump, "class_bump"))
    graph.node.append(helper.make_node("Add", [f"{output}_raw", "class_bump"], [output]))
    onnx.save(model, str(path))


def test_a_broken_export_fails_the_gate_says_where_and_keeps_its_files(exported, monkeypatch, capsys):
    real = export_module._export

    def broken(weights: Path, fmt: str, imgsz: int) -> Path:
        path = real(weights, fmt, imgsz)
        _break_onnx(path)
        return path

    monkeypatch.setattr(export_module, "_export", broken)
    status = cli.main(["export", ROUND, "--profile", "ci", "--format", "onnx", "--frames", "0"])
    printed = capsys.readouterr().out
    assert status == 1 and "FAILED" in printed and "latency: not measured" in printed
    report = json.loads((exported / "export" / "export.json").read_text(encoding="utf-8"))
    entry = report["formats"]["onnx"]
    assert entry["status"] == "failed" and entry["reasons"]
    boxes = entry["boxes"]
    assert boxes["agreeing"] == 0 and boxes["boxes"] > 0 and boxes["differing_frames"] == list(range(10))
    assert any("boxes agree" in reason and "frame(s): 0, 1, 2" in reason for reason in entry["reasons"])
    assert Path(entry["path"]).is_file() and entry["path"] in printed  # kept for inspection
    schemas.validate(report, schemas.load("export.schema.json"))


def test_predict_from_round_onnx_writes_detections(exported, outputs, capsys):
    assert cli.main(["predict", "--profile", "ci", "--weights", f"{ROUND}:onnx"]) == 0, capsys.readouterr().err
    folder = outputs / "ci" / "p01_video"
    frames = json.loads((folder / "detections.json").read_text(encoding="utf-8"))
    schemas.validate(frames, schemas.load("detections.schema.json"))
    assert len(frames) == 40 and [f["frame_id"] for f in frames] == list(range(40))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["model"] == str(exported / "export" / "best.onnx")


def _fails(argv: list[str], capsys) -> str:
    assert cli.main(argv) == 1
    return capsys.readouterr().err


def test_export_of_a_round_that_has_not_run_names_the_command(outputs, capsys):
    err = _fails(["export", ROUND, "--profile", "ci"], capsys)
    assert "round 'r01_base' has not run under profile 'ci'" in err
    assert "fix: run it first: yolo-workbook run params/r01_base.yaml --profile ci" in err
    assert not (outputs / "ci" / ROUND / "export").exists()


def test_an_unknown_format_lists_the_known_ones(outputs, capsys):
    err = _fails(["export", ROUND, "--profile", "ci", "--format", "onnx", "tflite"], capsys)
    assert "unknown export format(s): tflite (known: onnx, openvino)" in err
    message, fix = weights_from_problem(f"{ROUND}:openvion")
    assert "not an export format (known: onnx, openvino)" in message and fix.startswith(f"write {ROUND}:openvino")
    assert weights_from_problem(f"{ROUND}:onnx") is None and weights_from_problem("r99_nowhere:onnx") is not None


def test_a_training_round_cannot_start_from_an_export():
    with pytest.raises(ParamsError, match=r"(?s)model.from names an export \(r01_base:onnx\).*from: r01_base"):
        params.load_round("r02_freeze_new_data", profile="ci", injected={"model": {"from": f"{ROUND}:onnx"}})


@pytest.mark.parametrize(
    ("fmt", "damage", "expected"),
    [
        (
            "onnx",
            None,
            "no onnx export at .*fix: export it first: yolo-workbook export r01_base --profile ci --format onnx",
        ),
        ("onnx", "garbage", "the onnx export .*best.onnx cannot be loaded.*fix: export it again"),
        ("openvino", "no xml", "best_openvino_model has no model .xml.*fix: export it again"),
    ],
)
def test_a_missing_or_corrupt_export_given_to_predict_is_refused_and_nothing_moves(
    fmt, damage, expected, outputs, capsys
):
    import re

    export = outputs / "ci" / ROUND / "export"
    if damage == "garbage":
        export.mkdir(parents=True)
        (export / "best.onnx").write_bytes(b"not an onnx model")
    elif damage == "no xml":
        (export / "best_openvino_model").mkdir(parents=True)
        (export / "best_openvino_model" / "metadata.yaml").write_text("task: detect\n", encoding="utf-8")
    earlier = outputs / "ci" / "p01_video" / "detections.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("[]\n", encoding="utf-8")
    err = _fails(["predict", "--profile", "ci", "--weights", f"{ROUND}:{fmt}"], capsys)
    assert re.search(expected, err, re.S), err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert [p.name for p in earlier.parent.iterdir()] == ["detections.json"]


def test_a_missing_package_is_one_message_and_the_earlier_export_stays(exported, monkeypatch, capsys):
    before = sorted(p.relative_to(exported) for p in exported.rglob("*"))
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    for argv in (
        ["export", ROUND, "--profile", "ci", "--format", "onnx", "openvino"],
        ["predict", "--profile", "ci", "--weights", f"{ROUND}:openvino"],
    ):
        err = _fails(argv, capsys)
        assert "needs the Python package 'openvino', which is not installed" in err, err
        assert 'fix: pip install -e ".[export]" (or make install)' in err
    assert sorted(p.relative_to(exported) for p in exported.rglob("*")) == before


def test_export_without_autoinstall_even_when_ultralytics_was_imported(monkeypatch):
    from ultralytics.utils import checks

    monkeypatch.setattr(checks, "AUTOINSTALL", True)
    with export_module._no_autoinstall():
        assert checks.AUTOINSTALL is False
    assert checks.AUTOINSTALL is True


def test_a_prediction_round_has_no_weights_to_export(outputs):
    with pytest.raises(DeploymentError, match=r"(?s)'p01_video' does not train.*yolo-workbook export r07_lr_freeze6"):
        export_round(params.load_round("p01_video", profile="ci", use_local=False))


def test_latency_times_a_merges_validation_images_when_there_is_no_video(tmp_path):
    """A merge lists its images (val.txt): they are timed on, not left out as if there were none."""
    from yolo_workbook.deployment.export import _val_folder

    images = tmp_path / "classroom.v2i.yolov8" / "valid" / "images"
    images.mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        (images / name).write_bytes(b"\xff\xd8")
    merge = tmp_path / "merged"
    merge.mkdir()
    (merge / "val.txt").write_text(f"{images / 'a.jpg'}\n{images / 'b.jpg'}\n", encoding="utf-8")
    (merge / "train.txt").write_text(f"{images / 'a.jpg'}\n", encoding="utf-8")
    data_yaml = merge / "data.yaml"
    data_yaml.write_text("train: train.txt\nval: val.txt\nnames: [student, desk]\n", encoding="utf-8")
    assert _val_folder(data_yaml) == images
