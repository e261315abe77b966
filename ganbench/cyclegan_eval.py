"""CycleGAN evaluation: the critics on both sides, cycle consistency and error against the known mapping."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ganbench.metrics.convergence import discriminator_metrics
from ganbench.metrics.images import cycle_error, translation_error

if TYPE_CHECKING:
    from ganbench.config import TrialConfig
    from ganbench.train import GAN


@torch.no_grad()
def evaluate_cycle(gan: "GAN", cfg: "TrialConfig", rng: torch.Generator) -> tuple[dict[str, float], torch.Tensor]:
    """Held-out domain-A digits translated to B; D_B's view of real vs translated B; the errors in pixels.

    Returns the metrics and the translated test images G_AB(A).
    """
    data = gan.data
    a = data.test_a[: cfg.eval_samples].to(gan.device)
    true_b = data.translate(a)
    _, real_b = data.sample_pair(len(a), rng)
    fake_b = gan.G.ab(a)
    metrics = discriminator_metrics(gan.loss, gan.D.b(real_b.to(gan.device)), gan.D.b(fake_b))
    metrics["cycle_error"] = cycle_error(gan.G.ab, gan.G.ba, a, true_b)
    metrics["translation_error"] = translation_error(gan.G.ab, a, true_b)
    return metrics, fake_b
