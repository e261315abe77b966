"""Verdicts of a reproduction: does our number agree with the paper's, does the paper's claim hold here?

A paper reports a value ± a spread over n runs; we have one value per seed. Rules (alpha = 0.05):

- ``agrees``: the paper's value lies inside our 95% t-interval, or the difference is not significant
  (Welch's test from summary statistics when the paper's spread and run count give its standard
  deviation; else a one-sample t-test against the paper's value as exact);
- ``differs``: outside our interval and significant;
- ``inconclusive``: no test possible (fewer than 2 of our runs, or no values).

An ``agrees`` from an interval wider than a fifth of the paper's value is noted as weak: with few
seeds a wide interval agrees with almost anything.

A claim is a one-sided test in the direction the paper states: ``holds`` when that test is
significant, ``fails`` when the test in the opposite direction is, ``inconclusive`` otherwise.
Comparisons use Welch's t-test (unequal variances), thresholds a one-sample t-test against the
threshold. Runs that agree exactly (deterministic dynamics, e.g. the Dirac-GAN without noise) have no
variance to test: equal samples decide by their values alone (p = 0 or 1), and the test says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from ganbench.references import Reported
from ganbench.report.stats import mean_ci95, pvalue

__all__ = ["AGREES", "DIFFERS", "FAILS", "HOLDS", "INCONCLUSIVE", "Verdict", "compare_claim", "threshold_claim",
           "value_verdict"]

AGREES, DIFFERS, INCONCLUSIVE, HOLDS, FAILS = "agrees", "differs", "inconclusive", "holds", "fails"
#: an `agrees` whose 95% half-width exceeds this fraction of the paper's value is noted as weak
WIDE = 0.2


@dataclass(frozen=True)
class Verdict:
    verdict: str
    test: str
    p: float = math.nan
    note: str = ""


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return x[np.isfinite(x)]


def value_verdict(paper: Reported, ours, alpha: float = 0.05) -> Verdict:
    """Our per-seed values of one metric against the paper's reported number."""
    x = _finite(ours)
    mean, half, n = mean_ci95(x)
    if n < 2:
        why = "no values" if n == 0 else "one run: no interval and no test"
        return Verdict(INCONCLUSIVE, "-", note=why)
    within = abs(mean - paper.value) <= half
    sd, paper_sd = float(x.std(ddof=1)), paper.sd()
    if paper_sd is not None and paper.n is not None and paper.n >= 2:
        test = "Welch t (summary statistics)"
        if sd == 0 and paper_sd == 0:
            p = 1.0 if mean == paper.value else 0.0
        else:
            p = pvalue(stats.ttest_ind_from_stats, mean, sd, n, paper.value, paper_sd, paper.n, equal_var=False)
    else:
        test = "one-sample t (paper value taken as exact)"
        p = (1.0 if mean == paper.value else 0.0) if sd == 0 else pvalue(stats.ttest_1samp, x, paper.value)
    # an interval wider than a fifth of the value agrees with almost anything: say so beside the verdict
    weak = f"weak: our interval is ± {half:.3g} ({n} runs)" if half > WIDE * abs(paper.value) else ""
    if within:
        return Verdict(AGREES, test, p, "; ".join(filter(None, ["the paper's value is inside our 95% interval", weak])))
    return Verdict(DIFFERS, test, p) if p < alpha else Verdict(AGREES, test, p, weak)


def _one_sided(test_name: str, p_claimed: float, p_opposite: float, alpha: float, note: str = "") -> Verdict:
    if p_claimed < alpha:
        return Verdict(HOLDS, test_name, p_claimed, note)
    if p_opposite < alpha:
        return Verdict(FAILS, test_name, p_claimed, note or f"significant the other way (p = {p_opposite:.3g})")
    return Verdict(INCONCLUSIVE, test_name, p_claimed, note)


def compare_claim(a, b, direction: str, alpha: float = 0.05) -> Verdict:
    """Claim: mean(a) is ``direction`` ('greater' or 'less') than mean(b), over seeds."""
    x, y = _finite(a), _finite(b)
    if len(x) < 2 or len(y) < 2:
        return Verdict(INCONCLUSIVE, "-", note=f"needs 2 runs a side, has {len(x)} and {len(y)}")
    sign = 1 if direction == "greater" else -1
    if x.std() == 0 and y.std() == 0:  # no spread: the constants decide
        d = sign * (x[0] - y[0])
        return _one_sided("constant runs (no variance)", 0.0 if d > 0 else 1.0, 0.0 if d < 0 else 1.0, alpha)
    opposite = "less" if direction == "greater" else "greater"
    p = pvalue(stats.ttest_ind, x, y, equal_var=False, alternative=direction)
    q = pvalue(stats.ttest_ind, x, y, equal_var=False, alternative=opposite)
    return _one_sided("Welch t, one-sided", p, q, alpha)


def threshold_claim(values, below: Optional[float] = None, above: Optional[float] = None,
                    alpha: float = 0.05) -> Verdict:
    """Claim: the metric ends below ``below`` (or above ``above``), over seeds."""
    x = _finite(values)
    threshold, direction = (below, "less") if below is not None else (above, "greater")
    if len(x) == 0:
        return Verdict(INCONCLUSIVE, "-", note="no values")
    sign = -1 if direction == "less" else 1
    if x.std() == 0:  # deterministic dynamics (or one run): the value decides
        d = sign * (x[0] - threshold)
        note = "one run" if len(x) == 1 else f"{len(x)} runs, identical"
        return _one_sided("value vs threshold (no variance)", 0.0 if d > 0 else 1.0, 0.0 if d < 0 else 1.0,
                          alpha, note)
    opposite = "greater" if direction == "less" else "less"
    p = pvalue(stats.ttest_1samp, x, threshold, alternative=direction)
    q = pvalue(stats.ttest_1samp, x, threshold, alternative=opposite)
    return _one_sided("one-sample t vs threshold, one-sided", p, q, alpha)
