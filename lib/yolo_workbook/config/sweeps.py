"""A sweep round's ``sweep`` section: what it searches, for how long, for what, and where.

The section's shape is written in ``schemas/round.schema.json`` (``properties.sweep``). This module holds
the rules the schema cannot say, on the resolved round, with ultralytics' own argument rules
(:mod:`yolo_workbook.config.argrules`): every searched key is a train argument that the workbook does not
set itself, each choice and each end of a range is a value ultralytics accepts, and nothing searched would
silently change nothing (a float ``freeze``; ``lr0`` or ``momentum`` while the optimizer is ``auto``, which
ignores them). :func:`sweep_problems` lists the problems for the validator (``yolo-workbook check``);
:func:`parse_sweep` turns a valid section into a :class:`SweepSpec` for the tuning code.

Examples:
    >>> parse_objective("sitae AP50")
    Objective(text='sitae AP50', metric='AP50', class_name='sitae', direction='maximize')
    >>> parse_objective("count err").direction
    'minimize'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yolo_workbook.config.argrules import RESERVED_TRAIN_KEYS, argument_problem, cuda_devices, ultralytics_rules
from yolo_workbook.config.keys import OVERRIDES, ROUND_SCHEMA, TRAINING_NOTEBOOKS
from yolo_workbook.config.round import Round
from yolo_workbook.core.errors import ParamsError

_SCHEMA = ROUND_SCHEMA["properties"]["sweep"]["properties"]
OBJECTIVE_METRICS = ("mAP50-95", "mAP50", "AP50", "AP50-95", "count err")  # as the leaderboard names them
CLASS_METRICS = ("AP50", "AP50-95")
# Train arguments a sweep does not search, and why (besides the ones the workbook sets: RESERVED_TRAIN_KEYS).
_NOT_SEARCHED = {
    "epochs": "the budget of a trial is sweep.epochs",
    "seed": "a seed is noise, not a setting: 'repeat: N' measures it",
    "resume": "the workbook resumes rounds itself",
    "device": "where a trial runs is not a hyperparameter (sweep.ray.gpus_per_trial for Ray)",
    "workers": "the data loader's processes change speed, not results",
    "time": "a trial's budget is sweep.epochs",
    "patience": "early stopping of trials is sweep.early_stop",
    "save_period": "checkpoints change nothing that is trained",
}
_LR_KEYS = ("lr0", "momentum")  # what optimizer 'auto' overrides with its own choice


@dataclass(frozen=True)
class Objective:
    """What makes one trial better than another.

    Attributes:
        text (str): As written: ``mAP50-95``, ``sitae AP50``, ``count err``.
        metric (str): One of :data:`OBJECTIVE_METRICS`.
        class_name (str | None): The class of ``AP50`` / ``AP50-95``.
        direction (str): ``maximize``, or ``minimize`` for ``count err``.
    """

    text: str
    metric: str
    class_name: str | None
    direction: str

    @property
    def per_epoch(self) -> bool:
        """Whether each epoch's validation measures it (what early stopping needs): not the video's count error."""
        return self.metric != "count err"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a < b if self.direction == "minimize" else a > b

    def as_dict(self) -> dict[str, Any]:
        """As ``trials.json`` and ``metrics.json`` keep it."""
        return {"text": self.text, "metric": self.metric, "class": self.class_name, "direction": self.direction}


@dataclass(frozen=True)
class SweepSpec:
    """A resolved, checked ``sweep`` section.

    Attributes:
        space (dict): Searched key -> ``{"low", "high", "log", "int"}`` (a range) or ``{"choices": [...]}``.
        trials (int): How many trials.
        epochs (int): Epochs of each trial.
        objective (Objective): What the best trial is best at.
        early_stop (dict | None): ``{"grace_epochs", "reduction_factor"}``, or None (every trial trains fully).
        backend (str): ``local`` or ``ray``.
        seed (int): The sampler's seed (trial k samples with seed + k).
        ray (dict): ``address``, ``cpus_per_trial``, ``gpus_per_trial``, ``concurrent``, ``storage``.
    """

    space: dict[str, dict[str, Any]]
    trials: int
    epochs: int
    objective: Objective
    early_stop: dict[str, int] | None
    backend: str
    seed: int
    ray: dict[str, Any] = field(default_factory=dict)


def parse_objective(text: Any) -> Objective:
    """``mAP50-95``, ``mAP50``, ``<class> AP50``, ``<class> AP50-95`` or ``count err``, as an :class:`Objective`.

    Raises:
        ParamsError: Anything else (the message says what is accepted).
    """
    words = str(text if text is not None else "").strip()
    if words in ("mAP50-95", "mAP50", "count err"):
        return Objective(words, words, None, "minimize" if words == "count err" else "maximize")
    name, _, metric = words.rpartition(" ")
    if name.strip() and metric in CLASS_METRICS:
        return Objective(words, metric, name.strip(), "maximize")
    raise ParamsError(
        f"sweep.objective {words!r} is not an objective",
        fix="write mAP50-95 (the default), mAP50, '<class> AP50' (e.g. 'sitae AP50'), '<class> AP50-95' or 'count err'",
    )


def _default(key: str) -> Any:
    return _SCHEMA[key].get("default")


def _early_stop(value: Any) -> dict[str, int] | None:
    if value is False or value is None:
        return None
    found = {} if value is True else dict(value)
    props = _SCHEMA["early_stop"]["properties"]
    return {key: int(found.get(key, props[key]["default"])) for key in ("grace_epochs", "reduction_factor")}


def _dimension(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"choices": list(value)}
    low, high = value["low"], value["high"]
    rules = ultralytics_rules()
    # Integers for an integer argument, and for any range written with integer ends (batch: {low: 8, high: 32});
    # a fraction (0 to 1) never: write {low: 0.0, high: 1.0} to draw floats elsewhere.
    both_int = type(low) is int and type(high) is int
    integral = key in rules["int"] or (both_int and key not in rules["fraction"] and key != "scale")
    return {"low": low, "high": high, "log": bool(value.get("log", False)), "int": integral}


def _range_problem(key: str, value: dict[str, Any]) -> tuple[str, str] | None:
    rules = ultralytics_rules()
    low, high = value.get("low"), value.get("high")
    if key in rules["bool"] or key in rules["str"] or key == "optimizer":
        return "is a range, but it is not a number argument", f"list the choices: {key}: [...]"
    if (key == "freeze" or key in rules["int"]) and not (type(low) is int and type(high) is int):
        what = "a float freeze freezes nothing" if key == "freeze" else f"{key} is an integer"
        return f"has non-integer ends ({low}, {high}): {what}", f"write integers, e.g. {key}: {{low: 4, high: 10}}"
    if not low < high:
        return f"low {low} is not below high {high}", "swap them, or list one value as a choice: [value]"
    if value.get("log") and low <= 0:
        return f"log: true needs low > 0, got {low}", "e.g. lr0: {low: 0.0001, high: 0.01, log: true}"
    for end in (low, high):
        problem = argument_problem(key, end, section="train")
        if problem:
            return f"end {end} {problem[0]}", problem[1]
    return None


def sweep_problems(rnd: Round) -> list[tuple[str, str, str]]:
    """What is wrong with a resolved round's ``sweep`` section: ``(dotted key, message, fix)`` each; [] when fine.

    The section's shape (types, unknown keys) is the schema's; these are the rules on top of it.
    """
    sweep = rnd.sweep
    if not sweep:
        return []
    found: list[tuple[str, str, str]] = []
    if rnd.notebook not in TRAINING_NOTEBOOKS:
        found.append(("sweep", f"is set in a round of notebook {rnd.notebook}", "sweeps are training rounds (04)"))
    if rnd.repeat > 1:
        found.append(
            ("repeat", f"is {rnd.repeat} in a sweep round", "repeat the chosen arguments in a round that extends it")
        )
    space = sweep.get("space") or {}
    if not space:
        fix = "name what to search, e.g. space: {lr0: {low: 0.001, high: 0.02}}"
        found.append(("sweep.space", "is missing or empty", fix))
    for key, value in space.items():
        dotted = f"sweep.space.{key}"
        if key in RESERVED_TRAIN_KEYS:
            found.append((dotted, "is set by the workbook, not searched", "remove it"))
            continue
        if key in _NOT_SEARCHED:
            found.append((dotted, f"is not searched: {_NOT_SEARCHED[key]}", "remove it from sweep.space"))
            continue
        if key not in ultralytics_rules()["defaults"]:
            message, fix = argument_problem(key, None, section="train") or ("is not an ultralytics argument", "")
            found.append((dotted, message, fix))
            continue
        if isinstance(value, list):
            for choice in value:
                problem = argument_problem(key, choice, section="train")
                if problem:
                    found.append((dotted, f"choice {choice!r} {problem[0]}", problem[1]))
                    break
        elif isinstance(value, dict):
            problem = _range_problem(key, value)
            if problem:
                found.append((dotted, *problem))
    optimizers = space.get("optimizer")
    searched_lr = [key for key in _LR_KEYS if key in space]
    if searched_lr and isinstance(optimizers, list):
        if any(str(choice).lower() == "auto" for choice in optimizers):
            found.append(
                ("sweep.space.optimizer", f"has the choice auto, which ignores the searched {', '.join(searched_lr)}",
                 "list named optimizers only, e.g. [SGD, AdamW]")
            )  # fmt: skip
    elif searched_lr and str(rnd.train.get("optimizer", "auto")).lower() == "auto":
        found.append(
            (f"sweep.space.{searched_lr[0]}",
             f"is searched while optimizer is auto, which ignores {', '.join(searched_lr)}: no trial would differ",
             "fix the optimizer in the round's train section (optimizer: SGD) or search it (optimizer: [SGD, AdamW])")
        )  # fmt: skip
    device = rnd.train.get("device")
    if device is not None and not argument_problem("device", device, section="train") and len(cuda_devices(device)) > 1:
        found.append(
            ("train.device", f"names several GPUs ({rnd.train['device']}) in a sweep round: a trial trains on one",
             "remove it (backend: ray gives each trial its GPUs: sweep.ray.gpus_per_trial), or name one GPU")
        )  # fmt: skip
    try:
        objective = parse_objective(sweep.get("objective", _default("objective")))
    except ParamsError as exc:
        found.append(("sweep.objective", exc.message.split(" ", 1)[1], exc.fix))
        objective = None
    if objective and not objective.per_epoch:
        if _early_stop(sweep.get("early_stop", _default("early_stop"))):
            found.append(
                ("sweep.early_stop", "needs an objective measured each epoch; 'count err' is measured after training",
                 "set early_stop: false, or optimise a class's AP50")
            )  # fmt: skip
        if not rnd.attendance_setting("truth") or not rnd.predict.get("source"):
            found.append(
                ("sweep.objective", "'count err' needs the video's ground truth",
                 "set predict.source and attendance.truth (docs: how-to/attendance), or optimise a class's AP50")
            )  # fmt: skip
    early = _early_stop(sweep.get("early_stop", _default("early_stop")))
    epochs = trial_epochs(rnd)
    if early and early["grace_epochs"] >= epochs:
        found.append(
            ("sweep.early_stop", f"grace_epochs {early['grace_epochs']} is not below the trial's {epochs} epochs",
             "lower grace_epochs, or set early_stop: false")
        )  # fmt: skip
    return found


def trial_epochs(rnd: Round) -> int:
    """Each trial's epochs: ``sweep.epochs``, else the round's ``train.epochs``, else ultralytics' 100."""
    return int(rnd.sweep.get("epochs") or rnd.train.get("epochs") or 100)


def budget_problem(rnd: Round) -> tuple[str, str, str] | None:
    """A warning when an overlay lowers ``train.epochs`` below a sweep's trial epochs: ``(dotted, message, fix)``.

    ``train.epochs`` does not reach ``sweep.epochs``: a small one from ``params/local.yaml`` (``train: {epochs: 1}``),
    a profile or papermill leaves each trial at the sweep round's ``sweep.epochs``. The warning names both values,
    both files, and the fix: the sweep's own budget in the same file. None when nothing needs saying (no sweep, no
    ``sweep.epochs``, train.epochs not lower, set by a round file, where a sweep section would not be inherited,
    or by the file that set ``sweep.epochs`` too).
    """
    epochs, trial = rnd.train.get("epochs"), rnd.sweep.get("epochs")
    if type(epochs) is not int or type(trial) is not int or epochs >= trial:
        return None
    file = where_set(rnd, "train.epochs")
    overlay = file.partition(" (rounds.")[0]
    if overlay not in rnd.files[len(rnd.chain) :] or where_set(rnd, "sweep.epochs").startswith(overlay):
        return None
    trials = int(rnd.sweep.get("trials", _default("trials")))
    early = _early_stop(rnd.sweep.get("early_stop", _default("early_stop")))
    stop = ", early_stop: false" if early and early["grace_epochs"] >= epochs else ""  # no rung below so few epochs
    budget = f"{{epochs: {epochs}, trials: {min(trials, 2)}{stop}}}"
    message = (
        f"train.epochs: {epochs} ({file}) does not reach the sweep: each of its {trials} trials trains"
        f" sweep.epochs: {trial} ({where_set(rnd, 'sweep.epochs')})"
    )
    if overlay == OVERRIDES:
        return "train.epochs", message, f"give the sweep's own budget too: -p sweep '{budget}'"
    return "train.epochs", message, f"set the sweep's own budget in {overlay} too: 'sweep: {budget}'"


def where_set(rnd: Round, dotted: str) -> str:
    """The params file that set ``dotted`` (``sweep.space.lr0``, ``repeat``) in a resolved round."""
    parts = dotted.split(".")
    return rnd.origin.get(".".join(parts[:2]), rnd.files[-1] if rnd.files else "?")


def parse_sweep(rnd: Round) -> SweepSpec:
    """The round's ``sweep`` section as a :class:`SweepSpec`.

    Raises:
        ParamsError: The round has no sweep section, or one that :func:`sweep_problems` finds wrong (the first).
    """
    if not rnd.sweep:
        raise ParamsError(f"round '{rnd.round_id}' has no sweep section", fix="add 'sweep: {space: {...}}'")
    problems = sweep_problems(rnd)
    if problems:
        key, message, fix = problems[0]
        raise ParamsError(f"{where_set(rnd, key)}: {key} {message}", fix=fix)
    sweep = rnd.sweep
    given = sweep.get("ray") or {}
    ray = {key: given.get(key, spec.get("default")) for key, spec in _SCHEMA["ray"]["properties"].items()}
    return SweepSpec(
        space={key: _dimension(key, value) for key, value in sweep["space"].items()},
        trials=int(sweep.get("trials", _default("trials"))),
        epochs=trial_epochs(rnd),
        objective=parse_objective(sweep.get("objective", _default("objective"))),
        early_stop=_early_stop(sweep.get("early_stop", _default("early_stop"))),
        backend=str(sweep.get("backend", _default("backend"))),
        seed=int(sweep.get("seed", _default("seed"))),
        ray=ray,
    )
