"""devices: train.device against this machine's GPUs, and a multi-GPU round's batch, refused before training.

The machine is made to look like it has N CUDA GPUs (``torch.cuda.device_count``), as ultralytics' own device
parsing sees them; the spelling of ``device`` is argrules', checked here against ultralytics' ``parse_device``.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from yolo_workbook.config.argrules import cuda_devices, device_text
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.training.devices import check_devices

WHERE = "params/local.yaml"


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch):
    """Set how many CUDA GPUs this process believes it has; no CUDA_VISIBLE_DEVICES unless a test sets it."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def set_count(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)

    return set_count


def _refusal(train_args: dict[str, Any]) -> str:
    with pytest.raises(ParamsError) as caught:
        check_devices(train_args, where=WHERE)
    assert caught.value.message.startswith(f"{WHERE}: train.device "), caught.value.message
    assert caught.value.fix, "every refusal carries a fix"
    return str(caught.value)


@pytest.mark.parametrize(
    ("count", "train_args", "says", "fix"),
    [
        # GPUs this machine lacks: select_device would raise once the kernel runs
        (0, {"device": 0}, "asks for 1 GPU; this machine has no CUDA GPU", "use device: cpu"),
        (0, {"device": "cuda"}, "asks for 1 GPU; this machine has no CUDA GPU", "use device: cpu"),
        (0, {"device": -1}, "(-1: an idle one; ultralytics would silently train on fewer, or on the CPU)", "cpu"),
        (1, {"device": "0,1"}, "asks for 2 GPUs; this machine has 1 CUDA GPU (0)", "use device: 0"),
        (1, {"device": [0, 1]}, "train.device [0, 1] asks for 2 GPUs", "use device: 0"),
        (2, {"device": "cuda:0,2"}, "asks for GPU 2; this machine has 2 CUDA GPUs (0, 1)", "use GPUs 0 to 1"),
        (1, {"device": 1}, "asks for GPU 1; this machine has 1 CUDA GPU (0)", "use device: 0"),
        (2, {"device": "0,0"}, "names GPU 0 twice", "name each GPU once"),
        # several GPUs: ultralytics' DDP rules
        (2, {"device": "0,1", "batch": -1}, "train.batch: -1 (AutoBatch), which ultralytics refuses", "batch: 16"),
        (4, {"device": "0,1,2,3", "batch": 0.7}, "train.batch: 0.7 (AutoBatch)", "batch: 32 (8 images per GPU)"),
        (4, {"device": "0,1,2,3", "batch": 10}, "10 // 4 = 2 images, so a step trains on 8, not 10", "batch: 8"),
        (4, {"device": "0,1,2,3", "batch": 14}, "14 // 4 = 3 images, so a step trains on 12, not 14", "batch: 16"),
        (3, {"device": [0, 1, 2], "batch": 2}, "a GPU would get 0 images", "batch: 3 (1 per GPU)"),
        (2, {"device": "0,1", "rect": True}, "train.rect: true, which ultralytics switches off", "remove train.rect"),
        # the spelling, as check refuses it
        (2, {"device": "cuda:O"}, "'cuda:O' is not a device ultralytics knows", "did you mean 'cuda:0'?"),
    ],
)
def test_refused(gpus, count: int, train_args: dict[str, Any], says: str, fix: str):
    gpus(count)
    message, _, fixed = _refusal(train_args).partition("\n  fix: ")
    assert says in message
    assert fix in fixed


@pytest.mark.parametrize(
    ("count", "train_args"),
    [
        (0, {}),
        (0, {"device": None}),
        (0, {"device": "cpu", "batch": -1}),  # AutoBatch on one device is ultralytics' business
        (0, {"device": "mps"}),
        (0, {"device": ""}),
        (1, {"device": 0, "batch": -1}),
        (1, {"device": "cuda:0", "rect": True}),
        (1, {"device": -1}),
        (2, {"device": 1, "batch": 7}),  # one GPU: any batch
        (2, {"device": "0,1"}),  # ultralytics' default batch 16
        (2, {"device": [0, 1], "batch": 16, "rect": False}),
        (4, {"device": "0,1,2,3", "batch": 64}),
        (8, {"device": "-1,-1", "batch": 8}),
    ],
)
def test_accepted(gpus, count: int, train_args: dict[str, Any]):
    gpus(count)
    check_devices(train_args, where=WHERE)


def test_gpu_ids_under_cuda_visible_devices(gpus, monkeypatch: pytest.MonkeyPatch):
    """With CUDA_VISIBLE_DEVICES=3 torch sees one GPU; ultralytics maps a physical id 3 to it, not id 1."""
    gpus(1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    check_devices({"device": 3}, where=WHERE)
    text = _refusal({"device": 1})
    assert "asks for GPU 1; this machine has 1 CUDA GPU (0) (CUDA_VISIBLE_DEVICES=3)" in text


def test_several_gpus_need_torch_distributed(gpus, monkeypatch: pytest.MonkeyPatch):
    gpus(2)
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    assert "this PyTorch build has no torch.distributed" in _refusal({"device": "0,1", "batch": 16})
    check_devices({"device": 0}, where=WHERE)  # one GPU needs no DDP


def test_message_names_the_file_key_and_fix(gpus):
    gpus(1)
    with pytest.raises(ParamsError) as caught:
        check_devices({"device": "0,1", "batch": 16}, where="params/r03_merge.yaml")
    assert str(caught.value) == (
        "params/r03_merge.yaml: train.device '0,1' asks for 2 GPUs; this machine has 1 CUDA GPU (0)\n"
        "  fix: use device: 0, or remove train.device (ultralytics then takes the current GPU, or the CPU)"
    )


# Spellings of device; argrules' device_text must spell each as ultralytics' parse_device does (no -1: that one
# asks NVML for an idle GPU).
SPELLINGS = [0, 3, "0", "cuda:1", "CUDA:0,1", "cuda", "0,1", "0,", " 0, 1 ", [0, 1], (2, 3), "[0, 1]", "0,,01", "cpu"]
SPELLINGS += ["mps", "", None, "npu", "npu:0,1", "xpu:0", "npu:0,npu:1"]


@pytest.mark.parametrize("value", SPELLINGS)
def test_device_text_spells_as_ultralytics(gpus, value: Any):
    from ultralytics.utils.torch_utils import parse_device

    gpus(8)
    assert device_text(value) == parse_device(value)


@pytest.mark.parametrize(
    ("value", "asked"),
    [
        ("0,1", ["0", "1"]),
        ([0, 1, 2], ["0", "1", "2"]),
        ("cuda", ["0"]),
        ("cuda:1", ["1"]),
        (-1, ["-1"]),
        ("-1,-1", ["-1", "-1"]),
        ("cpu", []),
        ("mps", []),
        ("mps:0", []),
        (None, []),
        ("", []),
        ("npu:0,1", []),
        ("xpu", []),
    ],
)
def test_cuda_devices(value: Any, asked: list[str]):
    assert cuda_devices(value) == asked
