"""CycleGAN (Zhu et al. 2017) inside Algorithm 1: its D and G updates, and its evaluation.

G holds the two translators ``ab`` and ``ba``, D the two critics ``a`` and ``b``. Any
registered loss plays the adversarial part on both sides; the G update adds the
cycle-consistency L1 loss with weight lambda (``cycle_weight``) and the identity loss.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.config import TrialConfig
from ganbench.metrics.convergence import discriminator_metrics
from ganbench.metrics.images import cycle_error, translation_error
from ganbench.models.cyclegan import cycle_l1, identity_l1
from ganbench.training.accel import autocast
from ganbench.training.updates import Stream, clip_weights, penalized_d_loss, step_optimizer

if TYPE_CHECKING:
    from ganbench.training.gan import GAN


def cycle_d_update(gan: "GAN", cfg: TrialConfig, stream: Stream) -> Tensor:
    """Both critics learn real from translated: D_B on B vs G_AB(A), D_A on A vs G_BA(B)."""
    a, b = stream.pair(gan, cfg.batch_size)
    with autocast(gan.device, gan.amp):
        with torch.no_grad():
            fake_b, fake_a = gan.G.ab(a), gan.G.ba(b)
        loss = penalized_d_loss(gan, cfg, gan.D.b, b, fake_b) + penalized_d_loss(gan, cfg, gan.D.a, a, fake_a)
    loss = step_optimizer(gan.opt_d, loss)
    clip_weights(gan)
    return loss


def cycle_g_update(gan: "GAN", cfg: TrialConfig, stream: Stream) -> Tensor:
    """Both translators fool their critic, map back to where they started, and keep the other domain fixed."""
    a, b = stream.pair(gan, cfg.batch_size)
    G = gan.G
    with autocast(gan.device, gan.amp):
        fake_b, fake_a = G.ab(a), G.ba(b)  # each translation feeds both its critic and its cycle
        real_b, real_a = (gan.D.b(b), gan.D.a(a)) if gan.loss.g_uses_real else (None, None)  # relativistic losses
        loss = gan.loss.g_loss(gan.D.b(fake_b), real_b) + gan.loss.g_loss(gan.D.a(fake_a), real_a)
        loss = loss + cfg.cycle_weight * cycle_l1(G, a, b, fake_b, fake_a)
        if cfg.identity_weight:
            loss = loss + cfg.identity_weight * identity_l1(G, a, b)
    return step_optimizer(gan.opt_g, loss)


@torch.no_grad()
def evaluate_cycle(gan: "GAN", cfg: TrialConfig, rng: torch.Generator) -> tuple[dict[str, float], Tensor]:
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
