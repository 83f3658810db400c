"""repeat: a round's own setting (not inherited through extends), set by local.yaml or a profile, checked by schema."""

from __future__ import annotations

import pytest
from conftest import write

from yolo_workbook.config import params
from yolo_workbook.core.errors import ParamsError


@pytest.fixture()
def chain(params_dir):
    write(
        params_dir,
        "r01_base.yaml",
        "round_id: r01_base\nnotebook: 02_base_train\ndatasets: {a: a.yaml}\ndata: {use: [a]}\n"
        "model: {from: yolov8n.yaml}\nrepeat: 3\n",
    )
    write(params_dir, "r02_next.yaml", "round_id: r02_next\nextends: r01_base\nnotebook: 04_tune_round\n")
    return params_dir


def load(round_id, params_dir, **kwargs):
    return params.load_round(round_id, params_dir=params_dir, use_local=False, check=False, **kwargs)


def test_repeat_is_the_round_files_own_and_not_inherited(chain):
    rnd = load("r01_base", chain)
    assert rnd.repeat == 3 and rnd.origin["repeat"].endswith("r01_base.yaml")
    assert rnd.to_dict()["repeat"] == 3
    following = load("r02_next", chain)
    assert following.repeat == 1 and "repeat" not in following.to_dict()  # extending a repeated round: trained once


def test_a_profile_sets_repeat_for_one_round_or_for_all(chain):
    write(chain, "profiles/noise.yaml", "profile: noise\nrounds:\n  r02_next: {repeat: 2}\n")
    rnd = load("r02_next", chain, profile="noise")
    assert rnd.repeat == 2 and rnd.origin["repeat"].endswith("noise.yaml (rounds.r02_next)")
    write(chain, "profiles/every.yaml", "profile: every\nrepeat: 4\n")
    assert load("r02_next", chain, profile="every").repeat == 4
    assert load("r01_base", chain, profile="every").repeat == 4  # the profile wins over the round file


def test_the_notebooks_default_0_means_as_in_the_files_and_another_value_wins(chain):
    write(chain, "profiles/noise.yaml", "profile: noise\nrounds:\n  r02_next: {repeat: 2}\n")
    assert load("r02_next", chain, profile="noise", injected={"repeat": 0}).repeat == 2
    assert load("r02_next", chain, profile="noise", injected={"repeat": 5}).repeat == 5


@pytest.mark.parametrize("bad", ["0", "'3'", "1.5"])
def test_repeat_must_be_an_integer_of_1_or_more(chain, bad):
    write(chain, "r03_bad.yaml", f"round_id: r03_bad\nextends: r01_base\nnotebook: 04_tune_round\nrepeat: {bad}\n")
    with pytest.raises(ParamsError, match=r"r03_bad.yaml:4: repeat: must be an integer, 1 or more"):
        load("r03_bad", chain)


def test_the_demo_profile_repeats_one_cheap_round():
    # r03_merge: 33 s in the demo; rounds 4 and 8 compare against it, so its noise reaches three verdicts.
    assert params.load_round("r03_merge", profile="demo", use_local=False, check=False).repeat == 3
    others = [r for r in params.list_rounds() if r != "r03_merge"]
    assert all(params.load_round(r, profile="demo", use_local=False, check=False).repeat == 1 for r in others)
