"""CycleGAN's updates (Zhu et al. 2017) inside Algorithm 1: k D-steps, then a G-step.

G holds the two translators ``ab`` and ``ba``, D the two critics ``a`` and ``b``. Any
registered loss plays the adversarial part on both sides; the G-step adds the
cycle-consistency L1 loss with weight lambda (``cycle_weight``) and the identity loss.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.accel import autocast
from ganbench.config import TrialConfig
from ganbench.models.cyclegan import cycle_l1, identity_l1
from ganbench.steps import clip_weights, penalized_d_loss, update

if TYPE_CHECKING:
    from ganbench.train import GAN


def draw_pair(gan: "GAN", n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """Unpaired batches of domain A and domain B."""
    a, b = gan.data.sample_pair(n, rng)
    return a.to(gan.device), b.to(gan.device)


def cycle_d_step(gan: "GAN", cfg: TrialConfig, rng: torch.Generator) -> Tensor:
    """Both critics learn real from translated: D_B on B vs G_AB(A), D_A on A vs G_BA(B)."""
    a, b = draw_pair(gan, cfg.batch_size, rng)
    with autocast(gan):
        with torch.no_grad():
            fake_b, fake_a = gan.G.ab(a), gan.G.ba(b)
        loss = penalized_d_loss(gan, cfg, gan.D.b, b, fake_b) + penalized_d_loss(gan, cfg, gan.D.a, a, fake_a)
    loss = update(gan.opt_d, loss)
    clip_weights(gan)
    return loss


def cycle_g_step(gan: "GAN", cfg: TrialConfig, rng: torch.Generator) -> Tensor:
    """Both translators fool their critic, map back to where they started, and keep the other domain fixed."""
    a, b = draw_pair(gan, cfg.batch_size, rng)
    G = gan.G
    with autocast(gan):
        fake_b, fake_a = G.ab(a), G.ba(b)  # each translation feeds both its critic and its cycle
        loss = gan.loss.g_loss(gan.D.b(fake_b)) + gan.loss.g_loss(gan.D.a(fake_a))
        loss = loss + cfg.cycle_weight * cycle_l1(G, a, b, fake_b, fake_a)
        if cfg.identity_weight:
            loss = loss + cfg.identity_weight * identity_l1(G, a, b)
    return update(gan.opt_g, loss)
