"""Mode-collapse metrics on toy mixtures, as in VEEGAN (Srivastava et al. 2017, Sec. 5.1) and PacGAN (Lin et al. 2018, Sec. 5.1).

Protocol: draw 2,500 samples from G; assign each to its nearest mode centre; a sample is
*high quality* when it lies less than 3 standard deviations from that centre; a mode is
*covered* when at least ``min_count`` high-quality samples are assigned to it (1 in the
VEEGAN/PacGAN tables, adjustable through the suite's ``mode_min_count``).

Two reverse KLs, both KL(p || uniform over the n_modes) in nats (0 for perfect balance,
log(n_modes) for total collapse):

- ``reverse_kl``: p = the histogram of *all* samples over their nearest modes (this harness's
  own reading; a sample far from every mode still counts, for its nearest one).
- ``reverse_kl_hq``: the authors' definition. fjxmlzn/PacGAN:
  synthetic_data_experiments/PacGAN/pacgan/extensions.py, ``MetricLogger.do`` maps each sample to
  its nearest mode by the distance in std units (``dis = sqrt(sum(d^2 / variance))``) and adds it to
  ``detail_of_coverage`` only ``if min_dis < self.dis_thre`` (``dis_thre=3``); it then logs
  ``entropy_of_coverage = scipy.stats.entropy(detail_of_coverage / numpy.sum(detail_of_coverage))``,
  the Shannon entropy H(p) of the high-quality histogram, and KL(p || uniform) = log(n_modes) - H(p)
  exactly. No epsilon, no smoothing: an empty mode contributes 0 (0 log 0 = 0, as in scipy's entropy).
  With no high-quality sample at all the authors' code divides 0 by 0 and logs NaN; here that case
  is **log(n_modes)**, the largest value KL(p || uniform) takes, so a generator with nothing near a
  mode ranks no better than one collapsed onto a single mode (and a NaN would drop the trial from
  the seed means, flattering the cell). ``modes_covered`` is then 0, which says which case it is.

The mixtures here share one isotropic std, so the nearest mode in std units is the nearest in
Euclidean distance. Stacked digits (``ideal_sampler``): a perfect generator, sampling its 1,000
modes uniformly, still misses modes and is not balanced at a finite n; its expected values are the
reference for the stacked-digits columns.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.metrics.ideal import ideal_sampler  # noqa: F401  (torch-free: reports import it)

EVAL_SAMPLES = 2500  # VEEGAN/PacGAN draw 2,500 samples
HQ_STD = 3  # fjxmlzn/PacGAN: pacgan/extensions.py, MetricLogger(dis_thre=3)


def mode_metrics(samples: Tensor, centers: Tensor, std: float, min_count: int = 1) -> dict[str, float]:
    samples = samples.detach().flatten(1).double()
    dist = torch.cdist(samples, centers.double())
    nearest_dist, nearest = dist.min(dim=1)
    n_modes = centers.shape[0]
    high_quality = nearest_dist < HQ_STD * std  # strict, as the authors' `min_dis < self.dis_thre`
    hq_counts = torch.bincount(nearest[high_quality], minlength=n_modes)
    return {
        "modes_covered": float((hq_counts >= min_count).sum()),
        "high_quality_frac": float(high_quality.double().mean()),
        "reverse_kl": reverse_kl_to_uniform(nearest, n_modes),
        "reverse_kl_hq": reverse_kl_of_counts(hq_counts),
    }


def reverse_kl_to_uniform(assignments: Tensor, n_modes: int) -> float:
    """KL(p || uniform over n_modes) of the histogram of mode indices: 0 balanced, log(n_modes) collapsed."""
    p = torch.bincount(assignments, minlength=n_modes).double() / len(assignments)
    nonzero = p > 0
    return float((p[nonzero] * (p[nonzero] * n_modes).log()).sum())


def reverse_kl_of_counts(counts: Tensor) -> float:
    """KL(counts / total || uniform over len(counts)) = log(n_modes) - H: the authors' (PacGAN MetricLogger)
    reading of a histogram. An all-zero histogram (no high-quality sample) gives log(n_modes), see above."""
    n_modes = len(counts)
    total = float(counts.sum())
    if total == 0:
        return math.log(n_modes)
    p = counts.double() / total
    nonzero = p > 0
    return float((p[nonzero] * (p[nonzero] * n_modes).log()).sum())
