"""Deep checks before a run: every model is built for its data with its options; stacking is checked."""
from __future__ import annotations

import pytest

from ganbench.checks import check_suite
from ganbench.suite import SuiteError, validate_suite
from tests.test_suite import GOOD, with_


def error(raw: dict) -> str:
    suite = validate_suite(raw, source="suites/x.yaml")  # valid as data: the deep checks find the rest
    with pytest.raises(SuiteError) as info:
        check_suite(suite, "suites/x.yaml")
    message = str(info.value)
    assert message.startswith("suites/x.yaml:")
    return message


def test_a_good_suite_passes():
    check_suite(validate_suite(GOOD))


def test_model_that_cannot_take_the_data_is_refused_before_running():
    msg = error(with_(grid__model=["dirac"]))
    assert "model 'dirac' with dataset 'ring8'" in msg and "1-D" in msg


@pytest.mark.parametrize("option, value", [("d_norm", "spectral"), ("conditional", True), ("d_projection", True),
                                           ("cycle_weight", 5.0), ("identity_weight", 0.5)])
def test_an_option_the_model_ignores_is_refused_naming_it_and_what_the_model_uses(option, value):
    msg = error(with_(params={"batch_size": 16, option: value}))
    assert f"model 'mlp' does not use {option}={value!r}" in msg
    assert "the options it uses: hidden, depth, d_maxout, d_dropout" in msg


def test_an_option_the_model_honours_is_accepted():
    check_suite(validate_suite(with_(grid__model=["dcgan"], grid__dataset=["digits"],
                                     params={"batch_size": 16, "hidden": 8, "d_norm": "spectral"})))


def test_a_searched_option_the_model_ignores_is_refused():
    search = {"n_trials": 2, "objective": {"metric": "reverse_kl"},
              "space": {"d_norm": {"type": "categorical", "choices": ["none", "spectral"]}}}
    assert "does not use d_norm='spectral'" in error(with_(search=search))


def test_stacking_is_checked_before_running():
    assert "d_maxout" in error(with_(execution={"batch_trials": 2}, params={"batch_size": 16, "d_maxout": 3}))
    assert "compile=True" in error(with_(execution={"batch_trials": 2}, params={"batch_size": 16, "compile": True}))
    with pytest.raises(SuiteError, match="execution.batch_trials"):
        validate_suite(with_(execution={"batch_trials": 0}))


def test_a_stacked_search_refuses_a_searched_value_that_cannot_be_stacked():
    space = {"lr_g": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
             "r1": {"type": "float", "low": 0.0, "high": 1.0}}
    search = {"n_trials": 4, "objective": {"metric": "reverse_kl"}, "space": space}
    message = error(with_(execution={"batch_trials": 2}, search=search))
    assert "search.space.r1 = 1.0 cannot be batched" in message and "no R1 penalty" in message
    assert "lr_g" not in message
    check_suite(validate_suite(with_(execution={"batch_trials": 2}, search={**search, "space": {"lr_g": space["lr_g"]}})))
