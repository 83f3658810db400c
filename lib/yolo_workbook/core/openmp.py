"""OpenMP runtimes in this process: which are loaded, which package brought each, and the fix.

Two OpenMP runtimes in one process is what the diary's "OMP 충돌" was: Intel's ``libiomp5``
aborts with ``OMP: Error #15`` when a second copy of itself initializes (typically pip's torch,
which bundles ``libiomp5md.dll`` on Windows, next to conda's ``intel-openmp`` brought by MKL
numpy), and Intel's runtime next to GNU ``libgomp`` or LLVM ``libomp`` can crash or deadlock.
``KMP_DUPLICATE_LIB_OK=TRUE`` silences the abort without removing the cause; the workbook sets it
only when a round asks for it (``runtime: {allow_duplicate_openmp: true}``).

Examples:
    >>> from yolo_workbook.core.openmp import loaded_runtimes, diagnose
    >>> findings = diagnose(loaded_runtimes())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)
INTEL_WARNING = (
    "That is dangerous, since it can degrade performance or cause incorrect results. The best thing to do is to"
    " ensure that only a single OpenMP runtime is linked into the process, e.g. by avoiding static linking of the"
    " OpenMP runtime in any library. As an unsafe, unsupported, undocumented workaround you can set the environment"
    " variable KMP_DUPLICATE_LIB_OK=TRUE to allow the program to continue to execute, but that may cause crashes or"
    " silently produce incorrect results."
)
FAMILIES = {"libiomp": "Intel OpenMP", "libgomp": "GNU OpenMP", "libomp": "LLVM OpenMP", "vcomp": "MSVC OpenMP"}
OPT_IN = "runtime: {allow_duplicate_openmp: true}"


@dataclass(frozen=True)
class Finding:
    """One result of the environment check.

    Attributes:
        level (str): ``ok``, ``warning`` or ``error``.
        topic (str): What was checked: ``openmp``, ``device``, ``weights``, ``fonts``, ``versions``.
        message (str): What was found.
        fix (str): What to do about it (empty when nothing).
    """

    level: str
    topic: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        fix = f"\n    fix: {self.fix}" if self.fix else ""
        return f"{self.level:<7} {self.topic:<8} {self.message}{fix}"


def loaded_runtimes() -> list[dict[str, str]]:
    """OpenMP runtimes loaded in this process, as threadpoolctl sees them, after importing what training imports."""
    import torch  # noqa: F401  (loads its OpenMP runtime, as training will)
    import ultralytics  # noqa: F401  (and everything ultralytics loads: cv2, numpy, ...)
    from threadpoolctl import threadpool_info

    return [
        {"prefix": info.get("prefix", ""), "path": info.get("filepath", ""), "version": str(info.get("version") or "")}
        for info in threadpool_info()
        if info.get("user_api") == "openmp"
    ]


def probe_runtimes(*, timeout: int = 300) -> tuple[list[dict[str, str]], str]:
    """Load the training stack in a fresh Python and list its OpenMP runtimes; survive ``OMP: Error #15``.

    Intel's runtime aborts the whole process on a duplicate, so the doctor never imports torch
    itself first: a child process does. When the child aborts, the runtimes are listed again with
    ``KMP_DUPLICATE_LIB_OK=TRUE`` (in the child only) so that the report can name their packages.

    Returns:
        (tuple[list[dict], str]): The runtimes, and why the child failed (``""`` when it did not): its
        ``OMP: Error`` line, or the end of its error output when importing torch or ultralytics fails.
    """
    import subprocess

    def run(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "yolo_workbook.core.openmp"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **extra},
        )

    child = run({})
    crash = ""
    if child.returncode != 0:
        lines = (child.stderr or "").splitlines()
        crash = next((line.strip() for line in lines if "OMP: Error" in line), "")
        if not crash:
            return [], " | ".join(line.strip() for line in lines[-2:]) or f"exit code {child.returncode}"
        child = run({"KMP_DUPLICATE_LIB_OK": "TRUE"})
        if child.returncode != 0:
            return [], crash
    return json.loads(child.stdout.strip().splitlines()[-1]), crash


@dataclass(frozen=True)
class Owner:
    """The package that installed a file.

    Attributes:
        name (str): Package name (``""`` when unknown).
        version (str): Its version.
        source (str): ``conda``, ``pip``, ``dpkg`` or ``unknown``.
        channel (str): The conda channel (``conda-forge``, ``main``), when known.
    """

    name: str
    version: str = ""
    source: str = "unknown"
    channel: str = ""

    def __str__(self) -> str:
        if self.source == "unknown":
            return "unknown (not installed by conda, pip or dpkg)"
        where = {"dpkg": "system package, dpkg"}.get(self.source, self.source)
        where += f", {self.channel}" if self.channel else ""
        return f"{self.name}{' ' + self.version if self.version else ''} ({where})"


def _same(a: Path | str, b: Path | str) -> bool:
    """Equal paths, as the file system compares them (case-insensitive on Windows)."""
    return os.path.normcase(os.path.normpath(a)) == os.path.normcase(os.path.normpath(b))


def _conda_owner(path: Path, prefix: Path) -> Owner | None:
    meta = prefix / "conda-meta"
    if not meta.is_dir():
        return None
    for record in sorted(meta.glob("*.json")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if any(_same(prefix / str(f), path) for f in data.get("files", []) if Path(str(f)).name == path.name):
            channel = str(data.get("channel", "")).rstrip("/").rsplit("/", 1)[-1]
            return Owner(str(data.get("name")), str(data.get("version", "")), "conda", channel)
    return None


def _pip_owner(path: Path, search_path: list[str]) -> Owner | None:
    for dist in metadata.distributions(path=search_path):
        for file in dist.files or []:
            if file.name == path.name and _same(str(dist.locate_file(file)), path):
                return Owner(dist.metadata["Name"], dist.version, "pip")
    return None


def _dpkg_owner(path: Path, info_dir: Path = Path("/var/lib/dpkg/info")) -> Owner | None:
    if not info_dir.is_dir() or not str(path).startswith(("/usr/", "/lib")):
        return None
    wanted = {str(path), str(path.parent / _soname(path))} - {str(path.parent / "")}
    for listing in info_dir.glob("*.list"):
        try:
            if wanted & set(listing.read_text(encoding="utf-8", errors="replace").splitlines()):
                return Owner(listing.stem.split(":")[0], source="dpkg")
        except OSError:
            continue
    return None


def owner_of(file: str, *, prefix: Path | None = None, search_path: list[str] | None = None) -> Owner:
    """The package that installed a library file: conda (``conda-meta``), pip (``RECORD``) or dpkg.

    Args:
        file (str): The library's path as loaded.
        prefix (Path | None): The conda/venv prefix to search (default: ``sys.prefix``).
        search_path (list[str] | None): Where pip distributions live (default: ``sys.path``).

    Returns:
        (Owner): e.g. ``torch 2.5.1 (pip)``, ``intel-openmp 2024.1.0 (conda, main)`` as text.
    """
    prefix = Path(prefix or sys.prefix)
    search_path = search_path if search_path is not None else sys.path
    for candidate in dict.fromkeys([Path(os.path.normpath(file)), Path(os.path.realpath(file))]):
        owner = _conda_owner(candidate, prefix) or _pip_owner(candidate, search_path) or _dpkg_owner(candidate)
        if owner:
            return owner
    return Owner("")


def _soname(path: Path) -> str:
    """``libgomp.so.1`` for ``libgomp.so.1.0.0`` (dpkg lists the link, the loader reports the file)."""
    parts = path.name.split(".so.")
    return f"{parts[0]}.so.{parts[1].split('.')[0]}" if len(parts) == 2 and "." in parts[1] else ""


def _family(runtime: dict[str, str]) -> str:
    return FAMILIES.get(runtime["prefix"], runtime["prefix"] or "OpenMP")


def diagnose(
    runtimes: list[dict[str, str]],
    *,
    allowed: bool = False,
    environ: dict[str, str] | None = None,
    prefix: Path | None = None,
    search_path: list[str] | None = None,
) -> list[Finding]:
    """Explain the loaded OpenMP runtimes: one is fine; more names their packages and the real fix.

    Args:
        runtimes (list[dict]): From :func:`loaded_runtimes` (``prefix``, ``path``).
        allowed (bool): The round opted in to ``KMP_DUPLICATE_LIB_OK`` (``runtime.allow_duplicate_openmp``).
        environ (dict | None): Environment variables to judge (default: ``os.environ``).
        prefix (Path | None): conda/venv prefix for :func:`owner_of`.
        search_path (list[str] | None): pip search path for :func:`owner_of`.

    Returns:
        (list[Finding]): OpenMP findings, worst first.
    """
    environ = dict(os.environ if environ is None else environ)
    owners = [owner_of(r["path"], prefix=prefix, search_path=search_path) for r in runtimes]
    listed = "; ".join(f"{_family(r)} {r['path']} from {o}" for r, o in zip(runtimes, owners, strict=True))
    findings: list[Finding] = []
    if len(runtimes) <= 1:
        findings.append(Finding("ok", "openmp", f"one OpenMP runtime: {listed}" if runtimes else "no OpenMP runtime"))
    else:
        prefixes = [r["prefix"] for r in runtimes]
        intel = prefixes.count("libiomp")
        if intel > 1:
            problem = (
                f"{intel} copies of Intel OpenMP are loaded: 'OMP: Error #15: Initializing libiomp5, but found"
                " libiomp5 already initialized' aborts training"
            )
        elif intel:
            problem = "Intel OpenMP is loaded next to another OpenMP runtime: known to crash or deadlock"
        else:
            problem = f"{len(runtimes)} OpenMP runtimes are loaded (each with its own threads; can oversubscribe)"
        # Intel's runtime aborts (or misbehaves) unless the opt-in is on; GNU and LLVM copies coexist, slower.
        silenced = allowed and environ.get("KMP_DUPLICATE_LIB_OK") == "TRUE"
        level = "error" if intel and not silenced else "warning"
        findings.append(Finding(level, "openmp", f"{problem}. {listed}", _fix(owners, intel)))
    findings += _environment_findings(environ, allowed=allowed, duplicates=len(runtimes) > 1)
    return findings


def _fix(owners: list[Owner], intel: int) -> str:
    sources = {owner.source for owner in owners}
    named = ", ".join(str(owner) for owner in owners)
    if {"conda", "pip"} <= sources:
        steps = [
            f"install everything from one source: this environment mixes conda and pip packages ({named})."
            " Either `pip uninstall torch torchvision` then `conda install -c conda-forge pytorch torchvision`,"
            " or create a fresh environment from environment.yml (conda-forge only)"
        ]
    else:
        steps = [
            f"install these packages from one source so that they share one OpenMP runtime ({named}):"
            " all from conda-forge, or all pip wheels in a fresh venv"
        ]
    if intel and any(o.source == "conda" and o.name in ("intel-openmp", "mkl", "llvm-openmp") for o in owners):
        steps.append("or `conda install nomkl` so numpy and scipy use OpenBLAS instead of MKL's libiomp5")
    if intel:
        steps.append(
            f"only if you cannot fix it now: set `{OPT_IN}` in params/local.yaml (the workbook then sets"
            f' KMP_DUPLICATE_LIB_OK=TRUE before torch loads). Intel\'s warning: "{INTEL_WARNING}"'
        )
    return "; ".join(steps)


def _environment_findings(environ: dict[str, str], *, allowed: bool, duplicates: bool) -> list[Finding]:
    findings = []
    if environ.get("KMP_DUPLICATE_LIB_OK") and not allowed:
        findings.append(
            Finding(
                "warning",
                "openmp",
                f"KMP_DUPLICATE_LIB_OK={environ['KMP_DUPLICATE_LIB_OK']} is set in the environment"
                + (": it hides the duplicate runtime above" if duplicates else ", and nothing needs it"),
                "remove it (`conda env config vars unset KMP_DUPLICATE_LIB_OK`, or your shell profile) and fix the"
                f" cause; if you must keep it, opt in explicitly with `{OPT_IN}` in params/local.yaml",
            )
        )
    elif allowed:
        findings.append(
            Finding(
                "warning",
                "openmp",
                "runtime.allow_duplicate_openmp is on: KMP_DUPLICATE_LIB_OK=TRUE is set for this process",
                f'Intel: "{INTEL_WARNING}" Remove the opt-in once one OpenMP runtime is loaded.',
            )
        )
    if environ.get("OMP_NUM_THREADS") == "1":
        findings.append(
            Finding(
                "warning",
                "openmp",
                "OMP_NUM_THREADS=1: torch runs CPU work (augmentation, NMS, CPU training) on one thread",
                "unset it; it does not fix a duplicate runtime, it only slows the CPU side",
            )
        )
    return findings


def apply_opt_in(runtime: dict[str, Any]) -> bool:
    """Set ``KMP_DUPLICATE_LIB_OK=TRUE`` when the round opted in; log Intel's warning. Returns whether set.

    Must run before torch is imported to help; the training and predict steps call it first.
    """
    if not runtime.get("allow_duplicate_openmp"):
        return False
    if os.environ.get("KMP_DUPLICATE_LIB_OK") != "TRUE":
        os.environ["KMP_DUPLICATE_LIB_OK"] = "TRUE"
        late = " (torch was already imported in this process: restart the kernel for it to count)"
        LOGGER.warning(
            "runtime.allow_duplicate_openmp: KMP_DUPLICATE_LIB_OK=TRUE%s\nIntel: %s",
            late if "torch" in sys.modules else "",
            INTEL_WARNING,
        )
    return True


if __name__ == "__main__":  # the child process of probe_runtimes
    # Its standard output is the answer that probe_runtimes parses, not a log line: a print, on purpose.
    print(json.dumps(loaded_runtimes()))  # noqa: T201
