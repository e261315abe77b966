"""Verdicts of a reproduction: is our number the paper's, does the paper's claim hold here?

A verdict word means what a reviewer reads into it (alpha = 0.05 throughout).

Values (ours per seed against the paper's value ± spread over n runs), judged on d = ours - paper:

- ``agrees``: equivalence is shown: the 90% interval of d lies inside ± the reference's margin for that
  metric (two one-sided tests at 5%, TOST). Without a declared margin nothing can agree;
- ``differs``: d is significant (two-sided, 5%) and its estimate lies outside the margin;
- ``inconclusive``: neither; the note gives the smallest difference this run could detect at 80% power.

The standard error of d: Welch from summary statistics when the paper's spread and run count give its
standard deviation; when the paper reports one run (or no spread over runs), its value is one draw of a
run, so d is judged through a prediction interval: se = s * sqrt(1 + 1/n) from our seeds' s.

Claims (a one-sided statement about cells of the protocol suite):

- comparisons: an exact permutation test of the difference of means for discrete or tied values (modes
  covered), Welch's t-test for continuous ones; thresholds: an exact sign test for tied values, a one-sample
  t-test otherwise. No test ever gives p = 0 from zero variance: an exact test's smallest p is set by
  the number of runs.
- ``holds`` when the claimed direction is significant after Holm's correction over the claims of the
  table, ``fails`` when the opposite direction is, ``inconclusive`` otherwise.
- a ``deterministic`` claim (a function of the config, e.g. a Jacobian's spectral radius) is decided by
  its value, without a test or a p-value.
- a coverage claim whose cells are below the table's quality floor is ``inconclusive (low quality)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
from scipy import stats

from ganbench.references import Reported
from ganbench.report.stats import holm, pvalue

__all__ = ["AGREES", "DIFFERS", "FAILS", "HOLDS", "INCONCLUSIVE", "LOW_QUALITY", "Verdict", "adjust_claims",
           "compare_claim", "threshold_claim", "value_verdict"]

AGREES, DIFFERS, INCONCLUSIVE, HOLDS, FAILS = "agrees", "differs", "inconclusive", "holds", "fails"
LOW_QUALITY = "inconclusive (low quality)"
POWER = 0.8
#: exact permutation tests enumerate up to this many splits; beyond, a seeded Monte Carlo of 99,999
EXACT_SPLITS = 200_000


@dataclass(frozen=True)
class Verdict:
    verdict: str
    test: str
    p: float = math.nan
    note: str = ""
    #: values: the margin and the 90% interval of ours - paper; the least difference detectable at 80% power
    margin: float = math.nan
    diff_low: float = math.nan
    diff_high: float = math.nan
    min_detectable: float = math.nan
    #: claims: the one-sided p of the opposite direction, and p after Holm's correction over the table
    p_opposite: float = math.nan
    p_adjusted: float = math.nan


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    return x[np.isfinite(x)]


def tied(*samples: np.ndarray) -> bool:
    """Discrete or tied data (integer counts, repeated values): where t-tests' normal theory breaks."""
    x = np.concatenate(samples)
    return bool(np.all(x == np.round(x)) or len(np.unique(x)) < len(x))


# --- values ---------------------------------------------------------------------------


def _difference_se(paper: Reported, x: np.ndarray) -> tuple[float, float, str] | str:
    """(se of ours - paper, degrees of freedom, the test's name), or why there is none."""
    n, s = len(x), float(x.std(ddof=1))
    paper_sd = paper.sd()
    if paper_sd is not None and paper.n is not None and paper.n >= 2:
        va, vb = s * s / n, paper_sd ** 2 / paper.n
        if va + vb == 0:
            return "no spread on either side"
        df = (va + vb) ** 2 / ((va * va / (n - 1) if va else 0.0) + vb * vb / (paper.n - 1))
        return math.sqrt(va + vb), df, "Welch t (summary statistics)"
    if s == 0:
        return "the paper reports one run and ours have no spread: no prediction interval"
    return s * math.sqrt(1 + 1 / n), n - 1, "prediction interval (the paper's value as one run)"


def value_verdict(paper: Reported, ours, margin: Optional[float] = None, alpha: float = 0.05) -> Verdict:
    """Our per-seed values of one metric against the paper's reported number, with its equivalence margin."""
    x = _finite(ours)
    m = math.nan if margin is None else float(margin)
    if len(x) < 2:
        return Verdict(INCONCLUSIVE, "-", margin=m, note="no values" if len(x) == 0 else "one run: no interval")
    d = float(x.mean()) - paper.value
    se = _difference_se(paper, x)
    if isinstance(se, str):
        if margin is None:
            return Verdict(INCONCLUSIVE, "-", margin=m, note=se)
        word = AGREES if abs(d) <= m else DIFFERS
        return Verdict(word, "exact values", margin=m, diff_low=d, diff_high=d,
                       note=f"{se}: the values decide (|ours - paper| = {abs(d):.3g}, margin {m:g})")
    se, df, test = se
    p = 2 * float(stats.t.sf(abs(d) / se, df))
    t90 = float(stats.t.ppf(1 - alpha, df))
    low, high = d - t90 * se, d + t90 * se
    detectable = (float(stats.t.ppf(1 - alpha / 2, df)) + float(stats.t.ppf(POWER, df))) * se
    common = dict(margin=m, diff_low=low, diff_high=high, min_detectable=detectable)
    if margin is not None:
        p_tost = max(float(stats.t.sf((d + m) / se, df)), float(stats.t.cdf((d - m) / se, df)))
        if p_tost < alpha:
            return Verdict(AGREES, test + " + TOST", p_tost, f"90% interval of ours - paper [{low:.3g}, {high:.3g}] "
                           f"inside ± {m:g}", **common)
        if p < alpha and abs(d) > m:
            return Verdict(DIFFERS, test, p, f"ours - paper = {d:.3g}, outside ± {m:g}", **common)
    why = ("no margin declared: agreement cannot be shown" if margin is None
           else "significant but within the margin" if p < alpha
           else f"neither equivalent within ± {m:g} nor different")
    if margin is None and p < alpha:
        return Verdict(DIFFERS, test, p, f"ours - paper = {d:.3g} (no margin declared)", **common)
    return Verdict(INCONCLUSIVE, test, p, f"{why}; this run detects differences of {detectable:.3g} at 80% power",
                   **common)


# --- claims ---------------------------------------------------------------------------


def _decide(test: str, p: float, q: float, alpha: float, note: str = "") -> Verdict:
    """Holds when the claimed direction's p is below alpha, fails when the opposite one's is."""
    if p < alpha:
        word = HOLDS
    elif q < alpha:
        word = FAILS
        note = note or f"significant the other way (p = {q:.3g})"
    else:
        word = INCONCLUSIVE
    return Verdict(word, test, p, note, p_opposite=q)


def _permutation(x: np.ndarray, y: np.ndarray, alternative: str) -> tuple[float, str]:
    splits = math.comb(len(x) + len(y), len(x))
    exact = splits <= EXACT_SPLITS
    result = stats.permutation_test((x, y), lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
                                    permutation_type="independent", alternative=alternative, vectorized=True,
                                    n_resamples=math.inf if exact else 99_999, rng=np.random.default_rng(0))
    return float(result.pvalue), "exact" if exact else "Monte Carlo"


def compare_claim(a, b, direction: str, alpha: float = 0.05) -> Verdict:
    """Claim: mean(a) is ``direction`` ('greater' or 'less') than mean(b), over seeds."""
    x, y = _finite(a), _finite(b)
    if len(x) < 2 or len(y) < 2:
        return Verdict(INCONCLUSIVE, "-", note=f"needs 2 runs a side, has {len(x)} and {len(y)}")
    opposite = "less" if direction == "greater" else "greater"
    if tied(x, y):
        (p, kind), (q, _) = _permutation(x, y, direction), _permutation(x, y, opposite)
        return _decide(f"permutation test ({kind}), one-sided", p, q, alpha)
    p = pvalue(stats.ttest_ind, x, y, equal_var=False, alternative=direction)
    q = pvalue(stats.ttest_ind, x, y, equal_var=False, alternative=opposite)
    return _decide("Welch t, one-sided", p, q, alpha)


def threshold_claim(values, below: Optional[float] = None, above: Optional[float] = None,
                    alpha: float = 0.05, deterministic: bool = False) -> Verdict:
    """Claim: the metric ends below ``below`` (or above ``above``), over seeds."""
    x = np.asarray(values, dtype=np.float64)
    # a deterministic quantity may be infinite (an update that moves the equilibrium: radius +inf), still a value
    x = x[~np.isnan(x)] if deterministic else x[np.isfinite(x)]
    threshold, direction = (below, "less") if below is not None else (above, "greater")
    if len(x) == 0:
        return Verdict(INCONCLUSIVE, "-", note="no values")
    sign = -1 if direction == "less" else 1
    side = sign * (x - threshold)  # > 0: on the claimed side
    if deterministic:
        spread = "" if len(np.unique(x)) == 1 else f"; values differ between runs ({x.min():.6g} to {x.max():.6g})"
        word = HOLDS if np.all(side > 0) else FAILS if np.all(side <= 0) else INCONCLUSIVE
        return Verdict(word, "deterministic value (a function of the config)", note=f"{x[0]:.6g}{spread}")
    if tied(x) or x.std() == 0:
        k, n = int((side > 0).sum()), int((side != 0).sum())
        if n == 0:
            return Verdict(INCONCLUSIVE, "sign test", note="every run sits on the threshold")
        p = float(stats.binomtest(k, n, 0.5, alternative="greater").pvalue)
        q = float(stats.binomtest(n - k, n, 0.5, alternative="greater").pvalue)
        return _decide("exact sign test, one-sided", p, q, alpha, f"{k} of {n} runs on the claimed side")
    opposite = "greater" if direction == "less" else "less"
    p = pvalue(stats.ttest_1samp, x, threshold, alternative=direction)
    q = pvalue(stats.ttest_1samp, x, threshold, alternative=opposite)
    return _decide("one-sample t vs threshold, one-sided", p, q, alpha)


def adjust_claims(verdicts: Sequence[Optional[Verdict]], alpha: float = 0.05) -> list[Optional[Verdict]]:
    """Holm's correction over one table's tested claims: each is re-decided on its adjusted p-values
    (the claimed and the opposite direction each corrected over the family); untested ones stay."""
    p = np.array([v.p if v is not None else math.nan for v in verdicts])
    q = np.array([v.p_opposite if v is not None else math.nan for v in verdicts])
    tested = np.isfinite(p) & np.isfinite(q)
    if tested.sum() == 0:
        return list(verdicts)
    p_adj, q_adj = holm(np.where(tested, p, math.nan)), holm(np.where(tested, q, math.nan))
    family = int(tested.sum())
    out: list[Optional[Verdict]] = []
    for v, ok, pa, qa in zip(verdicts, tested, p_adj, q_adj):
        if v is None or not ok:
            out.append(v)
            continue
        decided = _decide(v.test, pa, qa, alpha)
        note = "; ".join(filter(None, [v.note if decided.verdict == v.verdict else decided.note,
                                       f"Holm over {family} claims: p {v.p:.3g} -> {pa:.3g}" if family > 1 else ""]))
        out.append(replace(v, verdict=decided.verdict, p_adjusted=float(pa), note=note))
    return out
