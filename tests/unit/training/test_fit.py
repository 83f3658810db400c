"""fit: every training of a round (its own run, its repeats, a sweep's trials) goes through the round's loggers."""

from __future__ import annotations

import ast
from pathlib import Path

from yolo_workbook.config.params import load_round
from yolo_workbook.core import paths
from yolo_workbook.training.fit import fit

PACKAGE = paths.PROJECT_ROOT / "lib" / "yolo_workbook"


class _Model:
    """Records what ultralytics' settings say while it "trains"."""

    def train(self, **arguments):
        from ultralytics.utils import SETTINGS

        self.seen = {key: SETTINGS.get(key) for key in ("mlflow", "tensorboard", "wandb")}
        self.arguments = arguments
        return "trained"


def test_a_round_with_its_loggers_off_trains_with_every_integration_off(params_copy, outputs, monkeypatch):
    from ultralytics.utils import SETTINGS

    monkeypatch.setitem(SETTINGS, "mlflow", True)  # ultralytics' default in a user's settings file
    rnd = load_round("r03_merge", profile="ci")
    assert not any(rnd.loggers.values())
    model = _Model()
    assert fit(rnd, model, data="data.yaml", name="seed_1") == "trained"
    assert model.seen == {"mlflow": False, "tensorboard": False, "wandb": False}
    assert model.arguments == {"data": "data.yaml", "name": "seed_1"}
    assert SETTINGS["mlflow"] is True  # restored after the training


def _train_calls(path: Path) -> list[int]:
    """Lines of ``<something>.train(...)`` calls in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "train"
    ]


def test_no_module_but_fit_calls_ultralytics_train():
    """A repeat that called model.train itself logged to MLflow although its round's loggers were off."""
    calls = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _train_calls(path))
    }
    assert calls == {"training/fit.py": calls.get("training/fit.py")}, calls
