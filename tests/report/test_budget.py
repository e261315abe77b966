"""Budgets in compute: the expected best objective within C CPU-seconds, on planted search tables
(objectives and wall times chosen by hand), checked against enumeration and against each other."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from ganbench.report.budget import (budget_table, compute_table, expected_best_within, trial_costs,
                                    write_budget_views)
from ganbench.suite import Resources, validate_suite
from tests.search.test_search import search, suite_with

OBJECTIVES = [0.5, 0.2, math.nan, 0.4, 0.1]  # reverse_kl, minimised; the third trial was pruned
STATUSES = ["complete", "complete", "pruned", "complete", "complete"]


def two_loss_suite(**kw):
    raw = suite_with(search(), **kw)
    raw["grid"]["loss"] = ["hinge", "minimax"]
    return validate_suite(raw)


def search_rows(suite, wall_s: dict[int, float], objectives=OBJECTIVES, statuses=STATUSES) -> pd.DataFrame:
    """The same trials in every cell; cell i's trials each took wall_s[i] seconds."""
    return pd.DataFrame([
        {"cell": suite.cell_label(cell), "phase": "search", "search_trial": n, "status": status, "objective": value,
         "wall_s": wall_s[i], "run_device": "cpu", "steps_done": 10}
        for i, cell in enumerate(suite.cells()) for n, (value, status) in enumerate(zip(objectives, statuses))])


def test_monte_carlo_matches_the_mean_over_every_ordering():
    values, costs = np.array([0.3, 0.1, 0.2]), np.array([1.0, 2.0, 3.0])
    grid = np.array([1.0, 2.5, 3.0, 4.0, 6.0])
    exact = []
    for budget in grid:
        bests = []
        for order in itertools.permutations(range(3)):
            finished = [i for i, spent in zip(order, np.cumsum(costs[list(order)])) if spent <= budget]
            bests.append(min(values[finished]) if finished else math.nan)
        exact.append(np.mean(bests))  # NaN while some ordering has finished nothing
    estimate = expected_best_within(values, costs, grid, maximize=False)
    assert np.isnan(estimate[:2]).all() and np.isnan(exact[:2]).all()  # 2.5 s: the ordering (c, ...) has nothing
    assert estimate[2:] == pytest.approx(exact[2:], abs=0.01) and estimate[-1] == 0.1


def test_a_pruned_trial_spends_compute_and_gives_nothing():
    # orderings: (pruned, good) finishes the good trial at 5 s, (good, pruned) at 1 s
    curve = expected_best_within([math.nan, 0.5], [4.0, 1.0], [1.0, 4.9, 5.0, 9.0], maximize=True)
    assert np.isnan(curve[:2]).all() and list(curve[2:]) == [0.5, 0.5]


def test_the_cheap_cell_reaches_the_same_expected_best_at_a_tenth_of_the_cpu_seconds():
    suite = two_loss_suite()
    expensive, cheap = (suite.cell_label(c) for c in suite.cells())
    table = compute_table(search_rows(suite, {0: 10.0, 1: 1.0}), suite).set_index(["cell", "cpu_s"])
    # the grid runs to 50 CPU-s in steps of 0.25: it holds 1..5 s and 10..50 s
    for seconds in range(1, 6):
        assert table.loc[(cheap, float(seconds))].equals(table.loc[(expensive, 10.0 * seconds)])
    assert table.loc[(cheap, 5.0), "expected_best"] == 0.1  # every trial done: the best of them
    assert math.isnan(table.loc[(expensive, 5.0), "expected_best"])  # not one trial done yet


def test_expected_best_is_monotone_in_compute_and_its_band_holds_it():
    suite = two_loss_suite()
    table = compute_table(search_rows(suite, {0: 3.0, 1: 7.0}), suite)
    for _, curve in table.groupby("cell"):
        defined = curve["expected_best"].dropna()
        assert len(defined) > 50 and curve["expected_best"].loc[defined.index[0]:].notna().all()
        assert (defined.diff().dropna() <= 0).all()  # minimised: never worse with more compute
        both = curve.dropna(subset=["band_low", "band_high"])
        assert len(both) > 20
        assert (both["band_low"] <= both["expected_best"]).all() and (both["expected_best"] <= both["band_high"]).all()


def test_one_trial_per_cell_is_that_trials_value_from_its_cost_on():
    suite = two_loss_suite()
    rows = search_rows(suite, {0: 8.0, 1: 2.0}, objectives=[0.3], statuses=["complete"])
    rows.loc[1, "objective"] = 0.6
    table = compute_table(rows, suite)
    for cell, cost, value in zip(suite.cells(), (8.0, 2.0), (0.3, 0.6)):
        curve = table[table["cell"] == suite.cell_label(cell)]
        before, after = curve[curve["cpu_s"] < cost], curve[curve["cpu_s"] >= cost]
        assert before[["expected_best", "band_low", "band_high"]].isna().all().all()
        assert (after[["expected_best", "band_low", "band_high"]] == value).all().all()


def test_costs_are_wall_time_times_the_resources_held_shared_by_a_stacked_batch():
    rows = pd.DataFrame({"wall_s": [10.0, 10.0, math.nan], "batch_trials": [math.nan, 4.0, math.nan],
                         "run_device": ["cuda:0", "cuda:0", "cpu"]})
    costs = trial_costs(rows, Resources(num_cpus=2, num_gpus=0.5))
    assert list(costs["cpu_s"]) == [20.0, 5.0, 0.0]  # a row without a wall time measured nothing
    assert list(costs["gpu_s"]) == [5.0, 1.25, 0.0]
    assert list(trial_costs(rows.assign(run_device="cpu"), Resources(num_cpus=1))["gpu_s"]) == [0.0, 0.0, 0.0]


def test_budget_csv_gains_the_mean_compute_of_b_trials():
    suite = two_loss_suite(resources={"num_cpus": 2})
    table = budget_table(search_rows(suite, {0: 3.0, 1: 1.0}), suite)
    first = table[table["cell"] == suite.cell_label(suite.cells()[0])]
    assert list(first["cpu_s"]) == [6.0, 12.0, 18.0, 24.0, 30.0] and (first["gpu_s"] == 0).all()
    assert list(table.columns[:4]) == ["cell", "budget", "best_so_far", "expected_best"]  # the existing columns stay


def test_budget_views_write_the_compute_table_and_plot_the_same_bytes_twice(tmp_path):
    suite = two_loss_suite()
    trials = search_rows(suite, {0: 3.0, 1: 1.0})
    written = write_budget_views(tmp_path, trials, suite)
    assert [p.name for p in written][-2:] == ["budget_compute.csv", "budget_compute.png"]
    assert all(p.stat().st_size > 0 for p in written)
    first = (tmp_path / "budget_compute.csv").read_bytes()
    write_budget_views(tmp_path, trials, suite)
    assert (tmp_path / "budget_compute.csv").read_bytes() == first
    table = pd.read_csv(tmp_path / "budget_compute.csv")
    assert list(table.columns) == ["cell", "cpu_s", "gpu_s", "expected_best", "band_low", "band_high"]
    assert table["cpu_s"].max() == 15.0 and (table["gpu_s"] == 0).all()
