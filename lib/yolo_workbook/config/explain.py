"""Explaining rounds: a short description, the equivalent `yolo train` line, diffs between rounds."""

from __future__ import annotations

import re
from typing import Any

from yolo_workbook.config.classmap import planned_transfer
from yolo_workbook.config.params import TRAINING_NOTEBOOKS, Round, best_weights_of, is_round_reference, load_round
from yolo_workbook.core.errors import WorkbookError


def describe(rnd: Round) -> str:
    """A short, deterministic account of what a round will run (printed by every notebook)."""

    def fmt(value: Any) -> str:
        return str(value).replace("\n", " ")

    starts = (
        f"the best weights of round {rnd.weights_from}"
        if is_round_reference(rnd.weights_from)
        else rnd.weights_from or "-"
    )
    lines = [
        f"round     {rnd.round_id}  (notebook {rnd.notebook}, profile {rnd.profile or 'none'})",
        f"lineage   {' -> '.join(rnd.chain)}",
        f"starts    from {starts}",
        f"data      {' + '.join(rnd.data_use) or '-'}",
    ]
    if rnd.notebook in TRAINING_NOTEBOOKS:
        transfer = planned_transfer(rnd, _start_round(rnd))
        if transfer and transfer["how"] != "same":
            lines.append(f"classes   {transfer['text']}")
    if rnd.train and rnd.notebook not in ("01_env_setup", "05_predict_json"):
        lines.append("train     " + " ".join(f"{k}={fmt(v)}" for k, v in rnd.train.items()))
    if rnd.notebook == "05_predict_json":
        lines.append("predict   " + " ".join(f"{k}={fmt(v)}" for k, v in rnd.predict.items()))
    if rnd.repeat > 1 and rnd.notebook in TRAINING_NOTEBOOKS:  # only when set: checked outputs stay the same
        first = int(rnd.train.get("seed", 0))
        lines.append(f"repeat    {rnd.repeat} runs, seeds {first}..{first + rnd.repeat - 1} (training noise)")
    switches = [f"{k}" for section in (rnd.runtime, rnd.loggers) for k, on in section.items() if on]
    if switches:  # only when on: the notebooks' checked outputs stay the same for everyone else
        lines.append(f"switches  {' '.join(switches)}")
    lines.append(f"why       {fmt(rnd.why) or '-'}")
    lines.append(f"expect    {fmt(rnd.expect) or '-'}")
    return "\n".join(lines)


def _cli_value(value: Any) -> str:
    import shlex

    text = str(value) if not isinstance(value, list) else "[" + ",".join(str(v) for v in value) + "]"
    return text if re.fullmatch(r"[\w.:/\\+-]+", text) else shlex.quote(text)


def yolo_command(rnd: Round, *, start_weights: str = "") -> list[str]:
    """The single ``yolo train ...`` command equivalent to this round.

    ``model=`` is the weights_from round's ``best.pt`` (or the weights file), ``data=`` the dataset's
    data.yaml (or the combined one the round writes), then the train arguments in file order, then
    the output folder. Nothing is checked or downloaded.
    """
    source = rnd.weights_from
    if not start_weights:
        start_weights = str(best_weights_of(source, rnd.profile)) if is_round_reference(source) else source
    from yolo_workbook.data.merge import planned_data_yaml

    data = str(planned_data_yaml(rnd)) if rnd.data_use else ""
    args: dict[str, Any] = {"model": start_weights, "data": data, **rnd.train}
    args.update(project=str(rnd.output_dir), name="train")
    return ["yolo", "train", *(f"{k}={_cli_value(v)}" for k, v in args.items())]


def diff_rounds(old: Round, new: Round) -> list[tuple[str, str, Any, Any]]:
    """What changed from ``old`` to ``new``: ``(kind, dotted key, old value, new value)``.

    ``kind`` is ``+`` (added), ``-`` (removed) or ``~`` (changed). Sections compared: datasets,
    data, model, train, predict.
    """

    def flat(rnd: Round) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for section, values in (
            ("datasets", rnd.datasets),
            ("data", rnd.to_dict()["data"]),
            ("model", {"from": rnd.weights_from}),
            ("train", rnd.train),
            ("predict", rnd.predict),
        ):
            out.update({f"{section}.{k}": v for k, v in values.items()})
        return out

    before, after = flat(old), flat(new)
    changes: list[tuple[str, str, Any, Any]] = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key not in after:
            changes.append(("-", key, before[key], None))
        elif key not in before:
            changes.append(("+", key, None, after[key]))
        elif before[key] != after[key]:
            changes.append(("~", key, before[key], after[key]))
    return changes


def format_diff(old: Round, new: Round) -> str:
    """A readable diff of two resolved rounds, one change per line."""
    changes = diff_rounds(old, new)
    head = f"{old.round_id} -> {new.round_id}"
    if not changes:
        return f"{head}: no change"
    lines = [head]
    for kind, key, before, after in changes:
        if kind == "~":
            lines.append(f"  ~ {key}: {before} -> {after}")
        elif kind == "+":
            lines.append(f"  + {key}: {after}")
        else:
            lines.append(f"  - {key}: {before}")
    return "\n".join(lines)


def changes_from_base(rnd: Round) -> str:
    """The diff of a round against the round it extends (for the notebooks)."""
    if not rnd.base:
        return f"{rnd.round_id} extends no round"
    base = load_round(rnd.base, profile=rnd.profile, check=False)
    return format_diff(base, rnd)


def _start_round(rnd: Round) -> Round | None:
    """The round ``rnd`` takes its weights from, loaded as ``rnd`` was (None when there is none or it cannot load)."""
    if not is_round_reference(rnd.weights_from):
        return None
    try:
        return load_round(rnd.weights_from, profile=rnd.profile, check=False)
    except WorkbookError:
        return None
