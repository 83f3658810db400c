"""``yolo-workbook check``: every problem of every round file, with file, line and fix, in a second.

The rules are those of :mod:`yolo_workbook.config.validate`, the one validator (which ``load_round``
runs too); this module picks the files, checks drafts outside ``params/`` as if they were in it,
reports a problem that several rounds inherit once, and formats the result. Nothing here imports
torch or ultralytics.

Examples:
    >>> from yolo_workbook.config.lint import check_rounds, format_problems
    >>> problems = check_rounds()  # every round in params/  # doctest: +SKIP
    >>> print(format_problems(problems))  # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from yolo_workbook.config.layers import list_rounds
from yolo_workbook.config.round import relative
from yolo_workbook.config.validate import Validator
from yolo_workbook.core import paths
from yolo_workbook.core.problems import Problem

__all__ = ["Problem", "check_rounds", "format_problems"]


def _check_elsewhere(path: Path, base: Path, *, profile: str, use_local: bool) -> list[Problem]:
    """A round file outside ``params/`` (a draft): checked as if it were ``params/<its name>.yaml``.

    Its ``extends`` and ``model.from`` resolve in ``params/``, the profile and local.yaml are overlaid, and every
    check runs on a copy of ``params/`` holding the draft; problems name the draft's real path and lines.
    """
    with tempfile.TemporaryDirectory(prefix="ywb-check-") as tmp:
        mirror = Path(tmp).resolve() / "params"
        if base.is_dir():
            shutil.copytree(base, mirror, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        mirror.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, mirror / path.name)
        validator = Validator()
        validator.check_file(mirror / path.name, params_dir=mirror, profile=profile, use_local=use_local)
    renames = [(str(mirror / path.name), relative(path)), (str(mirror), relative(base))]
    renames += [(relative(mirror / path.name), relative(path)), (relative(mirror), relative(base))]

    def renamed(text: str) -> str:
        for old, new in renames:
            text = text.replace(old, new)
        return text

    return [
        Problem(p.level, renamed(p.file), p.line, p.key, renamed(p.message), renamed(p.fix)) for p in validator.problems
    ]


def check_rounds(
    files: list[str | Path] | None = None, *, profile: str = "", params_dir: Path | None = None, use_local: bool = True
) -> list[Problem]:
    """Check round files (default: every round in ``params/``), the profile and the local overlay.

    A file outside ``params/`` (a draft) is checked as if it were ``params/<its name>.yaml``. Returns every problem
    found, errors and warnings, in file order; nothing is raised.
    """
    base = params_dir or paths.params_dir()
    targets = [Path(f) for f in files] if files else [base / f"{rid}.yaml" for rid in list_rounds(base)]
    validator = Validator()  # one for the whole check: each file is read and checked once
    if profile:
        profile_path = base / "profiles" / f"{profile}.yaml"
        if not profile_path.is_file():
            known = ", ".join(sorted(p.stem for p in (base / "profiles").glob("*.yaml")))
            message, fix = f"profile '{profile}' not found", f"use one of: {known}"
            return [Problem("error", relative(profile_path), None, "", message, fix)]
        validator.check_overlay(profile_path, "profile")
    local = base / "local.yaml"
    if use_local and local.is_file():
        validator.check_overlay(local, "local")
    problems: list[Problem] = []
    for target in targets:
        path = target if target.is_absolute() else (Path.cwd() / target)
        if not path.is_file():
            problems.append(Problem("error", relative(path), None, "", "file not found", "check the path"))
        elif path.parent.resolve() == base.resolve():
            validator.check_file(path, params_dir=base, profile=profile, use_local=use_local)
        else:
            problems += _check_elsewhere(path, base, profile=profile, use_local=use_local)
    return _group_inherited([*validator.problems, *problems])


def _group_inherited(problems: list[Problem]) -> list[Problem]:
    """One problem per file, line and key: a value inherited by several rounds is reported once."""
    grouped: dict[tuple[Any, ...], list[Problem]] = {}
    for problem in problems:
        # "r02_x: ..." or "r02_x (starts from r01_base): ...": the round, with what is particular to it, is the prefix.
        message = re.sub(r"^[a-z]\d{2}_[a-z0-9_]+(?: \([^():]*\))?: ", "", problem.message)
        grouped.setdefault((problem.level, problem.file, problem.line, problem.key, message, problem.fix), []).append(
            problem
        )
    merged = []
    for (level, file, line, key, message, fix), members in grouped.items():
        rounds = [m.message.split(":", 1)[0] for m in members if m.message != message]
        if len(rounds) > 1:
            message = f"{message} (in rounds {', '.join(rounds)})"
        elif rounds:
            message = members[0].message
        merged.append(Problem(level, file, line, key, message, fix))
    return sorted(merged, key=lambda p: (p.file, p.line or 10**6))


def format_problems(problems: list[Problem]) -> str:
    """All problems, then a one-line count."""
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    body = "\n".join(str(p) for p in problems)
    summary = f"{errors} error(s), {warnings} warning(s)" if problems else "ok: no problems"
    return f"{body}\n{summary}" if body else summary
