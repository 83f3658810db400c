"""What papermill injected into a notebook's kernel, read back to refuse a parameter the notebook does not define."""

from __future__ import annotations

from yolo_workbook.config.keys import NOTEBOOK_PARAMETERS, ROUND_KEYS
from yolo_workbook.config.round import suggest
from yolo_workbook.core.errors import ParamsError


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


def refuse_unknown_papermill_parameters(notebook: str) -> None:
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
