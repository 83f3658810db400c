"""argrules against ultralytics itself: the same values go to ``check`` and to ultralytics' own code paths.

Each row is fed to ``check_argument`` and to the code that ``model.train()`` / ``model.predict()`` run: a real
``DetectionTrainer`` on the tiny ci data, set up up to its first batch (``_setup_train``: model, imgsz,
freeze, dataloaders, optimizer); a real ``YOLO("yolov8n.yaml").predict``; for devices, the trainer's own
device parsing on a machine made to look like it has 8 GPUs (device checks are about the format, not this
machine). A row that one side refuses and the other accepts fails, so a new ultralytics version that
changes a rule shows here. Costs a few seconds: only the accepted values reach the dataloaders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from yolo_workbook.config import argrules, lint
from yolo_workbook.data.demo import write_demo_data

# (key, value, accepted by ultralytics' training); devices are checked for their format only.
TRAIN = [
    ("epochs", 0, False),
    ("epochs", 2, True),
    ("lr0", "0.01", False),
    ("lr0", 0.02, True),
    ("cls", "3.1,", False),
    ("cls", 3.1, True),
    ("flipud", 1.5, False),
    ("close_mosaic", 5.5, False),
    ("close_mosaic", 0, True),
    ("cos_lr", "yes", False),
    ("cos_lr", True, True),
    ("scale", 1.5, False),
    ("scale", [0.5, 1.5], True),
    ("cls_pw", 2, False),
    ("cls_pw", 0.5, True),
    ("nbs", 0, False),
    ("patience", -1, False),
    ("seed", -1, False),
    ("warmup_epochs", "3", False),
    ("multi_scale", 2, False),
    ("multi_scale", 0.5, True),
    ("nms", "yes", False),
    ("channels_last", "x", False),
    ("optimizer", "Lion", False),
    ("optimizer", "adam_w", False),
    ("optimizer", 3, False),
    ("optimizer", "sgd", True),
    ("optimizer", "AdamW", True),
    ("imgsz", 64.0, False),
    ("imgsz", "abc", False),
    ("imgsz", [], False),
    ("imgsz", ["64"], False),
    ("imgsz", 64, True),
    ("imgsz", "64", True),
    ("imgsz", [64, 48], True),
    ("batch", 16.0, False),
    ("batch", 1.5, False),
    ("batch", "8", False),
    ("batch", 4, True),
    ("batch", -1, True),
    ("batch", 0.5, True),
    ("split", "valid", False),
    ("split", "val", True),
    ("split", "test", True),
    ("fraction", 0, False),
    ("fraction", 1.5, False),
    ("fraction", True, False),
    ("fraction", [1.0, 0], False),
    ("fraction", 0.5, True),
    ("fraction", 3, True),
    ("fraction", [1.0, 0.5], True),
    ("amp", "fp8", False),
    ("amp", "bf16", True),
    ("quantize", "x", False),
    ("quantize", 16, True),
    ("compile", 3, False),
    ("compile", False, True),
    ("copy_paste_mode", "Flip", False),
    ("copy_paste_mode", "mixup", True),
    ("classes", [0, 2], True),
    ("cache", "RAM", True),
    ("cache", True, True),
    ("pretrained", "yes", False),
    ("pretrained", False, True),
    ("time", "1h", False),
    ("time", 0.001, True),
    ("freeze", 10, True),
    ("freeze", [0, "model.1"], True),
    ("device", "cuda:O", False),
    ("device", "gpu", False),
    ("device", "cuda0", False),
    ("device", "mps:1", False),
    ("device", "0,a", False),
    ("device", "tpu", False),
    ("device", 0.5, False),
    ("device", True, False),
    ("device", -2, False),
    ("device", "cuda:0", True),
    ("device", "CUDA:1", True),
    ("device", "0,1", True),
    ("device", "0,", True),  # a list of one GPU: seen accepted on a real one (H200, 2026-11-26)
    ("device", [0, 1], True),
    ("device", 3, True),
    ("device", -1, True),
    ("device", "cpu", True),
    ("device", "mps", True),
    ("workers", -1, False),
    ("workers", 4, True),
]
# Values ultralytics accepts and then silently ignores or misreads: check refuses them; here is the proof.
SILENT = [
    ("cache", "yes", lambda t: t.train_loader.dataset.cache not in ("ram", "disk")),
    ("cache", 1, lambda t: t.train_loader.dataset.cache not in ("ram", "disk")),
    ("classes", ["sitae"], lambda t: not any(len(label["cls"]) for label in t.train_loader.dataset.labels)),
    ("classes", -1, lambda t: not any(len(label["cls"]) for label in t.train_loader.dataset.labels)),
    ("freeze", "10", lambda t: _nothing_frozen(t)),
    ("freeze", 6.0, lambda t: _nothing_frozen(t)),
    ("freeze", -1, lambda t: _nothing_frozen(t)),
    ("freeze", [0.5], lambda t: _nothing_frozen(t)),
    ("imgsz", True, lambda t: t.args.imgsz == 32),
]
# (key, value, accepted by model.predict) for the predict section.
PREDICT = [
    ("imgsz", [64, 48, 32], False),
    ("imgsz", 64.0, False),
    ("imgsz", [64, 48], True),
    ("conf", 1.5, False),
    ("conf", 0.5, True),
    ("classes", ["a"], False),
    ("classes", 1, True),
    ("vid_stride", 0, False),
    ("max_det", 0, False),
    ("augment", "yes", False),
    ("quantize", "x", False),
    ("device", "vulkan", False),
    ("device", "tpu", False),
    ("device", "cpu", True),
]
SETUP = {"model": "yolov8n.yaml", "imgsz": 64, "epochs": 1, "batch": 8, "workers": 0, "plots": False}
SETUP |= {"device": "cpu", "verbose": False, "name": "t", "exist_ok": True}


def _nothing_frozen(trainer: Any) -> bool:
    return all(".dfl" in name for name, p in trainer.model.named_parameters() if not p.requires_grad)


@pytest.fixture(scope="module")
def ci_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_data(tmp_path_factory.mktemp("argrules-data"), size="ci")["first"]


@pytest.fixture(scope="module")
def set_up_training(ci_yaml: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real trainer with one argument changed, set up to its first batch; raises what ultralytics raises."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    runs = tmp_path_factory.mktemp("argrules-runs")

    def set_up(key: str, value: Any) -> Any:
        trainer = DetectionTrainer(overrides={**SETUP, "data": str(ci_yaml), "project": str(runs), key: value})
        trainer._setup_train()
        return trainer

    return set_up


@pytest.fixture()
def eight_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process believes it has 8 CUDA GPUs, as far as ultralytics' device parsing can tell."""
    import torch
    from ultralytics.utils import torch_utils

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: None)
    monkeypatch.setattr(torch_utils, "get_gpu_info", lambda index: "a GPU")


def _accepts(call, *args: Any) -> bool:
    try:
        call(*args)
    except Exception:  # TypeError, ValueError, SyntaxError, NotImplementedError, ...: refused
        return False
    return True


def _train_accepts(set_up_training, ci_yaml: Path, key: str, value: Any) -> bool:
    if key == "workers":  # the data loader a GPU machine builds (on CPU, ultralytics sets workers to 0 first)
        from ultralytics.data.build import build_dataloader

        return _accepts(lambda: build_dataloader(list(range(4)), batch=4, workers=value, shuffle=False))
    if key == "device":  # the trainer's own device parsing, in its __init__
        from ultralytics.models.yolo.detect import DetectionTrainer

        overrides = {**SETUP, "data": str(ci_yaml), "project": str(ci_yaml.parent / "runs"), "device": value}
        return _accepts(lambda: DetectionTrainer(overrides=overrides))
    return _accepts(set_up_training, key, value)


@pytest.mark.parametrize(("key", "value", "accepted"), TRAIN, ids=[f"{k}={v!r}" for k, v, _ in TRAIN])
def test_check_refuses_what_training_refuses(set_up_training, ci_yaml, request, key, value, accepted):
    if key == "device":
        request.getfixturevalue("eight_gpus")
    assert _train_accepts(set_up_training, ci_yaml, key, value) is accepted, "the table is out of date"
    found = argrules.check_argument(key, value)
    assert (found is None) is accepted, found
    if found:
        message, fix = found
        assert message and fix


@pytest.mark.parametrize(("key", "value", "effect"), SILENT, ids=[f"{k}={v!r}" for k, v, _ in SILENT])
def test_check_refuses_what_training_silently_ignores(set_up_training, key, value, effect):
    assert effect(set_up_training(key, value)), "ultralytics now uses this value: check may accept it"
    assert argrules.check_argument(key, value) is not None


@pytest.fixture(scope="module")
def predict_with():
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")
    image = np.zeros((64, 64, 3), dtype=np.uint8)

    def predict(key: str, value: Any) -> None:
        model.predictor = None  # a fresh predictor, as the workbook's one call per model gets
        args = {"imgsz": 64, "device": "cpu", key: value}
        list(model.predict(source=image, stream=True, verbose=False, **args))

    return predict


@pytest.mark.parametrize(("key", "value", "accepted"), PREDICT, ids=[f"{k}={v!r}" for k, v, _ in PREDICT])
def test_check_refuses_what_prediction_refuses(predict_with, key, value, accepted):
    assert _accepts(predict_with, key, value) is accepted, "the table is out of date"
    assert (argrules.check_argument(key, value, section="predict") is None) is accepted


def _all_arguments(reserved: tuple[str, ...]) -> list[str]:
    return [k for k in argrules.ultralytics_rules()["defaults"] if k not in reserved and k != "source"]


def test_an_empty_value_is_refused_exactly_when_training_refuses_it(set_up_training):
    """Every train argument set to None (``epochs:`` in YAML) through a real trainer set-up."""
    disagree = []
    for key in _all_arguments(argrules.RESERVED_TRAIN_KEYS):
        refused = not _accepts(set_up_training, key, None)
        found = argrules.check_argument(key, None)
        if refused != (found is not None):
            disagree.append((key, "ultralytics refuses" if refused else "ultralytics accepts", found))
        elif found:
            assert found[1].startswith("remove the key to use ultralytics' default"), found
    assert not disagree


def test_an_empty_value_is_refused_exactly_when_prediction_refuses_it(predict_with):
    disagree = []
    for key in _all_arguments(argrules.RESERVED_PREDICT_KEYS):
        refused = not _accepts(predict_with, key, None)
        if refused != (argrules.check_argument(key, None, section="predict") is not None):
            disagree.append((key, "ultralytics refuses" if refused else "ultralytics accepts"))
    assert not disagree


@pytest.mark.parametrize(("freeze", "accepted"), [(22, True), (23, False)])
def test_freezing_every_module_is_refused_like_training_does(set_up_training, params_dir, freeze, accepted):
    """yolov8n has 23 modules: freeze=23 leaves nothing to train; check knows the count from ultralytics' yaml."""
    assert _accepts(set_up_training, "freeze", freeze) is accepted
    (params_dir / "r01_base.yaml").write_text(
        "round_id: r01_base\nnotebook: 02_base_train\ndatasets: {a: a/data.yaml}\ndata: {use: [a]}\n"
        f"model: {{from: yolov8n.yaml}}\ntrain:\n  freeze: {freeze}\n",
        encoding="utf-8",
    )
    problems = lint.check_rounds(params_dir=params_dir, use_local=False)
    assert [(p.key, p.line) for p in problems if p.level == "error"] == ([] if accepted else [("train.freeze", 7)])
    if not accepted:
        assert "at most 22" in problems[0].fix
