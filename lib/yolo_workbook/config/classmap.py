"""Class order between a round's starting weights and its data: what happens to the classification head.

When a round starts from weights trained on one class list and trains on data that lists the
classes in another order (the demo's r02: r01 learned ``student, desk, sitae``, the second export
lists ``desk, student, sitae``), ultralytics 8.4 copies the head's rows by class name
(``cls_remap``, on by default; names compared case-insensitively). With ``cls_remap: false`` it
copies them by position instead, so each class starts from another class's row. This module says
which of these happens, in words a person can check, and names the classes only one side has.

Examples:
    >>> head_transfer(["student", "desk", "sitae"], ["desk", "student", "sitae"])["text"]
    'head rows remapped by name: desk 1->0, student 0->1'
"""

from __future__ import annotations

from typing import Any

from yolo_workbook.config.outputs import is_round_reference
from yolo_workbook.config.round import Round
from yolo_workbook.core.errors import WorkbookError


def _listed(names: list[str], most: int = 6) -> str:
    """Names for a sentence: COCO's 80 would drown it."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _norm(name: str) -> str:
    return str(name).strip().lower()  # ultralytics' own comparison (nn/tasks.py, _remap_cls_by_names)


def head_transfer(weights: list[str], data: list[str], *, cls_remap: bool = True) -> dict[str, Any] | None:
    """How the head's class rows go from weights trained on ``weights`` to a model for ``data``.

    Args:
        weights (list[str]): The class names of the starting weights, in id order.
        data (list[str]): The class names of the data, in id order.
        cls_remap (bool): ultralytics' ``cls_remap`` argument.

    Returns:
        (dict | None): ``how`` (``same``, ``remapped``, ``by position`` or ``not carried``), ``moved``
        (``[name, old id, new id]`` for each class whose id changes), ``only_in_weights``,
        ``only_in_data`` and ``text``; None for weights without class names (a model built from a yaml).
    """
    if not weights or not data or all(name == str(i) for i, name in enumerate(weights)):
        return None
    source = {_norm(name): i for i, name in enumerate(weights)}
    matches = [(name, source[_norm(name)], j) for j, name in enumerate(data) if _norm(name) in source]
    in_data = {_norm(name) for name in data}
    only_in_weights = [name for name in weights if _norm(name) not in in_data]
    only_in_data = [name for name in data if _norm(name) not in source]
    moved = [[name, i, j] for name, i, j in matches if i != j]
    if len(weights) == len(data) and not moved and not only_in_data:
        how, text = "same", "head rows kept: the weights' classes are the data's, in the same order"
    elif matches and cls_remap:
        how = "remapped"
        text = "head rows remapped by name: " + (", ".join(f"{n} {i}->{j}" for n, i, j in moved) or "no id changes")
    elif len(weights) == len(data):
        how = "by position"
        pairs = [f"{d} starts from {w}'s row" for w, d in zip(weights, data, strict=True) if _norm(w) != _norm(d)]
        text = "head rows copied by position (cls_remap is off): " + ", ".join(pairs)
    else:
        how, text = "not carried", "head rows not carried over (no class in common, or cls_remap off): learned anew"
    if only_in_data:
        text += f"; new in the data (rows learned anew): {_listed(only_in_data)}"
    if only_in_weights:
        text += f"; in the weights but not in the data (dropped): {_listed(only_in_weights)}"
    return {
        "how": how,
        "moved": moved,
        "only_in_weights": only_in_weights,
        "only_in_data": only_in_data,
        "text": text,
    }


def planned_names(rnd: Round) -> list[str] | None:
    """The class names ``rnd`` will train on (several datasets merged by name), or None when unreadable."""
    from yolo_workbook.data import dataset
    from yolo_workbook.data.merge import class_mapping

    try:
        lists = [dataset.class_names(dataset.read_data_yaml(path)) for path in rnd.data_paths()]
    except (WorkbookError, OSError, KeyError, TypeError):
        return None
    return class_mapping(lists)[0] if lists else None


def planned_transfer(rnd: Round, start: Round | None) -> dict[str, Any] | None:
    """:func:`head_transfer` for a round that starts from another round's weights, from both rounds' data files.

    Known before anything runs (the weights of a round carry the class names of its data); None when the
    round starts from a file, or a data file cannot be read (``data check`` reports that).

    Args:
        rnd (Round): The round.
        start (Round | None): The round ``rnd.weights_from`` names, loaded by the caller (None when it
            cannot be loaded).
    """
    if start is None or not is_round_reference(rnd.weights_from):
        return None
    weights, data = planned_names(start), planned_names(rnd)
    if weights is None or data is None:
        return None
    return head_transfer(weights, data, cls_remap=bool(rnd.train.get("cls_remap", True)))
