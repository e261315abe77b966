"""Verdict rules of a reproduction on planted summary statistics: agrees, differs, holds, fails."""
from __future__ import annotations

import numpy as np
import pytest

from ganbench.references import Reported
from ganbench.report.verdicts import (AGREES, DIFFERS, FAILS, HOLDS, INCONCLUSIVE, compare_claim, threshold_claim,
                                      value_verdict)

RNG = np.random.default_rng(0)


def seeds(mean: float, sd: float, n: int = 6, seed: int = 0) -> np.ndarray:
    """n values with exactly this mean and sample standard deviation (planted summary statistics)."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def test_value_inside_our_interval_agrees():
    ours = seeds(7.0, 0.5)
    verdict = value_verdict(Reported(value=7.2, spread=0.1, n=10), ours)
    assert verdict.verdict == AGREES
    assert "inside" in verdict.note


def test_ten_standard_errors_apart_differs():
    # the paper: 7.9 ± 0.1 s.e. over 10 runs; ours 6.9 with the same s.e.: 10 s.e. apart
    ours = seeds(6.9, 0.1 * np.sqrt(6))
    verdict = value_verdict(Reported(value=7.9, spread=0.1, n=10), ours)
    assert verdict.verdict == DIFFERS
    assert verdict.test.startswith("Welch")
    assert verdict.p < 1e-4  # 1.0 apart over a combined s.e. of sqrt(0.1^2 + 0.1^2): t = 7.1


def test_outside_the_interval_but_not_significant_agrees():
    # our interval is narrow (many tight seeds) but the paper's own spread is wide: Welch says not significant
    ours = seeds(5.0, 0.05, n=20)
    verdict = value_verdict(Reported(value=5.2, spread=0.5, n=5), ours)
    assert verdict.verdict == AGREES
    assert verdict.p > 0.05


def test_no_spread_in_the_paper_tests_against_its_value_as_exact():
    ours = seeds(0.5, 0.01)
    verdict = value_verdict(Reported(value=0.0781), ours)
    assert verdict.verdict == DIFFERS
    assert verdict.test.startswith("one-sample")


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


def test_constant_runs_decide_by_their_values():
    assert compare_claim([8.0] * 3, [6.0] * 3, "greater").verdict == HOLDS
    assert compare_claim([6.0] * 3, [8.0] * 3, "greater").verdict == FAILS
    assert compare_claim([6.0] * 3, [6.0] * 3, "greater").verdict == INCONCLUSIVE


def test_threshold_claims():
    assert threshold_claim([1e-40, 1e-40], below=0.05).verdict == HOLDS  # deterministic convergence
    assert threshold_claim([1.38, 1.38], below=0.05).verdict == FAILS
    assert threshold_claim([1.38, 1.38], above=0.05).verdict == HOLDS
    assert threshold_claim(seeds(0.02, 0.005), below=0.05).verdict == HOLDS
    assert threshold_claim(seeds(0.05, 0.03), below=0.05).verdict == INCONCLUSIVE
    assert threshold_claim([], below=0.05).verdict == INCONCLUSIVE


def test_a_wide_interval_agrees_weakly():
    verdict = value_verdict(Reported(value=23.8, spread=0.7, n=10), seeds(16.0, 8.0, n=5))
    assert verdict.verdict == AGREES and "weak" in verdict.note
    assert "weak" not in value_verdict(Reported(value=7.2, spread=0.1, n=10), seeds(7.0, 0.5)).note
