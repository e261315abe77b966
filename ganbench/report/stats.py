"""Statistics for the tables: intervals over seeds, two-sample and paired tests, Holm's correction, power.

Every function takes the per-seed values of a cell (NaNs already dropped unless it says otherwise)
and is deterministic: the bootstrap draws from a fixed seed, so a rebuilt report is byte-identical.
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

#: scipy's default resample count; a few ms per interval even at 10 seeds
BOOT_RESAMPLES = 9999
BOOT_SEED = 0


def mean_ci95(values) -> tuple[float, float, int]:
    """(mean, half-width of the 95% t-interval, n) over the finite values; NaNs are missing data.

    The half-width is NaN for n < 2 (no spread to estimate) and 0 when all values agree.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    sem = x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(stats.t.ppf(0.975, n - 1) * sem), n


class Interval(NamedTuple):
    mean: float
    low: float
    high: float
    n: int
    clipped: bool  # a bound cut the t-interval: it is no longer mean ± a half-width


def bounded_ci95(values, lower: float = -math.inf, upper: float = math.inf) -> Interval:
    """The mean and its 95% Student-t interval (``mean_ci95``), clipped to the metric's range [lower, upper].

    The true mean lies in the range, so cutting off the part outside it loses no coverage: the clipped
    interval covers exactly as often as the t-interval, and never reads "-2 to 14 of 8 modes". (BCa bootstrap
    intervals also stay inside, but with 3-5 seeds they are much too narrow.) The range is widened to hold
    every value, so a declared bound that the data cross (rounding: a KL of log(n) + 1e-7) never excludes
    them. low = high = NaN for n < 2.
    """
    mean, hw, n = mean_ci95(values)
    if not math.isfinite(hw):
        return Interval(mean, math.nan, math.nan, n, False)
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    lower, upper = min(lower, float(x.min())), max(upper, float(x.max()))
    low, high = max(mean - hw, lower), min(mean + hw, upper)
    return Interval(mean, low, high, n, low != mean - hw or high != mean + hw)


def pvalue(test, *args, **kwargs) -> float:
    """``test(*args, **kwargs).pvalue`` from a scipy.stats test, without its warning on nearly constant samples
    (the p-value is still usable there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(test(*args, **kwargs).pvalue)


# --- bootstrap intervals ----------------------------------------------------------------


def bootstrap_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """(low, high) BCa bootstrap interval of the mean of the finite values.

    NaNs for n < 2 (nothing to resample); (c, c) when every value is c (BCa's acceleration is 0/0
    there). BCa also fails when the resampled means pile up on one side of the observed one (scipy
    then returns NaN with a warning); the percentile interval is used instead in that case.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.nan, math.nan
    if np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    return _bootstrap((x,), _mean, confidence, paired=True)


def bootstrap_diff_ci(x, y, paired: bool, confidence: float = 0.95) -> tuple[float, float]:
    """(low, high) BCa bootstrap interval of mean(y) - mean(x).

    Paired: x[i] and y[i] share a seed, and the per-seed differences are resampled (the same
    interval as ``bootstrap_ci(y - x)``). Unpaired: each sample is resampled on its own. NaNs
    with fewer than 2 values on a side; the difference itself when both sides are constant.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if paired:
        return bootstrap_ci(y - x, confidence)
    if len(x) < 2 or len(y) < 2:
        return math.nan, math.nan
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return float(y[0] - x[0]), float(y[0] - x[0])
    return _bootstrap((x, y), _mean_difference, confidence, paired=False)


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _mean_difference(x, y, axis=-1):
    return np.mean(y, axis=axis) - np.mean(x, axis=axis)


def _bootstrap(samples: tuple, statistic, confidence: float, paired: bool) -> tuple[float, float]:
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DegenerateDataWarning: BCa's NaN is caught below
            ci = stats.bootstrap(samples, statistic, method=method, paired=paired, confidence_level=confidence,
                                 n_resamples=BOOT_RESAMPLES, rng=np.random.default_rng(BOOT_SEED)).confidence_interval
        low, high = float(ci.low), float(ci.high)
        if math.isfinite(low) and math.isfinite(high):
            break
    return low, high


# --- tests ------------------------------------------------------------------------------


def welch(x, y) -> float:
    """Two-sided Welch t-test p-value (unequal variances).

    Zero spread on both sides has no t statistic: different constants count as p = 0, identical ones as p = 1.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return 1.0 if x[0] == y[0] else 0.0
    return pvalue(stats.ttest_ind, x, y, equal_var=False)


class PairedP(NamedTuple):
    t: float
    wilcoxon: float


def paired_tests(x, y) -> PairedP:
    """Two-sided p-values of the paired t-test and the Wilcoxon signed-rank test; x[i] and y[i] share a seed.

    Wilcoxon is exact (or, with tied or zero differences, an exhaustive permutation) up to 13 pairs, scipy's
    default; zero differences are dropped (``zero_method="wilcox"``), so its smallest p is 2 / 2^n: n >= 6
    pairs to reach 0.05. All differences zero: p = 1 for both. All equal and nonzero: t is undefined and
    counts as p = 0, as in ``welch``.
    """
    d = np.asarray(y, dtype=np.float64) - np.asarray(x, dtype=np.float64)
    if not d.any():
        return PairedP(1.0, 1.0)
    p_t = 0.0 if np.ptp(d) == 0 else pvalue(stats.ttest_rel, y, x)
    return PairedP(p_t, pvalue(stats.wilcoxon, d))


def wilcoxon_min_p(n_pairs: int) -> float:
    """The smallest two-sided p the exact signed-rank test can give with n nonzero differences."""
    return min(1.0, 2 / 2**n_pairs)


def pair_by_seed(a: pd.Series, b: pd.Series, min_pairs: int = 2,
                 same_seeds: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """The values of a and b (each indexed by seed) at their common seeds, in seed order; None when fewer
    than ``min_pairs`` seeds are common or a side repeats a seed (then no value is the seed's own).

    ``same_seeds``: pair only when both sides hold exactly the same seeds. Pairing part of the values would
    test another sample than the means shown beside the test; the unpaired tests use every value."""
    if not (a.index.is_unique and b.index.is_unique):
        return None
    if same_seeds and set(a.index) != set(b.index):
        return None
    common = sorted(set(a.index) & set(b.index))
    if len(common) < min_pairs:
        return None
    return a.loc[common].to_numpy(np.float64), b.loc[common].to_numpy(np.float64)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order; NaN (untested) stays NaN and does not count.

    The k-th smallest of m p-values is multiplied by m - k + 1, then made non-decreasing in that order
    and capped at 1; rejecting adjusted p < alpha holds the family-wise error rate at alpha.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


# --- spread and power -------------------------------------------------------------------


def pooled_sd(x, y) -> float:
    """Seed-to-seed standard deviation pooled over both samples: each around its own mean, n_a + n_b - 2
    degrees of freedom (NaN when a side is empty or there are fewer than 3 values in all)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dof = len(x) + len(y) - 2
    if len(x) == 0 or len(y) == 0 or dof < 1:
        return math.nan
    squares = ((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()
    return math.sqrt(squares / dof)


def seeds_for_power(diff: float, sd: float, paired: bool, alpha: float = 0.05, power: float = 0.8,
                    max_seeds: int = 100_000) -> float:
    """Seeds per side (pairs, if ``paired``) a two-sided t-test at ``alpha`` needs to find ``diff`` with ``power``.

    ``sd``: the spread the test sees, that of the per-seed differences when paired, the pooled sd of
    the two samples otherwise (equal seeds per side assumed). Power from the noncentral t
    (noncentrality d sqrt(n), or d sqrt(n/2) for two samples, d = |diff| / sd), for the smallest n
    found by doubling then bisection. inf when diff is 0 or more than ``max_seeds`` are needed,
    NaN when diff or sd is not finite, 2 (the least a t-test takes) when sd is 0.
    """
    if not (math.isfinite(diff) and math.isfinite(sd)):
        return math.nan
    if diff == 0:
        return math.inf
    if sd == 0:
        return 2.0
    effect = abs(diff) / sd

    def achieved(n: int) -> float:
        dof = n - 1 if paired else 2 * n - 2
        shift = effect * math.sqrt(n if paired else n / 2)
        crit = stats.t.ppf(1 - alpha / 2, dof)
        return float(stats.nct.sf(crit, dof, shift) + stats.nct.cdf(-crit, dof, shift))

    low, high = 1, 2  # n = 1 has no degrees of freedom: never enough
    while achieved(high) < power:
        low, high = high, 2 * high
        if high > max_seeds:
            return math.inf
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if achieved(mid) >= power else (mid, high)
    return float(high)
