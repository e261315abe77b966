"""Mode-collapse metrics on toy mixtures, as in VEEGAN (Srivastava et al. 2017, Sec. 5.1) and PacGAN (Lin et al. 2018, Sec. 5.1).

Protocol: draw 2,500 samples from G; assign each to its nearest mode centre; a sample is
*high quality* when it lies within 3 standard deviations of that centre; a mode is
*covered* when at least ``min_count`` high-quality samples are assigned to it (1 in the
VEEGAN/PacGAN tables, adjustable through the suite's ``mode_min_count``); the reverse KL
is KL(p_G || uniform) with p_G the histogram of all samples over their nearest modes, so
it is 0 for perfect balance and log(n_modes) for total collapse.
"""
from __future__ import annotations

import torch
from torch import Tensor

EVAL_SAMPLES = 2500  # VEEGAN/PacGAN draw 2,500 samples


def mode_metrics(samples: Tensor, centers: Tensor, std: float, min_count: int = 1) -> dict[str, float]:
    samples = samples.detach().flatten(1).double()
    dist = torch.cdist(samples, centers.double())
    nearest_dist, nearest = dist.min(dim=1)
    n_modes = centers.shape[0]
    high_quality = nearest_dist <= 3 * std
    hq_counts = torch.bincount(nearest[high_quality], minlength=n_modes)
    return {
        "modes_covered": float((hq_counts >= min_count).sum()),
        "high_quality_frac": float(high_quality.double().mean()),
        "reverse_kl": reverse_kl_to_uniform(nearest, n_modes),
    }


def reverse_kl_to_uniform(assignments: Tensor, n_modes: int) -> float:
    """KL(p || uniform over n_modes) of the histogram of mode indices: 0 balanced, log(n_modes) collapsed."""
    p = torch.bincount(assignments, minlength=n_modes).double() / len(assignments)
    nonzero = p > 0
    return float((p[nonzero] * (p[nonzero] * n_modes).log()).sum())
