"""Unrolled GAN (Metz et al. 2017): G's loss is taken against D as it would be n updates ahead.

The n updates are plain SGD steps (D's own loss, learning rate ``lr_d``) on a functional copy of
D's parameters, kept in the autograd graph: G's gradient sees how D would answer its samples.
D itself is stepped as usual by its own update; its running statistics are not moved by the
look-ahead (buffers are copied). Penalties and weight clipping are left out of the look-ahead.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor
from torch.func import functional_call

from ganbench.config import TrialConfig
from ganbench.training.accel import autocast

if TYPE_CHECKING:
    from ganbench.training.gan import GAN


def unrolled_critic(gan: "GAN", cfg: TrialConfig, stream, d_input: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """D after ``cfg.unroll_steps`` differentiable SGD steps, as a function of its input.

    Each look-ahead step draws its own real batch and z from the trial's stream (after the G
    update's own z), as a D update would.
    """
    D = gan.D
    params = dict(D.named_parameters())
    buffers = {name: b.clone() for name, b in D.named_buffers()}
    n = cfg.batch_size * cfg.pac
    for _ in range(cfg.unroll_steps):
        real, _ = stream.real(gan, n)
        z = stream.z(n, cfg.z_dim)
        with autocast(gan.device, gan.amp):
            out_real = functional_call(D, (params, buffers), (d_input(real),))
            out_fake = functional_call(D, (params, buffers), (d_input(gan.G(z)),))
            loss = gan.loss.d_loss(out_real, out_fake)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {name: p - cfg.lr_d * g for (name, p), g in zip(params.items(), grads)}
    return lambda x: functional_call(D, (params, buffers), (x,))
