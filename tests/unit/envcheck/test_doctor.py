"""The environment check (``yolo-workbook doctor``, notebook 01): OpenMP, fonts, weights, device, opt-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import child_environment, cli, write

from yolo_workbook.config.params import load_round
from yolo_workbook.core import openmp
from yolo_workbook.core.fonts import cjk_font_path
from yolo_workbook.core.openmp import INTEL_WARNING, apply_opt_in, diagnose, owner_of
from yolo_workbook.envcheck.doctor import device_findings, font_findings, weights_findings

# Debian's GNU OpenMP runtime (package libgomp1; `make browser-deps` installs it when missing).
SYSTEM_LIBGOMP = Path("/usr/lib") / (sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu") / "libgomp.so.1"


def fake_conda_env(prefix: Path) -> Path:
    """A conda prefix whose numpy came from the defaults channel with MKL, which brings intel-openmp."""
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    dll = prefix / "Library" / "bin" / "libiomp5md.dll"
    dll.parent.mkdir(parents=True)
    dll.write_bytes(b"")
    record = {"name": "intel-openmp", "version": "2024.1.0", "channel": "https://repo.anaconda.com/pkgs/main"}
    (meta / "intel-openmp-2024.1.0-h57928b3_965.json").write_text(
        json.dumps({**record, "files": ["Library/bin/libiomp5md.dll"]})
    )
    return dll


def fake_pip_torch(site: Path) -> Path:
    """A pip-installed torch wheel that bundles its own libiomp5md.dll (the Windows wheel does)."""
    dll = site / "torch" / "lib" / "libiomp5md.dll"
    dll.parent.mkdir(parents=True)
    dll.write_bytes(b"")
    info = site / "torch-2.5.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.5.1\n")
    (info / "RECORD").write_text("torch/lib/libiomp5md.dll,,\ntorch-2.5.1.dist-info/METADATA,,\n")
    return dll


@pytest.fixture()
def two_intel_runtimes(tmp_path: Path) -> tuple[list[dict[str, str]], Path, Path]:
    prefix, site = tmp_path / "env", tmp_path / "env" / "Lib" / "site-packages"
    conda_dll, pip_dll = fake_conda_env(prefix), fake_pip_torch(site)
    runtimes = [{"prefix": "libiomp", "path": str(p), "version": ""} for p in (conda_dll, pip_dll)]
    return runtimes, prefix, site


def test_owner_of_names_the_conda_and_the_pip_package(two_intel_runtimes):
    runtimes, prefix, site = two_intel_runtimes
    owners = [str(owner_of(r["path"], prefix=prefix, search_path=[str(site)])) for r in runtimes]
    assert owners == ["intel-openmp 2024.1.0 (conda, main)", "torch 2.5.1 (pip)"]


def test_two_intel_runtimes_are_an_error_with_the_packages_and_the_real_fix(two_intel_runtimes):
    runtimes, prefix, site = two_intel_runtimes
    findings = diagnose(runtimes, environ={}, prefix=prefix, search_path=[str(site)])
    assert [f.level for f in findings] == ["error"]
    (finding,) = findings
    assert "2 copies of Intel OpenMP" in finding.message and "OMP: Error #15" in finding.message
    assert "intel-openmp 2024.1.0 (conda, main)" in finding.message and "torch 2.5.1 (pip)" in finding.message
    assert "pip uninstall torch torchvision" in finding.fix and "conda install -c conda-forge pytorch" in finding.fix
    assert "conda install nomkl" in finding.fix
    # The workaround is offered only as the explicit opt-in, with Intel's own warning.
    assert "runtime: {allow_duplicate_openmp: true}" in finding.fix and INTEL_WARNING in finding.fix


def test_the_opt_in_turns_the_error_into_a_warning_that_keeps_intels_words(two_intel_runtimes):
    runtimes, prefix, site = two_intel_runtimes
    environ = {"KMP_DUPLICATE_LIB_OK": "TRUE"}
    findings = diagnose(runtimes, allowed=True, environ=environ, prefix=prefix, search_path=[str(site)])
    assert [f.level for f in findings] == ["warning", "warning"]
    assert "allow_duplicate_openmp is on" in findings[1].message and INTEL_WARNING in findings[1].fix


def test_kmp_duplicate_lib_ok_set_by_hand_is_reported_not_trusted():
    findings = diagnose([], environ={"KMP_DUPLICATE_LIB_OK": "TRUE", "OMP_NUM_THREADS": "1"})
    messages = " | ".join(f.message for f in findings)
    assert "KMP_DUPLICATE_LIB_OK=TRUE is set in the environment" in messages
    assert "OMP_NUM_THREADS=1" in messages
    assert all(f.level == "warning" for f in findings[1:])


def test_apply_opt_in_sets_the_variable_only_when_asked(monkeypatch, capsys):
    monkeypatch.setenv("KMP_DUPLICATE_LIB_OK", "")  # restored after the test, whatever apply_opt_in does
    monkeypatch.delenv("KMP_DUPLICATE_LIB_OK")
    assert apply_opt_in({}) is False and "KMP_DUPLICATE_LIB_OK" not in os.environ
    assert apply_opt_in({"allow_duplicate_openmp": True}) is True
    assert os.environ["KMP_DUPLICATE_LIB_OK"] == "TRUE"
    assert INTEL_WARNING in capsys.readouterr().err


def test_runtime_and_loggers_switches_must_be_yes_or_no(params_dir):
    write(params_dir, "r01_base.yaml", "round_id: r01_base\nnotebook: 02_base_train\nmodel: {from: yolov8n.yaml}\n")
    write(params_dir, "local.yaml", "runtime:\n  allow_duplicate_openmp: 'TRUE'\nloggers:\n  mlfow: true\n")
    done = cli("check", env={"YOLO_WORKBOOK_PARAMS": str(params_dir)})
    assert done.returncode == 1
    assert "runtime.allow_duplicate_openmp: must be true or false, got 'TRUE'" in done.stdout
    assert "loggers.mlfow: unknown key" in done.stdout and "did you mean 'mlflow'?" in done.stdout
    write(params_dir, "local.yaml", "runtime: {allow_duplicate_openmp: true}\nloggers: {tensorboard: true}\n")
    rnd = load_round("r01_base", params_dir=params_dir)
    assert rnd.runtime == {"allow_duplicate_openmp": True} and rnd.loggers == {"tensorboard": True}


HANGUL = {"classroom": ["학생", "desk", "시태"]}


def test_fonts_without_hangul_are_an_error_naming_the_characters_and_classes():
    dejavu = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    findings = font_findings(HANGUL, fonts={"matplotlib": [dejavu], "ultralytics": []})
    assert [f.level for f in findings] == ["error", "error"]
    assert "DejaVuSans.ttf cannot draw '시태학생'" in findings[0].message
    assert "class name(s) 시태, 학생" in findings[0].message
    assert "koreanize-matplotlib" in findings[0].fix and "fonts-nanum" in findings[0].fix


def test_the_workbooks_fonts_draw_hangul_class_names():
    findings = font_findings(HANGUL)  # as set up: NanumGothic from koreanize-matplotlib
    assert cjk_font_path() is not None
    assert [f.level for f in findings] == ["ok", "ok"], findings


def test_latin_names_need_no_font_file_for_ultralytics():
    findings = font_findings({"v1": ["desk", "student"]}, fonts={"ultralytics": []})
    assert [f.level for f in findings] == ["ok"]


def test_base_weights_missing_offline_is_a_warning_with_where_to_put_them(params_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_WORKBOOK_PARAMS", str(params_dir))
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"x")
    write(params_dir, "r01_base.yaml", "round_id: r01_base\nnotebook: 02_base_train\nmodel: {from: yolov0n.pt}\n")
    write(params_dir, "r02_mine.yaml", f"round_id: r02_mine\nnotebook: 02_base_train\nmodel: {{from: {weights}}}\n")
    write(params_dir, "r03_yaml.yaml", "round_id: r03_yaml\nnotebook: 02_base_train\nmodel: {from: yolov8n.yaml}\n")
    rounds = [load_round(r, params_dir=params_dir, check=False) for r in ("r01_base", "r02_mine", "r03_yaml")]
    findings = {f.message.split()[0]: f for f in weights_findings(rounds)}
    assert findings["yolov0n.pt"].level == "warning" and "downloads it from GitHub" in findings["yolov0n.pt"].message
    assert "yolo-workbook run params/r01_base.yaml" in findings["yolov0n.pt"].fix
    assert findings[str(weights)].level == "ok" and "available offline" in findings[str(weights)].message
    assert findings["yolov8n.yaml"].level == "ok"


def test_cpu_only_torch_next_to_an_nvidia_gpu_is_an_error():
    device = {"kind": "cpu", "nvidia_smi": "C:/Windows/System32/nvidia-smi.exe", "torch_cuda_build": ""}
    (finding,) = device_findings({**device, "cpu_cores": 8})
    assert finding.level == "error" and "CPU-only build" in finding.message
    assert "download.pytorch.org/whl/cu" in finding.fix or "pytorch=*=cuda*" in finding.fix


def sitecustomize(folder: Path, code: str) -> dict[str, str]:
    """Environment that makes every Python started with it run ``code`` first (as a package would)."""
    write(folder, "sitecustomize.py", code)
    return {**clean_environment(), "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``yolo-workbook doctor`` with exactly this environment (not merged into this process's)."""
    command = [str(Path(sys.executable).parent / "yolo-workbook"), "doctor", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def clean_environment() -> dict[str, str]:
    """This process's environment without what pytest and ultralytics' import (OMP_NUM_THREADS=1) put there."""
    env = child_environment()
    env.pop("OMP_NUM_THREADS", None)
    return env


def test_cli_runs_of_the_tests_see_no_pytest_variable(tmp_path):
    """With PYTEST_CURRENT_TEST, ultralytics in the CLI and its kernels would run in its own test mode."""
    seen = tmp_path / "seen.txt"
    probe = "import os, pathlib\npathlib.Path(os.environ['YWB_PROBE']).write_text(' '.join(sorted(os.environ)))\n"
    site = write(tmp_path / "site", "sitecustomize.py", probe).parent
    assert "PYTEST_CURRENT_TEST" in os.environ  # this process runs under pytest
    assert cli("--help", env={"PYTHONPATH": str(site), "YWB_PROBE": str(seen)}).returncode == 0
    names = seen.read_text().split()
    assert "YOLO_WORKBOOK_PARAMS" in names and not [name for name in names if name.startswith("PYTEST_")]


def system_libgomp() -> Path:
    """Debian's libgomp1: the test skips without it on a developer's machine, and fails in CI (``CI`` set)."""
    if sys.platform != "linux":
        pytest.skip("loads Linux's libgomp.so.1")
    if not SYSTEM_LIBGOMP.exists():
        reason = f"{SYSTEM_LIBGOMP} is missing: Debian's libgomp1, which `make browser-deps` installs"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run this test)")
        pytest.skip(reason)
    return SYSTEM_LIBGOMP


@pytest.mark.slow
def test_doctor_explains_a_second_openmp_runtime_loaded_for_real(tmp_path):
    # A package that loads its own OpenMP runtime next to torch's: here the system's GNU libgomp.
    libgomp = system_libgomp()
    env = sitecustomize(
        tmp_path / "site",
        f"import ctypes, os\nif os.environ.get('SIMULATE'):\n    import torch\n    ctypes.CDLL('{libgomp}')\n",
    )
    done = doctor("--profile", "ci", "--json", str(tmp_path / "report.json"), env={**env, "SIMULATE": "1"})
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["openmp"]) == 2, done.stdout + done.stderr
    packages = sorted(r["package"] for r in report["openmp"])
    assert packages[0].startswith("libgomp1") and packages[1].startswith("torch ")
    (finding,) = [f for f in report["findings"] if f["topic"] == "openmp"]
    assert finding["level"] == "warning" and "2 OpenMP runtimes are loaded" in finding["message"]
    assert "from one source" in finding["fix"]
    assert "2 runtime(s)" in done.stdout and "fix:" in done.stdout


@pytest.mark.slow
def test_doctor_survives_omp_error_15_and_still_names_the_runtimes(tmp_path):
    # Intel's runtime aborts the process at import when a second copy initializes; the doctor must not.
    abort = (
        "import os, sys\n"
        "class Abort:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' and os.environ.get('KMP_DUPLICATE_LIB_OK') != 'TRUE':\n"
        "            sys.stderr.write('OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already"
        " initialized.\\n')\n"
        "            sys.stderr.flush()\n"
        "            os._exit(3)\n"
        "sys.meta_path.insert(0, Abort())\n"
    )
    done = doctor("--profile", "ci", env=sitecustomize(tmp_path / "site", abort))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error   openmp   importing torch and ultralytics aborts: OMP: Error #15" in done.stdout
    assert "1 runtime(s): libgomp from torch" in done.stdout  # listed again by a child that may continue


@pytest.mark.slow
def test_doctor_reports_a_broken_torch_instead_of_crashing(tmp_path):
    broken = (
        "import sys\n"
        "class Broken:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            raise ImportError('libtorch_cpu.so: cannot open shared object file')\n"
        "sys.meta_path.insert(0, Broken())\n"
    )
    done = doctor("--profile", "ci", env=sitecustomize(tmp_path / "site", broken))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "error   versions importing torch and ultralytics fails in a fresh Python" in done.stdout
    assert "libtorch_cpu.so: cannot open shared object file" in done.stdout
    assert "conda env update -f environment.yml --prune" in done.stdout
    assert "error   device   torch does not load" in done.stdout


def test_doctor_is_ready_on_this_machine_with_the_ci_profile(ci_data, tmp_path):
    done = doctor("--profile", "ci", "--json", str(tmp_path / "report.json"), env=clean_environment())
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report["class_names"]["classroom_v1"]) == ["desk", "sitae", "student"]
    assert report["device"]["recommended"]["device"] in {"cpu", 0, "mps"}
    assert {f["topic"] for f in report["findings"]} >= {"openmp", "device", "versions", "weights", "fonts"}
    assert report["openmp"][0]["package"].split()[0] in {"torch", "libgomp1", "intel-openmp", "llvm-openmp"}
    assert not any(f["level"] == "error" for f in report["findings"])


def test_probe_runs_in_a_child_so_this_process_stays_clean():
    before = "torch" in sys.modules
    runtimes, crash = openmp.probe_runtimes()
    assert crash == "" and runtimes and all(r["prefix"] for r in runtimes)
    assert ("torch" in sys.modules) == before
