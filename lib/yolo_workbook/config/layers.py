"""The round's data model and its layering: read the files, follow ``extends``, overlay, resolve.

Nothing here validates (that is :mod:`yolo_workbook.config.validate`, which builds on this module) and
nothing here is called by notebooks directly: they load rounds with
:func:`yolo_workbook.config.params.load_round`. A round file holds only what it changes from the
round it ``extends``; dicts deep-merge, scalars and lists replace. Layers, later wins:

1. the round's ``extends`` chain, from the root round to this one;
2. ``params/local.yaml`` (uncommitted, machine specifics: dataset paths, device): its top-level sections,
   then its ``rounds.<round_id>`` part;
3. ``params/profiles/<profile>.yaml``: its top-level sections, then its ``rounds.<round_id>`` part;
4. values injected by papermill that differ from the round file (``-p train "{...}"``).

``repeat`` (:data:`~yolo_workbook.config.keys.SETTINGS`) and ``sweep`` are the exceptions
(:data:`~yolo_workbook.config.keys.NOT_INHERITED`): layer 1 takes them from the round's own file only, never
from the rounds it extends; layers 2 to 4 may set them.

The round it builds is :class:`~yolo_workbook.config.round.Round`; the key lists come from
:mod:`yolo_workbook.config.keys`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yolo_workbook.config.keys import (
    NOT_INHERITED,
    OVERRIDES,
    OWN_KEYS,
    ROUND_ID,
    ROUND_KEYS,
    SECTIONS,
    SETTINGS,
)
from yolo_workbook.config.round import Round, relative, suggest
from yolo_workbook.core import files, paths
from yolo_workbook.core.errors import ParamsError


class Documents:
    """The YAML files read for one :func:`load_round` (or one ``yolo-workbook check``), each parsed once.

    Files are read with their key lines (:func:`yolo_workbook.core.files.read_yaml`), so the validator
    names lines without reading a file again.

    Attributes:
        memo (dict): What other steps worked out per file (the validator's problems), kept for this call.
    """

    def __init__(self) -> None:
        self._parsed: dict[Path, files.YamlDocument] = {}
        self.memo: dict[Any, Any] = {}

    def read(self, path: Path) -> files.YamlDocument:
        """The parsed file (read on the first call). Raises ``YamlReadError`` for a missing or invalid file."""
        key = path.absolute()
        if key not in self._parsed:
            self._parsed[key] = files.read_yaml(path, lines=True)
        return self._parsed[key]

    def read_params(self, path: Path) -> files.YamlDocument:
        """:meth:`read`, with a missing or invalid file as a :class:`ParamsError` naming the file and line."""
        try:
            return self.read(path)
        except files.YamlReadError as exc:
            line = f":{exc.line}" if exc.line else ""
            raise ParamsError(f"{relative(path)}{line}: {exc.reason}", fix=exc.fix) from None


@dataclass
class Sources:
    """The files one round is made of, parsed and in overlay order, before they are merged.

    Attributes:
        round_id (str): The round.
        profile (str): The profile overlaid (``""`` for none).
        params_dir (Path): The folder of the round files.
        chain (list[YamlDocument]): The round files of the ``extends`` chain, root round first.
        local (YamlDocument | None): ``params/local.yaml``, when it is used and exists.
        profile_file (YamlDocument | None): ``params/profiles/<profile>.yaml``.
    """

    round_id: str
    profile: str
    params_dir: Path
    chain: list[files.YamlDocument]
    local: files.YamlDocument | None = None
    profile_file: files.YamlDocument | None = None

    def overlays(self) -> list[tuple[str, files.YamlDocument]]:
        """``(kind, file)`` of the local overlay and the profile, where used: kind ``local`` or ``profile``."""
        found = [("local", self.local), ("profile", self.profile_file)]
        return [(kind, doc) for kind, doc in found if doc is not None]

    def by_name(self) -> dict[str, files.YamlDocument]:
        """Each file by the name ``Round.files`` and ``Round.origin`` give it."""
        return {relative(doc.path): doc for doc in [*self.chain, *(doc for _, doc in self.overlays())]}


def _mapping(doc: files.YamlDocument) -> dict[str, Any]:
    """A file's data when it is a mapping (the validator reports any other shape), else ``{}``."""
    return doc.data if isinstance(doc.data, dict) else {}


def round_part(overlay: dict[str, Any], round_id: str) -> dict[str, Any]:
    """An overlay's (local.yaml's, a profile's) ``rounds.<round_id>`` part: what it changes for that round only."""
    rounds = overlay.get("rounds")
    part = rounds.get(round_id) if isinstance(rounds, dict) else None
    return part if isinstance(part, dict) else {}


def chain_value(sources: Sources, dotted: str) -> Any:
    """The value of ``section.key`` as the round's ``extends`` chain sets it, before any overlay (None: unset)."""
    section, _, key = dotted.partition(".")
    value = None
    for doc in sources.chain:
        values = _mapping(doc).get(section)
        if isinstance(values, dict) and key in values:
            value = values[key]
    return value


def round_file(round_id: str, params_dir: Path | None = None) -> Path:
    """Return ``params/<round_id>.yaml`` after checking that the id is a safe name."""
    paths.check_safe_id(round_id, what="round id")
    return (params_dir or paths.params_dir()) / f"{round_id}.yaml"


def read_round_file(round_id: str, params_dir: Path | None = None) -> dict[str, Any]:
    """One round file's own keys, as written (no ``extends``, no overlays, not checked: :func:`load_round` checks)."""
    path = round_file(round_id, params_dir)
    if not path.is_file():
        raise ParamsError(f"round file for '{round_id}' not found: {relative(path)}", fix="check the name or create it")
    return dict(_mapping(Documents().read_params(path)))


def read_sources(
    round_id: str,
    *,
    profile: str = "",
    params_dir: Path | None = None,
    use_local: bool = True,
    documents: Documents | None = None,
) -> Sources:
    """Read the files of a round: its ``extends`` chain to the root, ``params/local.yaml``, the profile.

    Raises:
        ParamsError: A file is missing or not valid YAML, an id is not a safe name, or ``extends`` makes a cycle.
    """
    documents = Documents() if documents is None else documents
    base = params_dir or paths.params_dir()
    chain: list[files.YamlDocument] = []
    seen: list[str] = []
    current: str | None = round_id
    while current:
        if current in seen:
            loop = " -> ".join([*seen, current])
            raise ParamsError(f"'extends' makes a cycle: {loop}", fix="make one of these rounds extend another")
        seen.append(current)
        path = round_file(current, base)
        if not path.is_file():
            if len(seen) == 1:
                raise ParamsError(
                    f"round file for '{current}' not found: {relative(path)}", fix="check the name or create it"
                )
            raise ParamsError(
                f"round '{seen[-2]}' extends '{current}', but {relative(path)} does not exist"
                f" (chain: {' -> '.join(seen)})",
                fix=f"create {relative(path)} or correct 'extends' in the file of '{seen[-2]}'",
            )
        chain.append(documents.read_params(path))
        extends = _mapping(chain[-1]).get("extends")
        current = extends if isinstance(extends, str) else None  # another type: the validator says so
    sources = Sources(round_id, profile, base, list(reversed(chain)))
    local = base / "local.yaml"
    if use_local and local.is_file():
        sources.local = documents.read_params(local)
    if profile:
        paths.check_safe_id(profile, what="profile")
        path = base / "profiles" / f"{profile}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in (base / "profiles").glob("*.yaml"))
            raise ParamsError(
                f"profile '{profile}' not found: {relative(path)}",
                fix=f"use one of: {', '.join(known) or '(none)'}, or create that file",
            )
        sources.profile_file = documents.read_params(path)
    return sources


def _is_empty(value: Any) -> bool:
    # 0 is the notebooks' "as in the round file" for an integer key (repeat, whose schema allows no 0).
    return value is None or value == "" or value == {} or value == [] or (type(value) is int and value == 0)


def effective_overrides(sources: Sources, injected: dict[str, Any] | None) -> dict[str, Any]:
    """The injected values (papermill ``-p``, the command line) that change something: not empty, not as in the file.

    Raises:
        ParamsError: A key that is not a round key, or a ``round_id`` / ``extends`` other than the file's.
    """
    own_file = sources.chain[-1]
    file_values = _mapping(own_file)
    overrides: dict[str, Any] = {}
    for key, value in (injected or {}).items():
        if key in ("round_id", "extends") and not _is_empty(value) and value != file_values.get(key):
            raise ParamsError(
                f"parameter {key}={value!r} differs from the round file ({file_values.get(key)!r})",
                fix=f"edit {relative(own_file.path)} instead: a round's identity and base live in its file",
            )
        if key not in ROUND_KEYS:
            raise ParamsError(f"injected parameter '{key}' is not a round key", fix=suggest(key, ROUND_KEYS))
        if not (_is_empty(value) or value == file_values.get(key) or key in ("round_id", "extends")):
            overrides[key] = value
    return overrides


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
    for key in SETTINGS:
        if key in layer:
            origin[key] = file
    for section in SECTIONS:
        for key in layer.get(section, {}) or {}:
            origin[f"{section}.{key}"] = file


def resolve(
    sources: Sources,
    overrides: dict[str, Any] | None = None,
    *,
    for_notebook: str = "",
    options: dict[str, str] | None = None,
) -> Round:
    """Merge a round's files (already checked by the validator) and the overrides into a :class:`Round`.

    ``options`` names the command-line option that gave an override (``{"model.from": "--weights"}``): the
    round's :attr:`Round.origin` then says ``--weights`` where it would say :data:`OVERRIDES`.

    Raises:
        ParamsError: ``for_notebook`` is given and the round runs in another notebook.
    """
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    names: list[str] = []
    for doc in sources.chain:
        inherited = {k: v for k, v in _mapping(doc).items() if k not in OWN_KEYS and k not in NOT_INHERITED}
        merged = deep_merge(merged, inherited)
        _record_origin(origin, inherited, relative(doc.path))
        names.append(relative(doc.path))
    own = dict(_mapping(sources.chain[-1]))
    settings = {k: v for k, v in own.items() if k in NOT_INHERITED}  # the round's own file only: not inherited
    merged.update(settings)
    _record_origin(origin, settings, names[-1])
    leaf_file = names[-1]
    for _, doc in sources.overlays():  # local.yaml, then the profile: each its top level, then its rounds part
        overlay, file = _mapping(doc), relative(doc.path)
        common = {k: v for k, v in overlay.items() if k not in ("profile", "rounds")}
        merged = deep_merge(merged, common)
        _record_origin(origin, common, file)
        specific = round_part(overlay, sources.round_id)
        merged = deep_merge(merged, specific)
        _record_origin(origin, specific, f"{file} (rounds.{sources.round_id})")
        names.append(file)
    for key, value in (overrides or {}).items():
        if key in OWN_KEYS:
            own[key] = value
        else:
            merged[key] = deep_merge(merged.get(key) or {}, value) if isinstance(value, dict) else value
            _record_origin(origin, {key: value}, OVERRIDES)
        if OVERRIDES not in names:
            names.append(OVERRIDES)
    for dotted, option in (options or {}).items():
        if origin.get(dotted) == OVERRIDES:
            origin[dotted] = option
    if "sweep" not in own and "sweep" not in (overrides or {}):  # local.yaml and profiles tune sweeps, never make one
        merged.pop("sweep", None)
        origin = {key: value for key, value in origin.items() if not key.startswith("sweep.")}
    notebook = str(own.get("notebook") or "")
    if for_notebook and notebook != for_notebook:
        raise ParamsError(
            f"{leaf_file}: round '{sources.round_id}' runs in notebook {notebook}, not {for_notebook}",
            fix=f"open notebooks/{notebook}.ipynb, or run: yolo-workbook run {leaf_file}",
        )
    data = merged.get("data") or {}
    data_use = data.get("use") or []
    return Round(
        round_id=sources.round_id,
        profile=sources.profile,
        notebook=notebook,
        chain=[doc.path.stem for doc in sources.chain],
        why=str(own.get("why") or "").strip(),
        expect=str(own.get("expect") or "").strip(),
        datasets={str(k): str(v) for k, v in (merged.get("datasets") or {}).items()},
        data_use=[data_use] if isinstance(data_use, str) else list(data_use),
        weights_from=str((merged.get("model") or {}).get("from") or ""),
        train=dict(merged.get("train") or {}),
        predict=dict(merged.get("predict") or {}),
        oversample=dict(data.get("oversample") or {}),
        attendance=dict(merged.get("attendance") or {}),
        runtime={k: bool(v) for k, v in (merged.get("runtime") or {}).items()},
        loggers={k: bool(v) for k, v in (merged.get("loggers") or {}).items()},
        repeat=int(merged.get("repeat") or 1),
        sweep=dict(merged.get("sweep") or {}),
        files=names,
        origin=origin,
    )


def list_rounds(params_dir: Path | None = None) -> list[str]:
    """Round ids of every round file in ``params/`` (``local.yaml`` and profiles excluded)."""
    base = params_dir or paths.params_dir()
    return sorted(p.stem for p in base.glob("*.yaml") if ROUND_ID.match(p.stem))


def next_round_id(current: str, slug: str, params_dir: Path | None = None) -> str:
    """``rNN+1_<slug>``: the first round number after the current one that no file uses yet."""
    taken = {int(rid[1:3]) for rid in list_rounds(params_dir) if rid.startswith("r")}
    number = int(current[1:3]) + 1 if ROUND_ID.match(current) else 1
    while number in taken:
        number += 1
    return f"r{number:02d}_{slug}"
