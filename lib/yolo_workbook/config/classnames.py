"""Class names a round writes, against the class names of the data it trains on.

A round names classes in three places: the classes it oversamples (``data.oversample.classes``), the class of
a sweep objective (``sitae AP50``) and, in a predict round, the classes of a per-class operating point
(``predict.conf: {student: 0.35}``). Training compares the first two, exactly as written, with the ``names`` of the
round's data (several datasets merged by name: :func:`~yolo_workbook.config.classmap.planned_names`); this is
that comparison (for ``predict.conf``, with the data of the round whose weights it predicts with), made before
anything runs, so that ``yolo-workbook check`` names a typo (``sitea``) or a class
the data does not have with its file, line and key, the close match and the data's names. Data that cannot be
read yet (not generated, not downloaded) says nothing here: ``data check`` and the run report it.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> class_name_problems(load_round("r09_sweep_sitae", profile="demo"))  # doctest: +SKIP
    []
"""

from __future__ import annotations

import difflib

from yolo_workbook.config.classmap import planned_names
from yolo_workbook.config.round import Round
from yolo_workbook.config.sweeps import Objective, parse_objective
from yolo_workbook.core.errors import ParamsError

OVERSAMPLE_KEY = "data.oversample.classes"
OBJECTIVE_KEY = "sweep.objective"
CONF_KEY = "predict.conf"


def _objective(rnd: Round) -> Objective | None:
    """The sweep objective, when the round sweeps for one class's AP (``sweep_problems`` reports a bad one)."""
    text = rnd.sweep.get("objective") if rnd.sweep else None
    try:
        objective = parse_objective(text) if text is not None else None
    except ParamsError:
        return None
    return objective if objective and objective.class_name else None


def named_classes(rnd: Round) -> list[tuple[str, str]]:
    """Every class name the round writes, as ``(dotted key, name)``: its oversampled classes, its objective's class."""
    found = [(OVERSAMPLE_KEY, str(name)) for name in rnd.oversample.get("classes") or []]
    objective = _objective(rnd)
    if objective:
        found.append((OBJECTIVE_KEY, str(objective.class_name)))
    return found


def conf_classes(rnd: Round) -> list[str]:
    """The classes a per-class ``predict.conf`` names (``[]`` for one number)."""
    conf = rnd.predict.get("conf")
    return [str(name) for name in conf] if isinstance(conf, dict) else []


def conf_class_problems(rnd: Round, names: list[str] | None) -> list[tuple[str, str, str]]:
    """Each class of a per-class ``predict.conf`` that the model's classes (``names``) lack: ``(key, message, fix)``.

    Args:
        rnd (Round): The resolved predict round.
        names (list[str] | None): The class names of its weights (the data of the round ``model.from`` names, or a
            loaded model's ``names``); None when they cannot be told yet: nothing is reported.
    """
    found = []
    for name in conf_classes(rnd) if names else []:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            fix = f"did you mean '{close[0]}'?" if close else f"name one of the model's classes: {', '.join(names)}"
            message = f"gives a confidence to class '{name}', which the model ({rnd.weights_from}) does not have;"
            found.append((CONF_KEY, f"{message} its classes: {', '.join(names)}", fix))
    return found


def _fix(rnd: Round, key: str, name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    objective = _objective(rnd)
    if key == OBJECTIVE_KEY and objective:
        if close:
            return f"did you mean '{close[0]}'? e.g. objective: {close[0]} {objective.metric}"
        return f"name a class the data has, e.g. objective: {names[0]} {objective.metric}, or optimise mAP50-95"
    if close:
        corrected = [close[0] if str(c) == name else str(c) for c in rnd.oversample.get("classes") or []]
        return f"did you mean '{close[0]}'? e.g. classes: [{', '.join(corrected)}]"
    return f"name classes the data has, or train on data that has '{name}' (data.use)"


def class_name_problems(rnd: Round) -> list[tuple[str, str, str]]:
    """Each class name the round writes that its data does not have: ``(dotted key, message, fix)``.

    Names are compared as training compares them (exactly, case included). A round that names no class reads no
    data file; a round whose data cannot be read yet gets ``[]``.

    Args:
        rnd (Round): The resolved round.

    Returns:
        (list[tuple[str, str, str]]): The key (``data.oversample.classes``, ``sweep.objective``), what is wrong (the
            name, the round's datasets and their class names) and the fix (the close match, when there is one).
    """
    named = named_classes(rnd)
    names = planned_names(rnd) if named else None
    if not names:
        return []
    found = []
    for key, name in named:
        if name not in names:
            message = (
                f"names class '{name}', which its data ({', '.join(rnd.data_use)}) does not have;"
                f" the data's classes: {', '.join(names)}"
            )
            found.append((key, message, _fix(rnd, key, name, names)))
    return found
