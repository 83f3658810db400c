"""The environment report of notebook 01: versions, device, OpenMP runtimes, datasets."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from yolo_workbook.datacheck import DataReport, dataset_stats
from yolo_workbook.records import write_json


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def device_facts() -> dict[str, Any]:
    """The accelerator torch sees, and the ``device`` / ``workers`` it suggests for training."""
    import torch

    cpus = os.cpu_count() or 1
    facts: dict[str, Any] = {"cpu_cores": cpus, "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts.update(
            kind="cuda",
            name=props.name,
            memory_gib=round(props.total_memory / 2**30, 1),
            cuda_version=torch.version.cuda,
            recommended={"device": 0, "workers": min(8, cpus), "batch": -1},
        )
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        facts.update(kind="mps", name="Apple MPS", recommended={"device": "mps", "workers": min(4, cpus), "batch": 16})
    else:
        facts.update(
            kind="cpu",
            name=platform.processor() or platform.machine(),
            recommended={"device": "cpu", "workers": min(2, cpus), "batch": 16},
        )
    return facts


def openmp_runtimes() -> list[dict[str, str]]:
    """OpenMP runtimes loaded in this process (two at once cause 'OMP: Error #15')."""
    from threadpoolctl import threadpool_info

    return [
        {"library": info.get("internal_api", ""), "prefix": info.get("prefix", ""), "path": info.get("filepath", "")}
        for info in threadpool_info()
        if info.get("user_api") == "openmp"
    ]


def environment_report() -> dict[str, Any]:
    """Versions, device and OpenMP runtimes of this kernel, as plain data (for ``env_report.json``)."""
    import torch  # noqa: F401  (imported first so that its OpenMP runtime is loaded and listed)

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "platform": platform.platform(),
        "versions": {
            p: _version(p)
            for p in (
                "torch",
                "torchvision",
                "ultralytics",
                "numpy",
                "opencv-python",
                "papermill",
                "jupyterlab",
                "ipywidgets",
                "matplotlib",
            )
        },
        "device": device_facts(),
        "openmp": openmp_runtimes(),
        "env_vars": {
            k: os.environ[k] for k in ("KMP_DUPLICATE_LIB_OK", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ
        },
    }
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report's deterministic facts, one per line (what nbval checks)."""
    lines = [f"python {report['python'].rsplit('.', 1)[0]}"]
    for package in ("torch", "ultralytics", "numpy"):
        lines.append(f"{package:<12} {report['versions'][package]}")
    device = report["device"]
    lines.append(f"device       {device['kind']} ({device['name']})")
    lines.append(f"recommended  {device['recommended']}")
    runtimes = report["openmp"]
    lines.append(f"openmp       {len(runtimes)} runtime(s): {', '.join(r['prefix'] for r in runtimes) or '-'}")
    if len(runtimes) > 1:
        lines.append("             more than one OpenMP runtime is loaded: 'OMP: Error #15' may follow")
    return "\n".join(lines)


def write_report(report: dict[str, Any], data_reports: dict[str, DataReport], path: Path) -> Path:
    """Write ``env_report.json`` atomically, with each dataset's stats and problem counts."""
    datasets: dict[str, Any] = {}
    for name, data_report in data_reports.items():
        errors = sum(p.level == "error" for p in data_report.problems)
        entry = dataset_stats(data_report) if data_report.images else {"data_yaml": str(data_report.data_yaml)}
        datasets[name] = {**entry, "errors": errors, "warnings": len(data_report.problems) - errors}
    return write_json(path, {**report, "datasets": datasets})
