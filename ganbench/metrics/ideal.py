"""The sampling-limited ideal of the mode metrics: what a perfect generator scores from n draws (numpy and scipy
only, so reports read it without torch; ``metrics.modes`` re-exports it beside the metrics it is the ideal of)."""
from __future__ import annotations

import math


def ideal_sampler(n_samples: int, n_modes: int = 1000) -> tuple[float, float]:
    """(expected modes covered, expected reverse KL) of a *perfect* generator from ``n_samples`` draws.

    Each mode is hit with probability 1/K per draw (K = ``n_modes``), so its count is Binomial(n, 1/K):
    modes = K (1 - (1 - 1/K)^n) (~ K (1 - e^(-n/K)); 918.0 of 1,000 at n = 2,500), and
    E KL(p^ || uniform) = K * sum_{c >= 1} P(Binom(n, 1/K) = c) (c/n) log(c K / n), exact (about
    (K - 1) / (2n) for n >> K). A measured value near these is as good as sampling allows at that n.
    """
    import numpy as np
    from scipy import stats

    n, k = int(n_samples), int(n_modes)
    if n < 1 or k < 1:
        raise ValueError(f"ideal_sampler needs n_samples >= 1 and n_modes >= 1, got {n_samples}, {n_modes}")
    modes = k * -math.expm1(n * math.log1p(-1 / k)) if k > 1 else 1.0
    c = np.arange(1, n + 1, dtype=np.float64)
    pmf = stats.binom.pmf(c, n, 1 / k)
    kl = float(k * np.sum(pmf * (c / n) * np.log(c * k / n)))
    return float(modes), max(kl, 0.0)
