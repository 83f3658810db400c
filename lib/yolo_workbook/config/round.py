"""The round: one dataclass for a round file resolved with its layers, and how messages name its files."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yolo_workbook.config.keys import ROUND_SCHEMA
from yolo_workbook.core import paths

_PROPERTIES: dict[str, Any] = ROUND_SCHEMA["properties"]


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
        predict (dict[str, Any]): ultralytics predict arguments plus ``source`` and ``tracker``.
        attendance (dict[str, Any]): Counting and scoring settings (``window_s``, ``truth``, ...), as written.
        runtime (dict[str, bool]): Process switches, e.g. ``{"allow_duplicate_openmp": True}``.
        loggers (dict[str, bool]): ultralytics loggers to turn on: ``mlflow``, ``tensorboard``.
        repeat (int): How many times the round trains, with seeds ``train.seed`` + 0, 1, ...: 1 (once) unless set.
        sweep (dict[str, Any]): The ``sweep`` section as resolved (``{}``: one training, not a sweep); see
            :func:`yolo_workbook.config.sweeps.parse_sweep`.
        files (list[str]): Every params file that took part, in overlay order.
        origin (dict[str, str]): ``section.key`` -> the file that set its final value (or the command-line
            option, e.g. ``--weights``, when the caller named it: :func:`resolve`).
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
    attendance: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, bool] = field(default_factory=dict)
    loggers: dict[str, bool] = field(default_factory=dict)
    repeat: int = 1
    sweep: dict[str, Any] = field(default_factory=dict)
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

    def attendance_setting(self, key: str) -> Any:
        """``attendance.<key>`` as resolved, or its default (the round schema's ``default``)."""
        if key in self.attendance:
            return self.attendance[key]
        return _PROPERTIES["attendance"]["properties"][key].get("default")

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
            **({"attendance": self.attendance} if self.attendance else {}),
            **({"runtime": self.runtime} if self.runtime else {}),
            **({"loggers": self.loggers} if self.loggers else {}),
            **({"repeat": self.repeat} if self.repeat != 1 else {}),
            **({"sweep": self.sweep} if self.sweep else {}),
            "files": self.files,
        }


def relative(path: Path) -> str:
    """A path as messages show it: relative to the project root when it lies inside it."""
    for candidate in (path, path.resolve()):
        try:
            return str(candidate.relative_to(paths.PROJECT_ROOT))
        except ValueError:
            continue
    return str(path)


def suggest(key: str, known: tuple[str, ...] | list[str]) -> str:
    """``did you mean 'x'?`` for a close name, else the known names."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
