"""Round files: load, follow ``extends``, overlay profile and local settings, resolve.

This is the only module that reads round YAML. A round file holds only what it changes from the
round it ``extends``; dicts deep-merge, scalars and lists replace. Layers, later wins:

1. the round's ``extends`` chain, from the root round to this one;
2. ``params/local.yaml`` (uncommitted, machine specifics: dataset paths, device);
3. ``params/profiles/<profile>.yaml``: its top-level sections, then its ``rounds.<round_id>`` part;
4. values injected by papermill that differ from the round file (``-p train "{...}"``).

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> rnd = load_round("r04_lr_cos", profile="demo")  # doctest: +SKIP
    >>> rnd.train["cos_lr"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import copy
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from yolo_workbook.core import paths
from yolo_workbook.core.errors import ParamsError

# Top-level keys of a round file. Each becomes a papermill parameter of the round's notebook.
ROUND_KEYS = (
    "round_id",
    "extends",
    "notebook",
    "why",
    "expect",
    "datasets",
    "data",
    "model",
    "train",
    "predict",
    "runtime",
    "loggers",
)
# Notebook parameters that are not round keys: the profile to overlay, and force (train again).
NOTEBOOK_PARAMETERS = ("profile", "force")
# Keys that belong to one file and are never inherited through ``extends``.
OWN_KEYS = ("round_id", "extends", "notebook", "why", "expect")
# Switches of this machine's process (``runtime``) and of ultralytics' experiment loggers (``loggers``):
# yes/no values, all off by default.
SWITCH_KEYS = {"runtime": ("allow_duplicate_openmp",), "loggers": ("mlflow", "tensorboard")}
SECTION_KEYS = {"data": ("use", "oversample"), "model": ("from",), **SWITCH_KEYS}
SECTIONS = ("datasets", "data", "model", "train", "predict", "runtime", "loggers")
PROFILE_KEYS = ("profile", *SECTIONS, "rounds")
NOTEBOOKS = ("01_env_setup", "02_base_train", "03_finetune", "04_tune_round", "05_predict_json")
TRAINING_NOTEBOOKS = NOTEBOOKS[1:4]
ROUND_ID = re.compile(r"^[a-z]\d{2}_[a-z0-9_]+$")


@dataclass
class Round:
    """A fully resolved round: what will run, and where each value came from.

    Attributes:
        round_id (str): The file's stem, e.g. ``r04_lr_cos``.
        profile (str): The profile overlaid, ``""`` for none.
        notebook (str): The notebook that runs it, e.g. ``04_tune_round``.
        chain (list[str]): Round ids from the root round to this one.
        why (str): The user's intent for this round.
        expect (str): The effect the user expects.
        datasets (dict[str, str]): Dataset name -> data.yaml path, as written.
        data_use (list[str]): Names of the datasets this round trains on, in order (several are merged).
        oversample (dict): ``{"classes": [...], "target_share": 0.25}`` or ``{}``.
        weights_from (str): ``model.from``: a round id (that round's best weights) or a weights / model yaml path.
        train (dict[str, Any]): ultralytics train arguments, verbatim.
        predict (dict[str, Any]): ultralytics predict arguments plus ``source``.
        runtime (dict[str, bool]): Process switches, e.g. ``{"allow_duplicate_openmp": True}``.
        loggers (dict[str, bool]): ultralytics loggers to turn on: ``mlflow``, ``tensorboard``.
        files (list[str]): Every params file that took part, in overlay order.
        origin (dict[str, str]): ``section.key`` -> the file that set its final value.
    """

    round_id: str
    profile: str
    notebook: str
    chain: list[str]
    why: str
    expect: str
    datasets: dict[str, str]
    data_use: list[str]
    weights_from: str
    train: dict[str, Any]
    predict: dict[str, Any]
    oversample: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, bool] = field(default_factory=dict)
    loggers: dict[str, bool] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The round this one extends (``""`` for a root round)."""
        return self.chain[-2] if len(self.chain) > 1 else ""

    @property
    def output_dir(self) -> Path:
        """``outputs/<profile>/<round_id>/``."""
        return paths.round_dir(self.round_id, self.profile)

    def data_paths(self) -> list[Path]:
        """The data.yaml paths of the datasets this round uses, resolved from the project root."""
        return [paths.project_path(self.datasets[name]) for name in self.data_use]

    def where(self, section: str, key: str) -> str:
        """The params file that set ``section.key``, for error messages."""
        return self.origin.get(f"{section}.{key}", self.files[-1] if self.files else "?")

    def to_dict(self) -> dict[str, Any]:
        """The resolved round as plain data, as saved to ``params.resolved.yaml``."""
        return {
            "round_id": self.round_id,
            "profile": self.profile,
            "notebook": self.notebook,
            "chain": self.chain,
            "why": self.why,
            "expect": self.expect,
            "datasets": self.datasets,
            "data": {"use": self.data_use, **({"oversample": self.oversample} if self.oversample else {})},
            "model": {"from": self.weights_from},
            "train": self.train,
            "predict": self.predict,
            **({"runtime": self.runtime} if self.runtime else {}),
            **({"loggers": self.loggers} if self.loggers else {}),
            "files": self.files,
        }


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(paths.PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_yaml(path: Path, *, what: str) -> dict[str, Any]:
    """Read a YAML mapping safely; a clear error for a missing file or bad YAML."""
    if not path.is_file():
        raise ParamsError(f"{what} not found: {_relative(path)}", fix="check the name or create it")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParamsError(
            f"{_relative(path)}{line}: not valid YAML ({problem})",
            fix="check indentation and quoting at that line",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(
            f"{_relative(path)}: expected a mapping of keys, found {type(data).__name__}",
            fix="write the file as 'key: value' lines",
        )
    return data


def _suggest(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"


def _check_keys(data: dict[str, Any], known: tuple[str, ...], *, file: str, section: str = "") -> None:
    for key in data:
        if key not in known:
            where = f"{section}.{key}" if section else str(key)
            raise ParamsError(f"{file}: unknown key '{where}'", fix=_suggest(str(key), known))


def _check_sections(data: dict[str, Any], *, file: str) -> None:
    for section in (*SECTIONS, "rounds"):
        if section in data and not isinstance(data[section], dict):
            raise ParamsError(
                f"{file}: '{section}' must be a mapping of keys, found {data[section]!r}",
                fix=f"write it as\n    {section}:\n      key: value",
            )
    for section, known in SECTION_KEYS.items():
        _check_keys(data.get(section, {}), known, file=file, section=section)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge ``top`` over ``base``: dicts merge recursively, scalars and lists replace."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _record_origin(origin: dict[str, str], layer: dict[str, Any], file: str) -> None:
    for section in SECTIONS:
        for key in layer.get(section, {}) or {}:
            origin[f"{section}.{key}"] = file


def round_file(round_id: str, params_dir: Path | None = None) -> Path:
    """Return ``params/<round_id>.yaml`` after checking that the id is a safe name."""
    paths.check_safe_id(round_id, what="round id")
    return (params_dir or paths.params_dir()) / f"{round_id}.yaml"


def read_round_file(round_id: str, params_dir: Path | None = None) -> dict[str, Any]:
    """Read and check one round file on its own (no ``extends``, no overlays)."""
    path = round_file(round_id, params_dir)
    data = read_yaml(path, what=f"round file for '{round_id}'")
    file = _relative(path)
    _check_keys(data, ROUND_KEYS, file=file)
    stated = data.get("round_id")
    if stated != round_id:
        raise ParamsError(
            f"{file}: round_id is {stated!r} but the file is named '{round_id}.yaml'",
            fix=f"set 'round_id: {round_id}' in the file (papermill passes keys, not file names)",
        )
    if "notebook" in data and data["notebook"] not in NOTEBOOKS:
        raise ParamsError(
            f"{file}: unknown notebook {data['notebook']!r}", fix=_suggest(str(data["notebook"]), NOTEBOOKS)
        )
    _check_sections(data, file=file)
    return data


def round_chain(round_id: str, params_dir: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Follow ``extends`` from ``round_id`` to its root; return ``(id, file data)`` root first."""
    chain: list[tuple[str, dict[str, Any]]] = []
    seen: list[str] = []
    current: str | None = round_id
    while current:
        if current in seen:
            loop = " -> ".join([*seen, current])
            raise ParamsError(f"'extends' makes a cycle: {loop}", fix="make one of these rounds extend another")
        seen.append(current)
        path = round_file(current, params_dir)
        if not path.is_file() and len(seen) > 1:
            raise ParamsError(
                f"round '{seen[-2]}' extends '{current}', but {_relative(path)} does not exist"
                f" (chain: {' -> '.join(seen)})",
                fix=f"create {_relative(path)} or correct 'extends' in the file of '{seen[-2]}'",
            )
        data = read_round_file(current, params_dir)
        chain.append((current, data))
        current = data.get("extends") or None
    return list(reversed(chain))


def read_profile(profile: str, params_dir: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Read ``params/profiles/<profile>.yaml`` and check its shape."""
    paths.check_safe_id(profile, what="profile")
    base = params_dir or paths.params_dir()
    path = base / "profiles" / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (base / "profiles").glob("*.yaml"))
        raise ParamsError(
            f"profile '{profile}' not found: {_relative(path)}",
            fix=f"use one of: {', '.join(known) or '(none)'}, or create that file",
        )
    data = read_yaml(path, what=f"profile '{profile}'")
    file = _relative(path)
    _check_keys(data, PROFILE_KEYS, file=file)
    _check_sections(data, file=file)
    for rid, part in (data.get("rounds") or {}).items():
        if not isinstance(part, dict):
            raise ParamsError(f"{file}: rounds.{rid} must be a mapping", fix="indent its keys under it")
        _check_keys(part, ROUND_KEYS, file=file, section=f"rounds.{rid}")
        _check_sections(part, file=f"{file} (rounds.{rid})")
    return path, data


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def load_round(
    round_id: str,
    *,
    profile: str = "",
    injected: dict[str, Any] | None = None,
    params_dir: Path | None = None,
    use_local: bool = True,
    for_notebook: str = "",
    check: bool = True,
) -> Round:
    """Resolve a round: its ``extends`` chain, then local, profile and injected overlays.

    Args:
        round_id (str): The round's file stem in ``params/``.
        profile (str): A profile name in ``params/profiles/`` (``""`` for none).
        injected (dict | None): Values a notebook received from papermill. Values that are empty
            or equal to the round file's own are ignored; others override the round file.
        params_dir (Path | None): Folder holding the round files (default: ``params/``).
        use_local (bool): Overlay ``params/local.yaml`` when it exists.
        for_notebook (str): When given, the round must be one that this notebook runs.
        check (bool): Run ``yolo-workbook check`` on the round first: every error at once, in one
            :class:`ParamsError`; warnings are printed.

    Returns:
        (Round): The resolved round.

    Examples:
        >>> load_round("r01_base", profile="ci").train["epochs"]  # doctest: +SKIP
        1
    """
    base_dir = params_dir or paths.params_dir()
    if injected is not None:
        _refuse_unknown_papermill_parameters(for_notebook or "this notebook")
    if check:
        from yolo_workbook.config.lint import raise_on_errors

        for warning in raise_on_errors(round_id, profile=profile, params_dir=base_dir, use_local=use_local):
            print(warning, file=sys.stderr)
    chain = round_chain(round_id, base_dir)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    files: list[str] = []
    for rid, data in chain:
        inherited = {k: v for k, v in data.items() if k not in OWN_KEYS}
        merged = deep_merge(merged, inherited)
        file = _relative(round_file(rid, base_dir))
        _record_origin(origin, inherited, file)
        files.append(file)
    own = dict(chain[-1][1])

    local_path = base_dir / "local.yaml"
    if use_local and local_path.is_file():
        local = read_yaml(local_path, what="local overlay")
        file = _relative(local_path)
        _check_keys(local, tuple(k for k in PROFILE_KEYS if k not in ("profile", "rounds")), file=file)
        _check_sections(local, file=file)
        merged = deep_merge(merged, local)
        _record_origin(origin, local, file)
        files.append(file)

    if profile:
        path, prof = read_profile(profile, base_dir)
        file = _relative(path)
        common = {k: v for k, v in prof.items() if k not in ("profile", "rounds")}
        merged = deep_merge(merged, common)
        _record_origin(origin, common, file)
        specific = (prof.get("rounds") or {}).get(round_id) or {}
        merged = deep_merge(merged, {k: v for k, v in specific.items() if k not in OWN_KEYS})
        _record_origin(origin, specific, f"{file} (rounds.{round_id})")
        files.append(file)

    file_values = chain[-1][1]
    for key, value in (injected or {}).items():
        if key in ("round_id", "extends") and not _is_empty(value) and value != file_values.get(key):
            raise ParamsError(
                f"parameter {key}={value!r} differs from the round file ({file_values.get(key)!r})",
                fix=f"edit {files[len(chain) - 1]} instead: a round's identity and base live in its file",
            )
        if key not in ROUND_KEYS:
            raise ParamsError(f"injected parameter '{key}' is not a round key", fix=_suggest(key, ROUND_KEYS))
        if _is_empty(value) or value == file_values.get(key) or key in ("round_id", "extends"):
            continue
        if key in OWN_KEYS:
            own[key] = value
        else:
            merged[key] = deep_merge(merged.get(key) or {}, value) if isinstance(value, dict) else value
            _record_origin(origin, {key: value}, "overrides (papermill -p or command line)")
        if "overrides (papermill -p or command line)" not in files:
            files.append("overrides (papermill -p or command line)")

    _check_sections(merged, file=" + ".join(files))
    leaf_file = files[0] if len(chain) == 1 else _relative(round_file(round_id, base_dir))
    notebook = own.get("notebook")
    if not notebook:
        raise ParamsError(f"{leaf_file}: no 'notebook' key", fix=f"add e.g. 'notebook: {NOTEBOOKS[3]}'")
    if for_notebook and notebook != for_notebook:
        raise ParamsError(
            f"{leaf_file}: round '{round_id}' runs in notebook {notebook}, not {for_notebook}",
            fix=f"open notebooks/{notebook}.ipynb, or run: yolo-workbook run {leaf_file}",
        )
    data_use = (merged.get("data") or {}).get("use") or []
    if isinstance(data_use, str):
        data_use = [data_use]
    datasets = {str(k): str(v) for k, v in (merged.get("datasets") or {}).items()}
    for name in data_use:
        if name not in datasets:
            raise ParamsError(
                f"{origin.get('data.use', leaf_file)}: data.use names dataset '{name}',"
                f" which no 'datasets:' section defines",
                fix=f"add 'datasets: {{{name}: path/to/data.yaml}}' or use one of: {', '.join(datasets) or '(none)'}",
            )
    return Round(
        round_id=round_id,
        profile=profile,
        notebook=str(notebook),
        chain=[rid for rid, _ in chain],
        why=str(own.get("why") or "").strip(),
        expect=str(own.get("expect") or "").strip(),
        datasets=datasets,
        data_use=list(data_use),
        weights_from=str((merged.get("model") or {}).get("from") or ""),
        train=dict(merged.get("train") or {}),
        predict=dict(merged.get("predict") or {}),
        oversample=dict((merged.get("data") or {}).get("oversample") or {}),
        runtime={k: bool(v) for k, v in (merged.get("runtime") or {}).items()},
        loggers={k: bool(v) for k, v in (merged.get("loggers") or {}).items()},
        files=files,
        origin=origin,
    )


def papermill_parameters_cell() -> str | None:
    """The source of the cell papermill injected into this kernel (``# Parameters``), or None.

    None outside a kernel and in a kernel that papermill did not run: the notebook was opened by a person.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    return next(
        (s for s in reversed(shell.history_manager.input_hist_raw) if s.lstrip().startswith("# Parameters")), None
    )


def _refuse_unknown_papermill_parameters(notebook: str) -> None:
    """Stop when papermill injected a parameter this notebook does not define (papermill only warns)."""
    source = papermill_parameters_cell()
    if source is None:
        return
    import ast

    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    known_names = (*NOTEBOOK_PARAMETERS, *ROUND_KEYS)
    unknown = sorted(names - set(known_names))
    if unknown:
        known = ", ".join(known_names)
        hints = "; ".join(f"{name}: {_suggest(name, known_names)}" for name in unknown)
        raise ParamsError(
            f"papermill parameter(s) {', '.join(unknown)} are not parameters of {notebook}; nothing was run",
            fix=f"{hints} (parameters: {known})",
        )


def is_round_reference(value: str) -> bool:
    """True when ``model.from`` names a round (``r02_freeze``) rather than a weights or model file."""
    return bool(ROUND_ID.match(value)) and not value.endswith((".pt", ".yaml", ".yml"))


def best_weights_of(round_id: str, profile: str) -> Path:
    """Where a round's best weights are once it has run (whether or not it has)."""
    return paths.round_dir(round_id, profile) / "train" / "weights" / "best.pt"


def list_rounds(params_dir: Path | None = None) -> list[str]:
    """Round ids of every round file in ``params/`` (``local.yaml`` and profiles excluded)."""
    base = params_dir or paths.params_dir()
    return sorted(p.stem for p in base.glob("*.yaml") if ROUND_ID.match(p.stem))


def save_resolved(rnd: Round, path: Path, *, command: list[str] | None = None) -> Path:
    """Write the resolved round as YAML (atomically: complete or not at all), with its command."""
    from yolo_workbook.core.files import write_atomic

    content = rnd.to_dict()
    if command:
        content["command"] = " ".join(command)
    text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    return write_atomic(path, text)
