"""Simultaneous updates (``updates: simultaneous``), with consensus optimization (``consensus: gamma``).

Both players' gradients are taken at the current point, then both are applied: one joint step per
iteration (PacGAN's training; the "simultaneous gradient descent" of Mescheder et al.). Consensus
optimization (Mescheder et al. 2017, "The Numerics of GANs") adds gamma/2 ||v||^2 to both losses,
v = (dL_D/d theta_D, dL_G/d theta_G) the players' own gradients at that point (``updates.consensus``,
which the alternating updates add too).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganbench.config import TrialConfig
from ganbench.training.accel import autocast
from ganbench.training.updates import (DInput, Stream, clip_weights, conditioned, consensus, generator_loss,
                                       params_of, penalized_d_loss)

if TYPE_CHECKING:
    from ganbench.training.gan import GAN


def joint_update(gan: "GAN", cfg: TrialConfig, stream: Stream) -> tuple[Tensor, Tensor]:
    """One simultaneous step of D and G on one real batch and one z; returns (D loss, G loss) ([M] when stacked)."""
    n = cfg.batch_size * cfg.pac
    real, y = stream.real(gan, n)
    z = stream.z(n, cfg.z_dim)
    d_input = DInput(gan, cfg, stream)
    D = conditioned(gan.D, y)
    with autocast(gan.device, gan.amp):
        x_real, x_fake = d_input(real), d_input(conditioned(gan.G, y)(z))
        d_loss = penalized_d_loss(gan, cfg, D, x_real, x_fake)
        g_loss = generator_loss(gan, D, x_real, x_fake)
    d_params, g_params = params_of(gan.opt_d), params_of(gan.opt_g)
    if cfg.consensus:
        term = consensus(gan, cfg, d_loss, g_loss)
        d_loss, g_loss = d_loss + term, g_loss + term
    # stacked trials' losses are [M]: seeded with ones, each trial's weights get their own loss's gradient
    # (a trial's loss depends on its weights alone); for one trial's scalar loss this is the plain gradient
    d_grads = torch.autograd.grad(d_loss, d_params, torch.ones_like(d_loss), retain_graph=True)
    g_grads = torch.autograd.grad(g_loss, g_params, torch.ones_like(g_loss))
    for params, grads in ((d_params, d_grads), (g_params, g_grads)):
        for p, g in zip(params, grads):
            p.grad = g
    gan.opt_d.step()
    gan.opt_g.step()
    clip_weights(gan)
    return d_loss.detach(), g_loss.detach()
