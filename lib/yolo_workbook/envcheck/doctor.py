"""``yolo-workbook doctor`` and notebook 01: is this machine ready to train, and if not, what to do.

Facts (versions, device, OpenMP runtimes, fonts, base weights) and findings (ok / warning /
error, each with its fix), as plain data for ``env_report.json``. Nothing is downloaded.

Examples:
    >>> from yolo_workbook.envcheck.doctor import environment_report, format_report
    >>> report = environment_report(profile="demo")  # doctest: +SKIP
    >>> print(format_report(report))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from yolo_workbook.config.params import TRAINING_NOTEBOOKS, Round, is_round_reference, list_rounds, load_round
from yolo_workbook.core import openmp, paths
from yolo_workbook.core.files import write_json
from yolo_workbook.core.openmp import Finding
from yolo_workbook.data.check import DataReport, dataset_stats

PACKAGES = ("torch", "torchvision", "ultralytics", "numpy", "opencv-python", "papermill", "jupyterlab", "ipywidgets")
PACKAGES += ("matplotlib", "threadpoolctl")
ENV_VARS = ("KMP_DUPLICATE_LIB_OK", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES")


# OpenCV ships under several names (conda-forge's opencv installs opencv_python metadata; images often use headless).
ALIASES = {"opencv-python": ("opencv-python", "opencv-python-headless", "opencv-contrib-python")}


def _version(package: str) -> str:
    for name in ALIASES.get(package, (package,)):
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        return found if name == package else f"{found} ({name})"
    return "not installed"


def device_facts() -> dict[str, Any]:
    """The accelerator torch sees, and the ``device`` / ``workers`` / ``batch`` it suggests for training."""
    import torch

    cpus = os.cpu_count() or 1
    # Windows starts each dataloader worker as a fresh process (spawn): fewer, heavier workers.
    max_workers = 4 if platform.system() == "Windows" else 8
    facts: dict[str, Any] = {
        "cpu_cores": cpus,
        "torch_threads": torch.get_num_threads(),
        "torch_cuda_build": torch.version.cuda or "",
        "nvidia_smi": shutil.which("nvidia-smi") or "",
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts.update(
            kind="cuda",
            name=props.name,
            count=torch.cuda.device_count(),
            memory_gib=round(props.total_memory / 2**30, 1),
            recommended={"device": 0, "workers": min(max_workers, cpus), "batch": -1},
            why="batch -1: ultralytics' AutoBatch fills about 60% of the GPU memory",
        )
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        facts.update(
            kind="mps",
            name="Apple MPS",
            recommended={"device": "mps", "workers": min(4, cpus), "batch": 16},
            why="MPS has no AutoBatch; 16 fits yolov8n/s at imgsz 640",
        )
    else:
        facts.update(
            kind="cpu",
            name=platform.processor() or platform.machine(),
            recommended={"device": "cpu", "workers": min(2, max(cpus // 2, 1)), "batch": 16},
            why="on a CPU, workers compete with training for the same cores",
        )
    return facts


def device_findings(device: dict[str, Any]) -> list[Finding]:
    """A CPU-only torch on a machine with an NVIDIA GPU is the common Windows trap (pip's default wheel)."""
    if device["kind"] == "unknown":
        return [Finding("error", "device", device["name"], "repair the torch installation (see the versions finding)")]
    if device["kind"] == "cuda":
        message = f"CUDA {device['torch_cuda_build']}: {device['name']}, {device['memory_gib']} GiB"
        return [Finding("ok", "device", message)]
    if device["nvidia_smi"] and not device["torch_cuda_build"]:
        if (Path(sys.prefix) / "conda-meta").is_dir():  # a pip wheel here would bring a second OpenMP runtime
            how = 'conda install -c conda-forge "pytorch=*=cuda*" torchvision'
        else:
            how = "pip install torch torchvision --force-reinstall --index-url https://download.pytorch.org/whl/cu126"
        return [
            Finding(
                "error",
                "device",
                f"an NVIDIA GPU is present ({device['nvidia_smi']}) but torch {_version('torch')} is a CPU-only build",
                f"install the CUDA build: {how} (docs/how-to/windows-conda.md), then run yolo-workbook doctor again",
            )
        ]
    if device["nvidia_smi"]:
        return [
            Finding(
                "error",
                "device",
                f"torch is built for CUDA {device['torch_cuda_build']} but sees no GPU",
                "update the NVIDIA driver to one that supports this CUDA version (nvidia-smi shows the driver's)",
            )
        ]
    if device["kind"] == "mps":
        return [Finding("ok", "device", "Apple MPS")]
    return [Finding("ok", "device", f"no GPU: training runs on the CPU ({device['cpu_cores']} cores, slow)")]


def version_findings(versions: dict[str, str]) -> list[Finding]:
    """The ultralytics minor version the workbook was checked against."""
    found = versions.get("ultralytics", "not installed")
    if found.startswith("8.4."):
        return [Finding("ok", "versions", f"ultralytics {found}, torch {versions.get('torch')}")]
    return [
        Finding(
            "warning",
            "versions",
            f"ultralytics {found}: the workbook is checked against 8.4.x",
            "pip install 'ultralytics>=8.4,<8.5' (or recreate the environment from environment.yml)",
        )
    ]


def weights_findings(rounds: list[Round]) -> list[Finding]:
    """Base weights named by the rounds (``yolov8n.pt``): on this machine, or a download at first training."""
    from ultralytics.utils import WEIGHTS_DIR

    by_source: dict[str, list[str]] = {}
    for rnd in rounds:
        if rnd.notebook in TRAINING_NOTEBOOKS and rnd.weights_from and not is_round_reference(rnd.weights_from):
            by_source.setdefault(rnd.weights_from, []).append(rnd.round_id)
    findings = []
    for source, users in sorted(by_source.items()):
        used = f"(model.from of {', '.join(users)})"
        if source.endswith((".yaml", ".yml")):
            findings.append(Finding("ok", "weights", f"{source} {used}: a new model, built from the yaml"))
            continue
        places = [paths.project_path(source)]
        if "/" not in source and "\\" not in source:
            places.append(Path(WEIGHTS_DIR) / Path(source).name)
        found = next((p for p in places if p.is_file()), None)
        if found:
            findings.append(Finding("ok", "weights", f"{source} {used}: available offline at {found}"))
        else:
            findings.append(
                Finding(
                    "warning",
                    "weights",
                    f"{source} {used} is not on this machine: ultralytics downloads it from GitHub at the first"
                    " training, which fails offline",
                    f"while online, the first `yolo-workbook run params/{users[0]}.yaml` downloads it into"
                    f" {WEIGHTS_DIR}; offline, copy {Path(source).name} there or into {paths.PROJECT_ROOT}",
                )
            )
    return findings


def class_names_of(rounds: list[Round]) -> dict[str, list[str]]:
    """Class names of every dataset the rounds use (data.yaml ``names``), by dataset; unreadable ones skipped."""
    from yolo_workbook.core.errors import WorkbookError
    from yolo_workbook.data.dataset import class_names, read_data_yaml

    names: dict[str, list[str]] = {}
    for rnd in rounds:
        for dataset, path in rnd.datasets.items():
            if dataset in names:
                continue
            try:
                names[dataset] = class_names(read_data_yaml(paths.project_path(path), dataset=dataset))
            except (WorkbookError, OSError):
                continue
    return names


def font_findings(names: dict[str, list[str]], fonts: dict[str, list[Path]] | None = None) -> list[Finding]:
    """Whether each drawer (ultralytics' plots, the workbook's figures) has glyphs for every class name.

    Args:
        names (dict[str, list[str]]): Class names by dataset.
        fonts (dict[str, list[Path]] | None): Font files per drawer (default: :func:`fonts.drawing_fonts`).
    """
    from yolo_workbook.core.fonts import drawing_fonts, missing_glyphs

    every = sorted({n for group in names.values() for n in group})
    if not every:
        return []
    fonts = fonts if fonts is not None else drawing_fonts(every)
    text = " ".join(every)
    findings = []
    for drawer, files in fonts.items():
        if not files and text.isascii():  # ultralytics falls back to Pillow's built-in font
            findings.append(Finding("ok", "fonts", f"{drawer}: Latin class names, Pillow's built-in font"))
            continue
        missing = missing_glyphs(text, files) if files else list(dict.fromkeys(text.replace(" ", "")))
        shown = ", ".join(Path(f).name for f in files) or "no font file"
        if not missing:
            findings.append(Finding("ok", "fonts", f"{drawer}: {shown} draws every class name"))
            continue
        bad = [n for n in every if any(c in missing for c in n)]
        findings.append(
            Finding(
                "error",
                "fonts",
                f"{drawer}: {shown} cannot draw {''.join(missing)!r} in class name(s) {', '.join(bad)}:"
                " labels would show empty boxes",
                "pip install koreanize-matplotlib (bundles NanumGothic; the workbook sets it up for ultralytics and"
                " matplotlib), or install a font with these characters (Debian: apt-get install fonts-nanum;"
                " Windows has Malgun Gothic) and restart the kernel",
            )
        )
    return findings


def profile_rounds(profile: str) -> tuple[list[Round], list[Finding]]:
    """Every round of ``params/`` resolved with the profile; a round that does not resolve becomes a finding."""
    from yolo_workbook.core.errors import ParamsError

    rounds, findings = [], []
    for round_id in list_rounds():
        try:
            rounds.append(load_round(round_id, profile=profile, check=False))
        except ParamsError as exc:
            findings.append(Finding("warning", "params", f"{round_id}: {exc.message}", "yolo-workbook check"))
    return rounds, findings


def _opted_in(allowed: bool) -> dict[str, str]:
    return {"KMP_DUPLICATE_LIB_OK": "TRUE"} if allowed else {}


def environment_report(*, profile: str = "", rounds: list[Round] | None = None) -> dict[str, Any]:
    """Facts and findings of this environment for the given rounds (default: every round of the profile).

    OpenMP runtimes are listed by a child Python that imports what training imports, so that a
    duplicate runtime is diagnosed instead of aborting this process.

    Returns:
        (dict): ``python``, ``versions``, ``device``, ``openmp``, ``fonts``, ``findings`` ... (``env_report.json``).
    """
    findings: list[Finding] = []
    # As the user set it: importing ultralytics sets OMP_NUM_THREADS=1 itself, so judge the environment first.
    environ = dict(os.environ)
    if rounds is None:
        rounds, findings = profile_rounds(profile)
    allowed = any(r.runtime.get("allow_duplicate_openmp") for r in rounds)
    openmp.apply_opt_in({"allow_duplicate_openmp": allowed})
    runtimes, crash = openmp.probe_runtimes()
    if crash and "OMP: Error" in crash:
        findings.append(
            Finding(
                "error",
                "openmp",
                f"importing torch and ultralytics aborts: {crash}",
                "see the other OpenMP finding for the packages involved and the fix",
            )
        )
    elif crash:
        findings.append(
            Finding(
                "error",
                "versions",
                f"importing torch and ultralytics fails in a fresh Python: {crash}",
                "repair the environment: conda env update -f environment.yml --prune (conda), or"
                ' pip install -e ".[dev]" (venv); then run yolo-workbook doctor again',
            )
        )
    findings += openmp.diagnose(runtimes, allowed=allowed, environ={**environ, **_opted_in(allowed)})
    if crash and "OMP: Error" in crash:  # only so that this report can finish; training never gets it unasked
        os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")
    versions = {p: _version(p) for p in PACKAGES}
    try:
        device = device_facts()
    except Exception as exc:  # a broken torch install: report it, do not crash the report
        device = {"kind": "unknown", "name": f"torch does not load: {exc}", "recommended": {}, "why": "-"}
    names = class_names_of(rounds)
    findings += device_findings(device) + version_findings(versions)
    if not crash or "OMP: Error" in crash:  # both need ultralytics to import
        findings += weights_findings(rounds) + font_findings(names)
    runtimes = [{**r, "package": str(openmp.owner_of(r["path"]))} for r in runtimes]
    order = {"error": 0, "warning": 1, "ok": 2}
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "platform": platform.platform(),
        "profile": profile,
        "versions": versions,
        "device": device,
        "openmp": runtimes,
        "class_names": names,
        "env_vars": {
            k: environ[k] for k in ("KMP_DUPLICATE_LIB_OK", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in environ
        },
        "findings": [asdict(f) for f in sorted(findings, key=lambda f: order[f.level])],
    }


def format_report(report: dict[str, Any]) -> str:
    """Versions, device, recommendation, then every finding with its fix; a one-line verdict last."""
    versions = report["versions"]
    device = report["device"]
    lines = [
        f"python       {report['python']}  ({report['executable']})",
        *(f"{p:<12} {versions[p]}" for p in ("torch", "ultralytics", "numpy", "opencv-python")),
        f"device       {device['kind']} ({device['name']})",
        f"recommended  {device['recommended']}  ({device['why']})",
        f"openmp       {len(report['openmp'])} runtime(s): "
        + (", ".join(f"{r['prefix']} from {r['package']}" for r in report["openmp"]) or "-"),
        "",
    ]
    findings = [Finding(**f) for f in report["findings"]]
    lines += [str(f) for f in findings]
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    lines.append(f"\n{errors} error(s), {warnings} warning(s)" if errors or warnings else "\nready: no problems")
    return "\n".join(lines)


ENV_REPORT = "env_report.json"  # in the environment round's output folder (notebook 01)


def write_report(report: dict[str, Any], data_reports: dict[str, DataReport], rnd: Round) -> Path:
    """Write ``outputs/<profile>/<round>/env_report.json`` atomically, with each dataset's stats and problem counts."""
    datasets: dict[str, Any] = {}
    for name, data_report in data_reports.items():
        errors = sum(p.level == "error" for p in data_report.problems)
        entry = dataset_stats(data_report) if data_report.images else {"data_yaml": str(data_report.data_yaml)}
        datasets[name] = {**entry, "errors": errors, "warnings": len(data_report.problems) - errors}
    return write_json(rnd.output_dir / ENV_REPORT, {**report, "datasets": datasets})
