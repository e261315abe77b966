"""Summary statistics for tables: mean and 95% Student-t interval over seeds; p-values without scipy's noise."""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats


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


def pvalue(test, *args, **kwargs) -> float:
    """``test(*args, **kwargs).pvalue`` from a scipy.stats test, without its warning on nearly constant samples
    (the p-value is still usable there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(test(*args, **kwargs).pvalue)
