"""Draft the next round from the current one: a few train arguments and the ``why``, checked, then written.

The round editor widget of notebook 04 is a thin face over these functions: a draft is a round
file that ``extends`` the current round and holds only what changes; it is checked by the same
lint as ``yolo-workbook check`` (against a copy of ``params/``, so nothing is written until asked);
writing never replaces an existing file.

Examples:
    >>> from yolo_workbook.ui.editor import draft_text, check_draft, write_draft
    >>> text = draft_text(rnd, "r10_lower_lr", why="lower lr", changes={"lr0": 0.005})  # doctest: +SKIP
    >>> check_draft(text, "r10_lower_lr", profile="demo")  # doctest: +SKIP
    []
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.config.lint import check_rounds
from yolo_workbook.config.params import ROUND_ID, Round
from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError
from yolo_workbook.core.files import YamlReadError, atomic_output, parse_yaml
from yolo_workbook.core.problems import Problem

# The train arguments the editor offers (the diary's rounds changed these); others go in by hand.
EDITABLE = ("epochs", "optimizer", "lr0", "cos_lr", "freeze", "cls_pw", "imgsz", "batch")


def parse_value(text: str) -> Any:
    """A field's text as YAML would read it (``0.005`` -> float, ``true`` -> bool); ``None`` when empty."""
    if not text.strip():
        return None
    try:
        return parse_yaml(text).data
    except YamlReadError:
        return text


def slug_for(why: str, changes: dict[str, Any]) -> str:
    """A file-name slug: the first words of an English ``why``, else the changed keys (``lr0_cls_pw``)."""
    words = re.findall(r"[a-z0-9]+", why.lower()) if why.isascii() else []
    slug = "_".join(words[:4]) or "_".join(re.sub(r"[^a-z0-9]+", "_", k.lower()) for k in changes)[:40]
    return slug.strip("_") or "next"


def draft_text(current: Round, round_id: str, *, why: str, expect: str = "", changes: dict[str, Any]) -> str:
    """The new round file: it extends ``current`` and holds only the changed train arguments."""
    body: dict[str, Any] = {
        "round_id": round_id,
        "extends": current.round_id,
        "notebook": current.notebook,
        "why": why.strip(),
        **({"expect": expect.strip()} if expect.strip() else {}),
    }
    if changes:
        body["train"] = dict(changes)
    header = f"# Drafted in notebook {current.notebook} from {current.round_id}: only what changes.\n"
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


def check_draft(text: str, round_id: str, *, profile: str = "", params_dir: Path | None = None) -> list[Problem]:
    """Every lint problem of a draft, as if it were ``params/<round_id>.yaml``; nothing is written there."""
    base = params_dir or paths.params_dir()
    problems: list[Problem] = []
    if (base / f"{round_id}.yaml").exists():
        problems.append(
            Problem("error", f"params/{round_id}.yaml", None, "round_id", "exists already", "choose another name")
        )
    with tempfile.TemporaryDirectory(prefix="ywb-draft-") as tmp:
        mirror = Path(tmp) / "params"
        shutil.copytree(base, mirror, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        draft = mirror / f"{round_id}.yaml"
        draft.write_text(text, encoding="utf-8")
        found = check_rounds([draft], profile=profile, params_dir=mirror)
    for problem in found:
        file = problem.file.replace(str(mirror), "params")
        problems.append(Problem(problem.level, file, problem.line, problem.key, problem.message, problem.fix))
    return problems


def write_draft(text: str, round_id: str, *, params_dir: Path | None = None) -> Path:
    """Write ``params/<round_id>.yaml`` complete or not at all; an existing file is never replaced."""
    base = params_dir or paths.params_dir()
    if not ROUND_ID.match(round_id):
        raise ParamsError(f"'{round_id}' is not a round id", fix="use rNN_<slug>: lower case, digits and '_'")
    target = base / f"{round_id}.yaml"
    try:
        with atomic_output(target, overwrite=False) as partial:  # no check-then-write race
            partial.write_text(text, encoding="utf-8")
    except FileExistsError:
        raise ParamsError(
            f"params/{round_id}.yaml exists already; nothing was written", fix="choose another name"
        ) from None
    return target
