"""What the notebooks call: the generated parameters cell, the one-line round loading, the display steps."""

from __future__ import annotations

import ast
import json

import nbformat
import pytest
from papermill.translators import PythonTranslator

from yolo_workbook.config.params import NOTEBOOK_PARAMETERS, ROUND_KEYS
from yolo_workbook.core.errors import ParamsError, PredictError
from yolo_workbook.prediction.predict import PredictResult
from yolo_workbook.training.train import TrainResult
from yolo_workbook.ui import notebook


def _namespace(round_id: str, **values: object) -> dict[str, object]:
    """A notebook's globals after its parameters cell ran, and then papermill's injected cell (``values``)."""
    namespace: dict[str, object] = {}
    exec(notebook.parameters_cell(round_id), namespace)
    namespace.update(values)
    return namespace


def test_the_parameters_cell_is_papermills_contract_one_parameter_per_key():
    source = notebook.parameters_cell("r04_lr_cos")
    for node in ast.parse(source).body:  # literals only, each annotated
        assert isinstance(node, ast.AnnAssign), ast.dump(node)
        ast.literal_eval(node.value)
    inferred = {
        p.name: p for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(source))
    }  # what --help-notebook shows
    assert list(inferred) == list(notebook.parameter_names())
    assert set(inferred) == set(ROUND_KEYS) | set(NOTEBOOK_PARAMETERS)
    assert all(p.help and p.inferred_type_name != "None" for p in inferred.values())
    assert inferred["round_id"].default == '"r04_lr_cos"' and inferred["force"].default == "False"
    assert inferred["train"].inferred_type_name == "dict" and inferred["train"].default == "{}"


def test_a_key_config_adds_without_a_comment_stops_the_generator(monkeypatch):
    monkeypatch.setattr(notebook, "ROUND_KEYS", (*ROUND_KEYS, "schedule"))
    with pytest.raises(ParamsError, match="schedule") as caught:
        notebook.parameters_cell("r04_lr_cos")
    assert "PARAMETER_HELP" in caught.value.fix


def test_open_round_reads_the_parameters_from_the_notebooks_namespace(capsys):
    namespace = _namespace("r04_lr_cos", profile="ci", train={"epochs": 3}, unrelated=object())
    rnd = notebook.open_round(namespace, notebook="04_tune_round")
    assert (rnd.round_id, rnd.profile) == ("r04_lr_cos", "ci")
    assert rnd.train["epochs"] == 3  # a value papermill injected (-p train ...) overrides the file
    assert rnd.origin["train.epochs"] == "overrides (papermill -p or command line)"
    assert capsys.readouterr().out.startswith("round     r04_lr_cos  (notebook 04_tune_round, profile ci)")


def test_open_round_passes_every_round_key_but_round_id_to_load_round(monkeypatch):
    seen = {}
    monkeypatch.setattr(notebook, "load_round", lambda round_id, **kwargs: seen.update(kwargs, round_id=round_id))
    monkeypatch.setattr(notebook, "describe", lambda rnd: "")
    notebook.open_round(_namespace("r04_lr_cos", profile="ci"), notebook="04_tune_round")
    assert seen["round_id"] == "r04_lr_cos" and seen["profile"] == "ci" and seen["for_notebook"] == "04_tune_round"
    assert list(seen["injected"]) == [key for key in ROUND_KEYS if key != "round_id"]


def test_open_round_names_a_parameter_the_notebook_lacks():
    namespace = _namespace("r04_lr_cos")
    del namespace["loggers"], namespace["force"]
    with pytest.raises(
        ParamsError, match=r"notebooks/04_tune_round.ipynb: .* does not define force, loggers"
    ) as caught:
        notebook.open_round(namespace, notebook="04_tune_round")
    assert "parameters_cell" in caught.value.fix


def test_open_round_refuses_a_round_of_another_notebook():
    with pytest.raises(ParamsError, match="runs in notebook 04_tune_round, not 02_base_train"):
        notebook.open_round(_namespace("r04_lr_cos", profile="ci"), notebook="02_base_train")


def test_open_round_refuses_an_unknown_notebook_name():
    with pytest.raises(ParamsError, match="unknown notebook '04_tune'") as caught:
        notebook.open_round(_namespace("r04_lr_cos", profile="ci"), notebook="04_tune")
    assert "04_tune_round" in caught.value.fix


def test_show_result_prints_the_numbers_and_the_verdict(outputs, tmp_path, capsys):
    record = {"round_id": "r09_x", "status": "failed", "error": "CUDA out of memory"}
    notebook.show_result(TrainResult(tmp_path, tmp_path / "best.pt", tmp_path / "metrics.json", record), profile="ci")
    assert capsys.readouterr().out.splitlines() == [
        "r09_x: no metrics (failed: CUDA out of memory)",
        "failed: CUDA out of memory",
    ]


def test_show_leaderboard_prints_the_rounds_and_returns_their_records(outputs, capsys):
    assert notebook.show_leaderboard("ci") == []
    assert "(no finished rounds yet)" in capsys.readouterr().out
    folder = outputs / "ci" / "r01_base"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"round_id": "r01_base", "status": "failed", "error": "boom"}))
    assert [r["round_id"] for r in notebook.show_leaderboard("ci")] == ["r01_base"]
    printed = capsys.readouterr().out
    assert printed.count("r01_base") == 2 and "failed: boom" in printed  # the table, then the verdicts


def _predicted(tmp_path, frames_text: str) -> PredictResult:
    (tmp_path / "detections.json").write_text(frames_text, encoding="utf-8")
    summary = {"per_class": {"시태": {"frames": 2, "detections": 3}}}
    return PredictResult(tmp_path / "detections.json", tmp_path / "detections.jsonl", tmp_path / "s.json", summary)


def test_the_prediction_steps_read_the_frames_and_print_the_classes(tmp_path, capsys):
    frames = [{"frame_id": 0, "detections": []}]
    result = _predicted(tmp_path, json.dumps(frames))
    assert [(frame.frame_id, len(frame)) for frame in notebook.read_frames(result)] == [(0, 0)]
    notebook.show_detections_per_class(result)
    assert json.loads(capsys.readouterr().out) == result.summary["per_class"]


def test_read_frames_names_a_partial_detections_file(tmp_path):
    with pytest.raises(PredictError, match="detections.json: missing, or not a JSON list"):
        notebook.read_frames(_predicted(tmp_path, '[{"frame_id": 0'))


def test_every_described_parameter_is_one_config_knows():
    assert set(notebook.PARAMETER_HELP) == set(notebook.parameter_names())
