"""MLflow and TensorBoard: off by default, switched on per round, written locally, settings file untouched."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write

from yolo_workbook.config.params import load_round
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.training import loggers


def test_a_logger_without_its_package_stops_the_round_naming_the_file(params_copy, monkeypatch):
    write(params_copy, "local.yaml", "loggers:\n  mlflow: true\n")
    rnd = load_round("r01_base", profile="ci")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ParamsError) as caught:
        loggers.check_loggers(rnd)
    assert "local.yaml: loggers.mlflow is on, but 'mlflow' is not installed" in caught.value.message
    assert "pip install -e '.[loggers]'" in caught.value.fix


def test_loggers_are_set_for_one_training_only_and_the_settings_file_is_untouched(params_copy, outputs):
    from ultralytics.utils import SETTINGS

    write(params_copy, "local.yaml", "loggers: {mlflow: true}\n")
    rnd = load_round("r01_base", profile="ci")
    settings_file = Path(SETTINGS.file)
    before_file = settings_file.read_text() if settings_file.is_file() else None
    before = {key: SETTINGS.get(key) for key in loggers.INTEGRATIONS}
    with loggers.active_loggers(rnd) as where:
        assert SETTINGS["mlflow"] is True and SETTINGS["tensorboard"] is False and SETTINGS["wandb"] is False
        assert os.environ["MLFLOW_TRACKING_URI"] == where["mlflow"] == (outputs / "ci" / "mlflow").as_uri()
        assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert {key: SETTINGS.get(key) for key in loggers.INTEGRATIONS} == before
    assert "MLFLOW_TRACKING_URI" not in os.environ or os.environ["MLFLOW_TRACKING_URI"] != where["mlflow"]
    assert (settings_file.read_text() if settings_file.is_file() else None) == before_file


def _run_round(params: Path, outputs: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # Outside pytest's marker variable: ultralytics switches its loggers off when it believes it is tested.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    # A remote tracking server set by the user must not be contacted (192.0.2.1 is unroutable TEST-NET-1).
    env.update(YOLO_WORKBOOK_PARAMS=str(params), YOLO_WORKBOOK_OUTPUTS=str(outputs))
    env.update(MLFLOW_TRACKING_URI="http://192.0.2.1:5000")
    command = [str(Path(sys.executable).parent / "yolo-workbook"), "run", "params/r01_base.yaml", "--profile", "ci"]
    command += ["-q", *extra]
    return subprocess.run(command, cwd=params.parent, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
@pytest.mark.notebook
def test_mlflow_and_tensorboard_log_locally_when_switched_on_and_not_otherwise(params_copy, tmp_path, ci_data):
    outputs = tmp_path / "outputs"
    off = _run_round(params_copy, outputs)
    assert off.returncode == 0, off.stdout[-2000:] + off.stderr[-2000:]
    train = outputs / "ci" / "r01_base" / "train"
    assert not list(train.glob("events.out.tfevents.*")) and not (outputs / "ci" / "mlflow").exists()
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()  # ultralytics' own default

    write(params_copy, "local.yaml", "loggers:\n  mlflow: true\n  tensorboard: true\n")
    on = _run_round(params_copy, outputs, "--force")
    assert on.returncode == 0, on.stdout[-2000:] + on.stderr[-2000:]
    assert len(list(train.glob("events.out.tfevents.*"))) == 1
    store = outputs / "ci" / "mlflow"
    runs = [p for p in store.glob("*/*") if (p / "meta.yaml").is_file()]
    assert len(runs) == 1, sorted(str(p) for p in store.rglob("*"))[:30]
    assert "run_name: r01_base" in (runs[0] / "meta.yaml").read_text()
    assert (runs[0] / "metrics" / "metrics" / "mAP50B").is_file() or (runs[0] / "metrics" / "metrics_mAP50B").is_file()
    assert (runs[0] / "params" / "epochs").read_text() == "1"
