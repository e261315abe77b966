"""The search block: validation, seeded sampling, and recovery of trials a dead driver left running.

These use the real Optuna studies (journal files in tmp_path), without Ray.
"""
from __future__ import annotations

import math

import pytest
import yaml

from ganbench.report.budget import budget_table, expected_best
from ganbench.search.server import StudyServer
from ganbench.suite import SuiteError, validate_suite

SPACE = {
    "lr_g": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
    "beta1": {"type": "categorical", "choices": [0.0, 0.5]},
    "d_steps_per_g_step": {"type": "int", "low": 1, "high": 5},
}


def search(**kw) -> dict:
    return {"n_trials": 8, "sampler": "random", "pruner": "median", "objective": {"metric": "reverse_kl"},
            "space": SPACE, "seed": 3, **kw}


def suite_with(search_block: dict, **kw) -> dict:
    return {"name": "s", "seeds": [0], "budget": {"steps": 10, "eval_every": 5},
            "grid": {"model": ["mlp"], "loss": ["hinge"], "dataset": ["ring8"]}, "search": search_block, **kw}


def server(tmp_path, name="j", **kw) -> StudyServer:
    return StudyServer(str(tmp_path / name), "s", ["a", "b"], search(**kw), 10, 5)


def test_issue_example_search_block_validates_and_maps_beta1_into_betas():
    suite = validate_suite(suite_with(search(sampler="tpe")))
    cfg = suite.config(suite.cells()[0], 0, {"lr_g": 1e-4, "beta1": 0.0, "d_steps_per_g_step": 3})
    assert cfg.betas == (0.0, 0.999) and cfg.d_steps_per_g_step == 3 and cfg.lr_g == 1e-4


@pytest.mark.parametrize("change, fragment", [
    ({"space": {"lr": {"type": "float", "low": 1, "high": 2}}}, "searchable keys"),
    ({"space": {"lr_g": {"type": "float", "low": 0, "high": 1e-3, "log": True}}}, "log: true needs low > 0"),
    ({"space": {"beta1": {"type": "categorical"}}}, "non-empty 'choices'"),
    ({"space": {"lr_g": {"type": "float", "low": 1e-3, "high": 1e-5}}}, "is above high"),
    ({"sampler": "bayes"}, "'tpe', 'random', 'grid', 'cmaes' or 'qmc'"),
    ({"pruner": "asha"}, "'none', 'median', 'hyperband' or 'collapse'"),
    ({"objective": {"metric": "d_real_mean"}}, "no direction"),
    ({"sampler": "grid"}, "finite space"),
    ({"space": {"d_steps_per_g_step": {"type": "int", "low": 0, "high": 3}}}, "search.space.d_steps_per_g_step"),
])
def test_bad_search_blocks_name_the_key_and_the_choices(change, fragment):
    with pytest.raises(SuiteError) as info:
        validate_suite(suite_with(search(**change)), source="x.yaml")
    assert fragment in str(info.value) and "search" in str(info.value)


def test_a_key_cannot_be_both_searched_and_fixed():
    raw = suite_with(search(), params={"lr_g": 1e-4})
    with pytest.raises(SuiteError, match="search.space.lr_g: also set in params.lr_g"):
        validate_suite(raw)


def test_same_suite_and_seed_give_the_same_parameters(tmp_path):
    a, b = server(tmp_path, "a"), server(tmp_path, "b")
    drawn_a = [a.ask("a").params for _ in range(6)]
    drawn_b = [b.ask("a").params for _ in range(6)]
    assert drawn_a == drawn_b
    assert len({tuple(sorted(p.items())) for p in drawn_a}) > 1  # and they do vary
    other = server(tmp_path, "c", seed=4)
    assert [other.ask("a").params for _ in range(6)] != drawn_a


def test_every_cell_starts_from_the_same_draws(tmp_path):
    s = server(tmp_path)
    assert s.ask("a").params == s.ask("b").params  # common random numbers: a fair comparison


def test_a_dead_drivers_running_trials_are_failed_and_rerun_with_the_same_params(tmp_path):
    uninterrupted = server(tmp_path, "u")
    expected = [uninterrupted.ask("a").params for _ in range(5)]

    first = server(tmp_path, "r")
    t0, t1, t2 = first.ask("a"), first.ask("a"), first.ask("a")
    first.tell("a", t0.number, "complete", 0.5, "id0")
    # the driver dies: t1 was recorded in the trials table but not told; t2 was lost
    second = server(tmp_path, "r")
    assert second.recover({("a", t1.number): {"status": "complete", "objective": 0.4}}) == 1
    assert second.counted("a") == 2  # t0 and t1; the interrupted t2 uses no budget
    retry = second.ask("a")
    assert retry.params == t2.params and retry.number == 3
    assert [second.ask("a").params for _ in range(2)] == expected[3:5]
    history = {h["number"]: h for h in second.history("a")}
    assert history[1]["value"] == 0.4 and history[2]["interrupted"] and history[2]["state"] == "FAIL"


def test_pruner_stops_a_trial_far_worse_than_the_median(tmp_path):
    s = server(tmp_path, pruner="median")
    for value in (0.1, 0.2, 0.15, 0.12, 0.18):  # five startup trials with good curves
        t = s.ask("a")
        for step in (5, 10):
            assert not s.report("a", t.number, step, value)
        s.tell("a", t.number, "complete", value, f"id{t.number}")
    bad = s.ask("a")
    assert not s.report("a", bad.number, 5, 2.0)  # warm-up: the first evaluation is never pruned
    assert s.report("a", bad.number, 10, 2.0)


def test_best_is_the_best_complete_trial_in_the_objective_direction(tmp_path):
    s = server(tmp_path)
    for value in (0.3, 0.1, 0.2):
        t = s.ask("a")
        s.tell("a", t.number, "complete", value, "x")
    t = s.ask("a")
    s.tell("a", t.number, "diverged", math.nan, "y")
    number, _, value = s.best("a")
    assert (number, value) == (1, 0.1)
    assert s.best("b") is None


def test_expected_best_of_b_matches_enumeration():
    import itertools

    values = [0.9, 0.3, 0.5, 0.7, 0.1]
    for b in range(1, 6):
        subsets = list(itertools.combinations(values, b))
        assert expected_best(values, b, maximize=False) == pytest.approx(sum(min(s) for s in subsets) / len(subsets))
        assert expected_best(values, b, maximize=True) == pytest.approx(sum(max(s) for s in subsets) / len(subsets))
    assert expected_best(values, 5, False) == 0.1 and math.isnan(expected_best(values, 6, False))


def test_budget_curve_is_monotone_and_counts_every_trial():
    import pandas as pd

    suite = validate_suite(suite_with(search()))
    rows = pd.DataFrame({"cell": ["c"] * 5, "search_trial": range(5),
                         "status": ["complete", "pruned", "complete", "diverged", "complete"],
                         "objective": [0.5, math.nan, 0.7, math.nan, 0.2]})
    table = budget_table(rows, suite)
    assert list(table["budget"]) == [1, 2, 3, 4, 5]
    assert list(table["best_so_far"]) == [0.5, 0.5, 0.5, 0.5, 0.2]
    assert table["expected_best"].iloc[2] == pytest.approx(0.2) and math.isnan(table["expected_best"].iloc[3])


def test_shipped_search_suite_is_valid():
    from pathlib import Path

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "suites/search-ring.yaml").read_text())
    assert validate_suite(raw).search.n_trials >= 1


def test_every_study_names_its_objective_for_the_dashboard(tmp_path):
    import warnings

    import optuna

    from ganbench.search.optuna_setup import open_storage

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's ExperimentalWarning stays inside the server
        server(tmp_path)
        again = server(tmp_path)  # a resume finds the names set and leaves them
    assert [s.metric_names for s in again.studies.values()] == [["reverse_kl"], ["reverse_kl"]]
    for summary in optuna.get_all_study_summaries(open_storage(str(tmp_path / "j"))):
        assert optuna.load_study(study_name=summary.study_name, storage=open_storage(str(tmp_path / "j"))
                                 ).metric_names == ["reverse_kl"]
