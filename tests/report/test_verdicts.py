"""Verdict rules of a reproduction on planted summary statistics: equivalence (TOST), prediction intervals,
exact tests for tied values, Holm over a table's claims."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ganbench.references import Reported
from ganbench.report.verdicts import (AGREES, DIFFERS, FAILS, HOLDS, INCONCLUSIVE, Verdict, adjust_claims,
                                      compare_claim, threshold_claim, value_verdict)

RNG = np.random.default_rng(0)


def seeds(mean: float, sd: float, n: int = 6, seed: int = 0) -> np.ndarray:
    """n values with exactly this mean and sample standard deviation (planted summary statistics)."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def from_ci95(mean: float, half: float, n: int, seed: int = 0) -> np.ndarray:
    """n values whose mean ± 95% t half-width is exactly mean ± half (how a table prints them)."""
    return seeds(mean, half / stats.t.ppf(0.975, n - 1) * np.sqrt(n), n, seed)


def test_a_wide_interval_is_inconclusive_not_agrees():
    # the audit's case: PacGAN2 grid modes 16 ± 9.8 over 5 seeds "agreed" with the paper's 23.8 ± 0.7 (s.e., 10 runs)
    verdict = value_verdict(Reported(value=23.8, spread=0.7, n=10), from_ci95(16.0, 9.8, 5), margin=2.0)
    assert verdict.verdict == INCONCLUSIVE
    assert verdict.p > 0.05 and verdict.diff_low < -2 < 2 and verdict.min_detectable > 7.8
    assert "detects differences of" in verdict.note


def test_a_tight_equivalent_value_agrees_by_tost():
    verdict = value_verdict(Reported(value=23.8, spread=0.7, n=10), from_ci95(23.5, 0.5, 10), margin=2.0)
    assert verdict.verdict == AGREES and "TOST" in verdict.test
    assert -2 < verdict.diff_low < -0.3 < verdict.diff_high < 2
    # the 90% interval: d ± t(0.95, Welch df) * se, se from both sides' standard errors
    se = np.sqrt((0.5 / stats.t.ppf(0.975, 9)) ** 2 + 0.7 ** 2)
    assert verdict.diff_high - verdict.diff_low == pytest.approx(2 * se * stats.t.ppf(0.95, verdict_df(0.5, 0.7)), rel=1e-6)


def verdict_df(half: float, paper_se: float) -> float:
    va, vb = (half / stats.t.ppf(0.975, 9)) ** 2, paper_se ** 2
    return (va + vb) ** 2 / (va ** 2 / 9 + vb ** 2 / 9)


def test_without_a_margin_nothing_agrees():
    verdict = value_verdict(Reported(value=23.8, spread=0.7, n=10), from_ci95(23.8, 0.5, 10))
    assert verdict.verdict == INCONCLUSIVE and "no margin" in verdict.note


def test_ten_standard_errors_apart_differs():
    # the paper: 7.9 ± 0.1 s.e. over 10 runs; ours 6.9 with the same s.e.: 10 s.e. apart, outside a margin of 0.5
    ours = seeds(6.9, 0.1 * np.sqrt(6))
    verdict = value_verdict(Reported(value=7.9, spread=0.1, n=10), ours, margin=0.5)
    assert verdict.verdict == DIFFERS
    assert verdict.test.startswith("Welch")
    assert verdict.p < 1e-4  # 1.0 apart over a combined s.e. of sqrt(0.1^2 + 0.1^2): t = 7.1


def test_significant_but_inside_the_margin_is_not_differs():
    ours = seeds(7.7, 0.01, n=20)
    verdict = value_verdict(Reported(value=7.9, spread=0.01, n=10), ours, margin=0.5)
    assert verdict.p < 0.05
    assert verdict.verdict == AGREES  # 0.2 apart, tightly: equivalent within 0.5
    verdict = value_verdict(Reported(value=7.9, spread=0.01, n=10), seeds(7.5, 0.01, n=20), margin=0.3)
    assert verdict.verdict == DIFFERS  # 0.4 apart, outside 0.3


def test_a_one_run_paper_value_is_judged_by_a_prediction_interval():
    # R3GAN reports single runs: its 0.0781 is one draw, so our seeds' own spread enters once more
    ours = seeds(0.09, 0.02, n=6)
    verdict = value_verdict(Reported(value=0.0781), ours, margin=0.1)
    assert verdict.test.startswith("prediction interval")
    se = 0.02 * np.sqrt(1 + 1 / 6)
    assert verdict.diff_high - verdict.diff_low == pytest.approx(2 * stats.t.ppf(0.95, 5) * se)
    assert verdict.verdict == AGREES
    far = value_verdict(Reported(value=0.0781), seeds(0.5, 0.01), margin=0.1)
    assert far.verdict == DIFFERS


@pytest.mark.parametrize("ours", [[], [1.0], [np.nan, 3.0]])
def test_fewer_than_two_runs_is_inconclusive(ours):
    assert value_verdict(Reported(value=1.0, spread=0.1, n=10), ours).verdict == INCONCLUSIVE


def test_spread_kinds_give_the_same_standard_deviation():
    se = Reported(value=1, spread=0.2, n=9, spread_kind="se")
    sd = Reported(value=1, spread=0.6, n=9, spread_kind="sd")
    from scipy import stats
    ci = Reported(value=1, spread=0.2 * stats.t.ppf(0.975, 8), n=9, spread_kind="ci95")
    assert se.sd() == pytest.approx(0.6) and sd.sd() == pytest.approx(0.6) and ci.sd() == pytest.approx(0.6)


def test_comparison_claim_holds_fails_or_is_inconclusive():
    more, fewer = seeds(24.0, 0.7), seeds(17.0, 0.8, seed=1)
    assert compare_claim(more, fewer, "greater").verdict == HOLDS
    assert compare_claim(fewer, more, "greater").verdict == FAILS
    assert compare_claim(fewer, more, "less").verdict == HOLDS
    same_a, same_b = seeds(17.0, 1.0, seed=2), seeds(17.1, 1.0, seed=3)
    assert compare_claim(same_a, same_b, "greater").verdict == INCONCLUSIVE
    assert compare_claim([1.0], [0.0, 0.1], "greater").verdict == INCONCLUSIVE


def test_tied_discrete_values_get_a_finite_exact_p():
    # 8/8 modes on every seed against 6/6: no variance, yet an exact permutation test has a smallest p
    verdict = compare_claim([8.0] * 5, [6.0] * 5, "greater")
    assert verdict.verdict == HOLDS and "permutation" in verdict.test
    assert verdict.p == pytest.approx(1 / math.comb(10, 5)) and verdict.p > 0
    assert compare_claim([6.0] * 5, [8.0] * 5, "greater").verdict == FAILS
    assert compare_claim([6.0] * 3, [6.0] * 3, "greater").verdict == INCONCLUSIVE
    # three seeds a side cannot reach 5%: 1 / C(6, 3) = 0.05
    assert compare_claim([8.0] * 3, [6.0] * 3, "greater").verdict == INCONCLUSIVE


def test_holm_over_a_tables_claims():
    raw = [Verdict(HOLDS, "t", p, p_opposite=0.9) for p in (0.02, 0.02, 0.02)]
    adjusted = adjust_claims(raw)
    assert [v.p_adjusted for v in adjusted] == pytest.approx([0.06, 0.06, 0.06])
    assert {v.verdict for v in adjusted} == {INCONCLUSIVE}
    assert adjust_claims([Verdict(HOLDS, "t", 0.01, p_opposite=0.99), None])[0].verdict == HOLDS  # a family of 1


def test_threshold_claims():
    assert threshold_claim([1e-40, 1e-40], below=0.05, deterministic=True).verdict == HOLDS
    assert threshold_claim([1.38, 1.38], below=0.05, deterministic=True).verdict == FAILS
    assert np.isnan(threshold_claim([1.38, 1.38], above=0.05, deterministic=True).p)  # decided, not tested
    assert threshold_claim([np.inf, np.inf], above=0.999999, deterministic=True).verdict == HOLDS
    # identical runs, not declared deterministic: the exact sign test, whose p is 0.5^n, never 0
    tied_runs = threshold_claim([1.38] * 5, above=0.05)
    assert tied_runs.verdict == HOLDS and tied_runs.p == pytest.approx(0.5 ** 5)
    assert threshold_claim([1.38] * 2, above=0.05).verdict == INCONCLUSIVE  # 0.25: two runs cannot show it
    assert threshold_claim(seeds(0.02, 0.005), below=0.05).verdict == HOLDS
    assert threshold_claim(seeds(0.05, 0.03), below=0.05).verdict == INCONCLUSIVE
    assert threshold_claim([], below=0.05).verdict == INCONCLUSIVE
