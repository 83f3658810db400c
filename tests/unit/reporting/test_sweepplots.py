"""sweepplots: a sweep round's objective by trial (with the best so far) and against each searched argument."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from sweep_samples import MAXIMIZE, MINIMIZE, ledger, trial

from yolo_workbook.reporting.sweepplots import objective_by_argument, objective_by_trial


def _collection(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, [c.get_gid() for c in ax.collections]
    return found[0]


def _step(ax):
    (line,) = [line for line in ax.get_lines() if line.get_label() == "best so far"]
    return list(line.get_xdata()), list(line.get_ydata())


def test_objective_by_trial_draws_each_status_and_the_best_so_far():
    fig = objective_by_trial(MAXIMIZE)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "시태 AP50" and ax.get_xlabel() == "trial"
    assert _step(ax) == ([0, 2, 4, 4], [0.401, 0.612, 0.612, 0.612])
    np.testing.assert_allclose(_collection(ax, "ok").get_offsets(), [[0, 0.401], [2, 0.612], [4, 0.550]])
    pruned = _collection(ax, "pruned")
    np.testing.assert_allclose(pruned.get_offsets(), [[1, 0.105]])
    assert pruned.get_facecolors().size == 0 or pruned.get_facecolors()[0][3] == 0  # hollow
    failed = _collection(ax, "failed (no objective)")
    np.testing.assert_allclose(failed.get_offsets(), [[3, 0.03]])  # on the bottom edge, in axes fractions
    assert failed.get_offset_transform() is ax.get_xaxis_transform()
    np.testing.assert_allclose(_collection(ax, "best").get_offsets(), [[2, 0.612]])
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert {"ended", "pruned (stopped early)", "failed (no objective)", "best trial", "best so far"} == set(legend)


def test_objective_by_trial_of_a_minimized_objective_says_lower_is_better():
    ax = objective_by_trial(MINIMIZE).axes[0]
    assert ax.get_ylabel() == "count err (lower is better)"
    assert _step(ax) == ([0, 1, 2], [2.5, 1.2, 1.2])  # the step runs on to the last (running) trial
    np.testing.assert_allclose(_collection(ax, "running (no objective)").get_offsets(), [[2, 0.03]])


def test_best_so_far_counts_only_ended_trials():
    doc = ledger(MINIMIZE)
    doc["trials"].append(trial(3, "pruned", 0.4, {"optimizer": "SGD", "mosaic": 0.1}, epochs_run=1))
    doc["trials"].append(trial(4, "ok", 2.0, {"optimizer": "SGD", "mosaic": 0.9}, epochs_run=2))
    assert _step(objective_by_trial(doc).axes[0]) == ([0, 1, 4, 4], [2.5, 1.2, 1.2, 1.2])


def test_objective_by_argument_has_a_log_axis_for_log_ranges_and_categories_for_choices():
    fig = objective_by_argument(MAXIMIZE)
    lr0, cls_pw, freeze = fig.axes[:3]
    assert [ax.get_xlabel() for ax in (lr0, cls_pw, freeze)] == ["lr0 (log scale)", "cls_pw", "freeze"]
    assert (lr0.get_xscale(), cls_pw.get_xscale()) == ("log", "linear")
    assert lr0.get_xlim()[0] < 0.001 and lr0.get_xlim()[1] > 0.02  # the whole searched range
    assert [t.get_text() for t in freeze.get_xticklabels()] == ["6", "8", "10"]
    np.testing.assert_allclose(_collection(freeze, "ok").get_offsets(), [[1, 0.401], [2, 0.612], [1, 0.550]])
    np.testing.assert_allclose(_collection(lr0, "ok").get_offsets()[:, 0], [0.0012, 0.0051, 0.009])
    assert lr0.get_ylabel() == "시태 AP50"
    assert fig.axes[-1].get_legend() is not None


def test_objective_by_argument_of_choices_that_are_words():
    fig = objective_by_argument(MINIMIZE)
    optimizer, mosaic = fig.axes[:2]
    assert [t.get_text() for t in optimizer.get_xticklabels()] == ["SGD", "AdamW"]
    np.testing.assert_allclose(_collection(optimizer, "ok").get_offsets(), [[0, 2.5], [1, 1.2]])
    assert mosaic.get_xscale() == "linear"
    assert optimizer.get_ylabel() == "count err (lower is better)"


@pytest.mark.parametrize("draw", [objective_by_trial, objective_by_argument])
def test_sweep_figures_draw_hangul_and_stay_open(draw):
    import matplotlib.pyplot as plt

    fig = draw(MAXIMIZE)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        fig.savefig(io.BytesIO(), format="png")
    assert plt.fignum_exists(fig.number)
    plt.close(fig)
