"""report.stats: bootstrap intervals, paired tests, Holm's correction and the seeds a test needs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ganbench.report.stats import (bootstrap_ci, bootstrap_diff_ci, holm, pair_by_seed, paired_tests, pooled_sd,
                                   seeds_for_power, welch)


def test_holm_on_a_textbook_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_skips_untested_and_caps_at_one():
    adjusted = holm([math.nan, 0.01, 0.6, 0.7])
    assert math.isnan(adjusted[0])  # untested: not counted in m = 3
    assert adjusted[1:] == pytest.approx([0.03, 1.0, 1.0])  # 0.6 x 2 capped; 0.7 x 1 raised to the running max
    assert holm([]).shape == (0,)


def test_holm_is_never_below_the_raw_p_nor_above_bonferroni():
    p = np.random.default_rng(0).uniform(size=30) ** 3
    adjusted = holm(p)
    assert (adjusted >= p).all() and (adjusted <= np.minimum(p * len(p), 1)).all()


def test_seeds_for_power_matches_the_textbook_sample_sizes():
    # Cohen (1988): d = 0.5 needs 64 per group, d = 1 needs 17, two-sided alpha 0.05, power 0.8
    assert seeds_for_power(0.5, 1.0, paired=False) == 64
    assert seeds_for_power(1.0, 1.0, paired=False) == 17
    assert seeds_for_power(-2.0, 2.0, paired=False) == 17  # only |diff| / sd counts
    # one-sample t on the differences, d = 1: 9.94 -> 10 pairs
    assert seeds_for_power(1.0, 1.0, paired=True) == 10


def test_seeds_for_power_gives_the_promised_power_in_simulation():
    n = int(seeds_for_power(1.0, 1.0, paired=False))
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, (4000, n)), rng.normal(1, 1, (4000, n))
    found = (stats.ttest_ind(x, y, axis=1).pvalue < 0.05).mean()
    assert 0.78 <= found <= 0.84


def test_seeds_for_power_without_an_effect():
    assert seeds_for_power(0.0, 1.0, paired=True) == math.inf
    assert seeds_for_power(1e-4, 1.0, paired=False) == math.inf  # more than any sweep could run
    assert math.isnan(seeds_for_power(1.0, math.nan, paired=False))
    assert seeds_for_power(0.3, 0.0, paired=True) == 2  # no spread: the smallest t-test finds it


def test_bootstrap_interval_holds_the_mean_and_is_deterministic():
    x = np.random.default_rng(3).normal(0.5, 0.1, 6)
    low, high = bootstrap_ci(x)
    assert low < x.mean() < high
    assert bootstrap_ci(x) == (low, high)
    t_half = stats.t.ppf(0.975, 5) * x.std(ddof=1) / math.sqrt(6)
    assert high - low < 2 * t_half  # the bootstrap ignores the t tails: narrower with 6 seeds


def test_bootstrap_of_degenerate_samples():
    assert all(math.isnan(v) for v in bootstrap_ci([0.4]))
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([0.25, 0.25, 0.25]) == (0.25, 0.25)
    assert bootstrap_ci([1.0, math.nan, 3.0]) == bootstrap_ci([1.0, 3.0])  # NaN is missing data


def test_bootstrap_of_a_difference():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0.2, 0.1, 6), rng.normal(0.8, 0.1, 6)
    assert bootstrap_diff_ci(x, y, paired=True) == bootstrap_ci(y - x)
    low, high = bootstrap_diff_ci(x, y, paired=False)
    assert low < y.mean() - x.mean() < high and low > 0
    assert bootstrap_diff_ci([1.0, 1.0], [3.0, 3.0], paired=False) == (2.0, 2.0)
    assert all(math.isnan(v) for v in bootstrap_diff_ci([1.0], [2.0, 3.0], paired=False))


def test_paired_tests_match_scipy():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 8)
    y = x + rng.normal(0.5, 0.3, 8)
    p = paired_tests(x, y)
    assert p.t == pytest.approx(stats.ttest_rel(x, y).pvalue)
    assert p.wilcoxon == pytest.approx(stats.wilcoxon(x, y).pvalue)


def test_paired_tests_exact_and_degenerate():
    x = np.arange(6.0)
    # six positive differences: the exact signed-rank p is 2 / 2^6; a constant shift has no t statistic
    assert paired_tests(x, x + 1) == (0.0, pytest.approx(2 / 64))
    assert paired_tests(x, x) == (1.0, 1.0)


def test_pairing_uses_only_common_seeds():
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=[0, 1, 2, 3])
    b = pd.Series([30.0, 20.0, 50.0], index=[2, 1, 5])
    x, y = pair_by_seed(a, b)
    assert list(x) == [2.0, 3.0] and list(y) == [20.0, 30.0]  # seeds 1, 2
    assert pair_by_seed(a, b, min_pairs=3) is None
    assert pair_by_seed(a, pd.Series([1.0, 2.0], index=[0, 0])) is None  # a repeated seed is no pair


def test_welch_and_pooled_sd():
    x, y = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0]
    assert welch(x, y) == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue)
    assert welch([1.0, 1.0], [2.0, 2.0]) == 0.0 and welch([1.0, 1.0], [1.0, 1.0]) == 1.0
    # sums of squares 2 and 20 over 3 + 4 - 2 degrees of freedom
    assert pooled_sd(x, y) == pytest.approx(math.sqrt(22 / 5))
    assert math.isnan(pooled_sd([], y))
