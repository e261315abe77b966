"""report.ties and the leaderboard columns it fills: which cells are not significantly worse than the best.

The trials are synthetic (values drawn from known distributions): what is tested is the statistics.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ganbench.registry import METRICS
from ganbench.report.leaderboard import METRIC_STATS, display_table, leaderboard, tie_families
from ganbench.report.stats import holm
from ganbench.report.ties import ties_with_best, versus_best
from ganbench.suite import validate_suite

LOSSES = ["minimax", "nonsaturating", "hinge"]
RAW = {"name": "ties", "seeds": list(range(6)), "budget": {"steps": 10, "eval_every": 5},
       "grid": {"model": ["mlp"], "loss": LOSSES, "dataset": ["ring8"]}}
FRAC, KL, GAP = (METRICS.get(n) for n in ("high_quality_frac", "reverse_kl", "d_real_mean"))


def seeded(values, seeds=None) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=list(seeds if seeds is not None else range(len(values))))


def trials(raw: dict, values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Complete grid trials: ``values[loss][metric]`` lists one value per seed of ``raw``."""
    return pd.DataFrame([{"trial_id": f"{loss}-{seed}", "model": "mlp", "loss": loss, "dataset": "ring8",
                          "seed": seed, "status": "complete", "phase": "grid",
                          **{m: v[i] for m, v in by_metric.items()}}
                         for loss, by_metric in values.items() for i, seed in enumerate(raw["seeds"])])


@pytest.fixture
def planted():
    """minimax and nonsaturating from one distribution, hinge clearly worse, on both a ↑ and a ↓ metric."""
    rng = np.random.default_rng(0)
    draw = {loss: rng.normal(mu, 0.05, 6) for loss, mu in zip(LOSSES, (0.8, 0.8, 0.2))}
    values = {loss: {"high_quality_frac": draw[loss], "reverse_kl": 1 - draw[loss]} for loss in LOSSES}
    suite = validate_suite(RAW)
    return (*leaderboard(trials(RAW, values), suite, {}), suite)


def test_planted_tie_marks_both_equal_cells_and_not_the_worse_one(planted):
    board, metrics, suite = planted
    assert list(board["loss"]) == LOSSES
    for name in ("high_quality_frac", "reverse_kl"):
        assert list(board[f"{name}_tied"]) == [True, True, False]
        means = board[f"{name}_mean"]
        best = int(means.idxmax() if name == "high_quality_frac" else means.idxmin())
        assert math.isnan(board.loc[best, f"{name}_p_vs_best"])  # the best is not tested against itself
        assert board.loc[2, f"{name}_p_vs_best"] < 0.05
    table, best = display_table(board, metrics, suite)
    assert list(best["high_quality_frac ↑"]) == [True, True, False]  # what Markdown bolds and HTML highlights
    assert list(best["reverse_kl ↓"]) == [True, True, False]
    assert not best[["loss", "n_seeds"]].any().any()


def test_every_metric_gets_the_same_columns(planted):
    board, metrics, _ = planted
    columns = list(board.columns)
    for m in metrics:
        start = columns.index(f"{m.name}_mean")
        assert columns[start:start + len(METRIC_STATS)] == [f"{m.name}_{s}" for s in METRIC_STATS]
    assert (board["high_quality_frac_boot_low"] < board["high_quality_frac_mean"]).all()
    assert (board["high_quality_frac_mean"] < board["high_quality_frac_boot_high"]).all()


def test_holm_runs_over_all_metrics_and_cells():
    frac = [seeded([0.8, 0.82, 0.79]), seeded([0.5, 0.52, 0.55]), seeded([0.7, 0.81, 0.75])]
    kl = [seeded([0.1, 0.12, 0.11]), seeded([0.3, 0.2, 0.35]), seeded([0.1, 0.3, 0.2])]
    ties = ties_with_best({"high_quality_frac": frac, "reverse_kl": kl}, [FRAC, KL])
    raw = versus_best(frac, True)[1] + versus_best(kl, False)[1]
    adjusted = holm(raw)
    assert ties["high_quality_frac"].p_vs_best + ties["reverse_kl"].p_vs_best == pytest.approx(adjusted, nan_ok=True)
    assert sum(np.isfinite(raw)) == 4  # two cells against each metric's best


def test_shared_seeds_are_paired_and_the_others_welch():
    # the seed moves both cells alike; B is always 0.05 below A: Welch drowns in the seed noise, pairing does not
    base = np.array([0.2, 0.9, 0.5, 0.7, 0.3, 0.6])
    a, b = seeded(base + 0.05), seeded(base + np.array([0.0, 0.001, -0.001, 0.002, 0.0, -0.002]))
    _, (p_best, p_paired) = versus_best([a, b], higher_is_better=True)
    assert math.isnan(p_best) and p_paired == pytest.approx(stats.ttest_rel(a, b).pvalue) and p_paired < 1e-6
    other_seeds = seeded(b.to_numpy(), seeds=range(10, 16))
    _, (_, p_welch) = versus_best([a, other_seeds], higher_is_better=True)
    assert p_welch == pytest.approx(stats.ttest_ind(a, other_seeds, equal_var=False).pvalue) and p_welch > 0.5


def test_cells_with_one_value_are_tied_only_when_best():
    ties = ties_with_best({"reverse_kl": [seeded([0.1]), seeded([0.3, 0.31]), seeded([0.3]), seeded([])]}, [KL])
    assert ties["reverse_kl"].tied == [True, False, False, False]
    assert all(math.isnan(p) for p in ties["reverse_kl"].p_vs_best)  # nothing to test against a single value


def test_equal_best_means_are_all_tied_and_a_metric_without_direction_has_no_best():
    ties = ties_with_best({"high_quality_frac": [seeded([1.0, 1.0]), seeded([1.0, 1.0]), seeded([0.0, 0.0])],
                           "d_real_mean": [seeded([0.5, 0.6])] * 3}, [FRAC, GAP])
    assert ties["high_quality_frac"].tied == [True, True, False]  # the two constants at 1.0 share the top mean
    assert ties["d_real_mean"].tied == [False] * 3


def test_a_single_seed_leaderboard_still_works():
    raw = {**RAW, "seeds": [0]}
    values = {"minimax": {"reverse_kl": [0.3]}, "nonsaturating": {"reverse_kl": [0.1]}, "hinge": {"reverse_kl": [0.1]}}
    suite = validate_suite(raw)
    board, metrics = leaderboard(trials(raw, values), suite, {})
    assert list(board["reverse_kl_tied"]) == [False, True, True]
    assert board["reverse_kl_p_vs_best"].isna().all() and board["reverse_kl_boot_low"].isna().all()
    assert list(board["reverse_kl_n"]) == [1, 1, 1]
    _, best = display_table(board, metrics, suite)
    assert list(best["reverse_kl ↓"]) == [False, True, True]


def test_metrics_outside_the_headline_do_not_dilute_its_correction():
    """A difference in a headline metric that survives Holm over the headline family stays found when many
    other metrics (throughput, diagnostics) are recorded: they form their own family."""
    rng = np.random.default_rng(1)
    raw = {**RAW, "seeds": list(range(4))}
    values = {loss: {"modes_covered": rng.normal(mu, 0.5, 4),
                     **{name: rng.normal(1, 0.1, 4) for name in ("samples_per_s", "steps_per_s", "wall_s",
                                                                  "peak_mem_mb", "equilibrium_gap", "value")}}
              for loss, mu in zip(LOSSES, (8.0, 8.0, 6.0))}
    suite = validate_suite(raw)
    datasets = {"ring8": {"primary_metric": "modes_covered"}}
    board, metrics = leaderboard(trials(raw, values), suite, datasets)
    assert list(board["modes_covered_tied"]) == [True, True, False]
    headline = [m.name for m in tie_families(metrics, suite, datasets)[0]]
    assert headline == ["modes_covered"]


def test_each_dataset_has_its_own_best():
    """8 of 8 ring modes is the best ring cell even when a grid cell covers 20 of 25: no ranking across data."""
    cells = [[8, 8, 8], [5, 5.2, 4.8], [20, 21, 19], [20, 20.5, 19.5]]
    samples = {"modes_covered": [seeded(values) for values in cells]}
    modes = METRICS.get("modes_covered")
    ties = ties_with_best(samples, [modes], groups=["ring8", "ring8", "grid25", "grid25"])["modes_covered"]
    assert ties.tied == [True, False, True, True]
    assert math.isnan(ties.p_vs_best[0]) and ties.p_vs_best[1] < 0.05
