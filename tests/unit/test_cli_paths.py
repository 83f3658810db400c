"""cli: a path typed on the command line is read from the current folder, as every command line reads it (issue 25).

Each test runs the command from a folder outside the project with a relative path; the same name under the project
root would be read on the old code (and is not there).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from yolo_workbook import cli
from yolo_workbook.core import paths


@pytest.fixture()
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci_data: dict[str, Path]) -> Path:
    """A folder outside the project, the current folder, holding a copy of the ci dataset as ``export1/``."""
    folder = tmp_path / "elsewhere"
    shutil.copytree(ci_data["first"].parent, folder / "export1")
    monkeypatch.chdir(folder)
    assert not (paths.PROJECT_ROOT / "export1").exists()
    return folder


def test_data_check_reads_a_relative_data_yaml_from_the_current_folder(elsewhere, capsys):
    code = cli.main(["data", "check", "./export1/data.yaml"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert captured.out.splitlines()[-1].startswith(f"{elsewhere / 'export1' / 'data.yaml'}: "), captured.out


def test_data_stats_reads_and_writes_relative_paths_from_the_current_folder(elsewhere, capsys):
    code = cli.main(["data", "stats", "export1/data.yaml", "--json", "stats.json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert captured.out.strip() == str(elsewhere / "stats.json")
    assert json.loads((elsewhere / "stats.json").read_text(encoding="utf-8"))


def test_data_merge_reads_and_writes_relative_paths_from_the_current_folder(elsewhere, capsys):
    shutil.copytree(elsewhere / "export1", elsewhere / "export2")
    code = cli.main(["data", "merge", "export1/data.yaml", "export2/data.yaml", "-o", "merged"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert captured.out.splitlines()[0] == str(elsewhere / "merged" / "data.yaml")


def test_score_video_reads_a_relative_folder_from_the_current_folder(elsewhere, outputs, capsys):
    (elsewhere / "prediction").mkdir()
    assert cli.main(["score-video", "--profile", "ci", "--folder", "prediction"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {elsewhere / 'prediction'}: no prediction here"), err


def test_predict_options_that_name_files_read_them_from_the_current_folder(
    elsewhere, outputs, ci_data, monkeypatch, capsys
):
    """--source, --truth, --weights and --tracker reach the round as absolute paths of the current folder."""
    from yolo_workbook.attendance import job
    from yolo_workbook.core.errors import WorkbookError

    shutil.copy(ci_data["video"], elsewhere / "clip.mp4")
    shutil.copytree(ci_data["video"].with_suffix(".truth"), elsewhere / "clip.truth")
    shutil.copy(ci_data["first"].parent / "README.dataset.txt", elsewhere / "best.pt")  # read only by ultralytics
    (elsewhere / "mytrack.yaml").write_text("tracker_type: bytetrack\n", encoding="utf-8")
    seen = {}

    def stop(rnd, **options):
        seen.update(
            source=rnd.predict["source"],
            tracker=rnd.predict["tracker"],
            weights=rnd.weights_from,
            truth=rnd.attendance["truth"],
        )
        raise WorkbookError("stopped by the test")

    monkeypatch.setattr(job, "predict_and_count", stop)
    argv = ["predict", "--profile", "ci", "--source", "clip.mp4", "--truth", "./clip.truth", "--weights", "best.pt"]
    code = cli.main([*argv, "--tracker", "mytrack.yaml"])
    err = capsys.readouterr().err
    assert (code, err) == (1, "error: stopped by the test\n")
    assert seen == {
        "source": str(elsewhere / "clip.mp4"),
        "tracker": str(elsewhere / "mytrack.yaml"),
        "weights": str(elsewhere / "best.pt"),
        "truth": str(elsewhere / "clip.truth"),
    }


def test_predict_passes_a_round_id_a_camera_and_a_shipped_tracker_as_they_are(elsewhere, outputs, monkeypatch):
    from yolo_workbook.attendance import job
    from yolo_workbook.core.errors import WorkbookError

    seen = {}

    def stop(rnd, **options):
        seen.update(source=rnd.predict["source"], tracker=rnd.predict["tracker"], weights=rnd.weights_from)
        raise WorkbookError("stopped by the test")

    monkeypatch.setattr(job, "predict_and_count", stop)
    argv = ["predict", "--profile", "ci", "--source", "0", "--weights", "r01_base", "--tracker", "bytetrack"]
    assert cli.main(argv) == 1
    assert seen == {"source": "0", "tracker": "bytetrack", "weights": "r01_base"}
