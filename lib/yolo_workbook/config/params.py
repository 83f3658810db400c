"""Loading a round: the one call notebooks, the runner and the CLI make (:func:`load_round`).

It reads the round's files once, has :mod:`yolo_workbook.config.validate` (the one validator) check
them, and resolves them with :mod:`yolo_workbook.config.layers` (``extends``, ``params/local.yaml``,
the profile, papermill's values). It also holds the papermill side of a notebook's parameters. The
round's data model and key lists are re-exported here, so callers import rounds from one place.

Examples:
    >>> from yolo_workbook.config.params import load_round
    >>> rnd = load_round("r04_lr_cos", profile="demo")  # doctest: +SKIP
    >>> rnd.train["cos_lr"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yolo_workbook.config import validate
from yolo_workbook.config.layers import (
    NOTEBOOK_PARAMETERS,
    NOTEBOOKS,
    OVERLAY_SCHEMA,
    OVERRIDES,
    OWN_KEYS,
    PROFILE_KEYS,
    ROUND_ID,
    ROUND_KEYS,
    ROUND_SCHEMA,
    SECTION_KEYS,
    SECTIONS,
    TRAINING_NOTEBOOKS,
    Documents,
    Round,
    best_weights_of,
    deep_merge,
    is_round_reference,
    list_rounds,
    read_round_file,
    relative,
    resolve,
    round_file,
    save_resolved,
    suggest,
)
from yolo_workbook.core.errors import ParamsError

__all__ = [
    "NOTEBOOKS",
    "NOTEBOOK_PARAMETERS",
    "OVERLAY_SCHEMA",
    "OVERRIDES",
    "OWN_KEYS",
    "PROFILE_KEYS",
    "ROUND_ID",
    "ROUND_KEYS",
    "ROUND_SCHEMA",
    "SECTIONS",
    "SECTION_KEYS",
    "TRAINING_NOTEBOOKS",
    "Documents",
    "Round",
    "best_weights_of",
    "deep_merge",
    "is_round_reference",
    "list_rounds",
    "load_round",
    "papermill_parameters_cell",
    "read_round_file",
    "relative",
    "resolve",
    "round_file",
    "save_resolved",
]


def load_round(
    round_id: str,
    *,
    profile: str = "",
    injected: dict[str, Any] | None = None,
    params_dir: Path | None = None,
    use_local: bool = True,
    for_notebook: str = "",
    check: bool = True,
    documents: Documents | None = None,
) -> Round:
    """Resolve a round: its ``extends`` chain, then local, profile and injected overlays, each file checked.

    Every file is read once (:class:`Documents`) and checked by :mod:`yolo_workbook.config.validate`: its
    shape always (the round file schema; the first error is raised); with ``check`` also ultralytics'
    argument rules and the rules of the resolved round, as ``yolo-workbook check`` runs them.

    Args:
        round_id (str): The round's file stem in ``params/``.
        profile (str): A profile name in ``params/profiles/`` (``""`` for none).
        injected (dict | None): Values a notebook received from papermill. Values that are empty
            or equal to the round file's own are ignored; others override the round file.
        params_dir (Path | None): Folder holding the round files (default: ``params/``).
        use_local (bool): Overlay ``params/local.yaml`` when it exists.
        for_notebook (str): When given, the round must be one that this notebook runs.
        check (bool): Run every check of ``yolo-workbook check`` on the round: every error at once, in
            one :class:`ParamsError`; warnings are printed.
        documents (Documents | None): Files already read in this call (a caller that loads several rounds).

    Returns:
        (Round): The resolved round.

    Raises:
        ParamsError: A file is missing, malformed or (with ``check``) fails a rule.

    Examples:
        >>> load_round("r01_base", profile="ci").train["epochs"]  # doctest: +SKIP
        1
    """
    if injected is not None:
        _refuse_unknown_papermill_parameters(for_notebook or "this notebook")
    return validate.load(
        round_id,
        profile=profile,
        injected=injected,
        params_dir=params_dir,
        use_local=use_local,
        for_notebook=for_notebook,
        check=check,
        documents=documents,
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
        hints = "; ".join(f"{name}: {suggest(name, known_names)}" for name in unknown)
        raise ParamsError(
            f"papermill parameter(s) {', '.join(unknown)} are not parameters of {notebook}; nothing was run",
            fix=f"{hints} (parameters: {known})",
        )
