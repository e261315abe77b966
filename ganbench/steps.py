"""The updates of Algorithm 1: one D step and one G step, for unconditional and conditional pairs.

Each ``*_step(gan, cfg, rng)`` draws its own minibatch from the training stream, so the loop
in ``train`` stays the same for every family (CycleGAN's steps live in ``cyclegan_steps``).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn

from ganbench.accel import autocast
from ganbench.config import TrialConfig
from ganbench.losses import PENALTIES, gradient_penalty

if TYPE_CHECKING:
    from ganbench.train import GAN


def conditioned(net: nn.Module, y: Tensor | None) -> Callable[[Tensor], Tensor]:
    """The network as a function of its input alone: labels bound when it is conditional."""
    return net if y is None else functools.partial(net, y=y)


def draw_real(gan: "GAN", n: int, rng: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """A real minibatch, with its labels when the models are conditional.

    Every draw happens on ``rng``'s device (the trial's, in training), so no batch is copied
    from the host per step; evaluation draws on the CPU and moves its batch once.
    """
    if not gan.n_classes:
        return gan.data.sample(n, rng).to(gan.device), None
    x, y = gan.data.sample_labeled(n, rng)
    return x.to(gan.device), y.to(gan.device)


def draw_z(n: int, z_dim: int, rng: torch.Generator) -> Tensor:
    return torch.randn(n, z_dim, generator=rng, device=rng.device)


def draw_labels(gan: "GAN", n: int, rng: torch.Generator) -> Tensor | None:
    """Uniform class labels for G's samples (None when unconditional)."""
    if not gan.n_classes:
        return None
    return torch.randint(gan.n_classes, (n,), generator=rng, device=rng.device).to(gan.device)


def penalized_d_loss(gan: "GAN", cfg: TrialConfig, D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """D's loss on one real and one fake batch plus the gradient penalty and R1/R2 when set."""
    loss = gan.loss.d_loss(D(real), D(fake))
    if gan.loss.gp_weight:
        loss = loss + gan.loss.gp_weight * gradient_penalty(D, real, fake)
    for name, weight in (("r1", cfg.r1), ("r2", cfg.r2)):
        if weight:
            loss = loss + weight * PENALTIES[name](D, real, fake)
    return loss


def update(opt: torch.optim.Optimizer, loss: Tensor) -> Tensor:
    """One optimizer step on ``loss``, differentiating only that optimizer's parameters: a G step
    backpropagates through D to its input but computes no D weight gradients (1/6 fewer FLOPs
    in an MLP G step), and leaves D's gradients from its own step untouched."""
    opt.zero_grad(set_to_none=True)
    loss.backward(inputs=[p for group in opt.param_groups for p in group["params"]])
    opt.step()
    return loss.detach()


def clip_weights(gan: "GAN") -> None:
    """WGAN's weight clipping of D to [-c, c] after each D update."""
    if gan.loss.clip is not None:
        with torch.no_grad():
            for p in gan.D.parameters():
                p.clamp_(-gan.loss.clip, gan.loss.clip)


def d_step(gan: "GAN", cfg: TrialConfig, real: Tensor, z: Tensor, y: Tensor | None = None) -> Tensor:
    """One discriminator update: ascend V(D,G) (descend the loss) plus any penalties.

    A conditional pair generates its fakes with the real batch's labels, so D, the
    penalties and their interpolates all see one label per row.
    """
    with autocast(gan):
        with torch.no_grad():
            fake = conditioned(gan.G, y)(z)
        loss = penalized_d_loss(gan, cfg, conditioned(gan.D, y), real, fake)
    loss = update(gan.opt_d, loss)
    clip_weights(gan)
    return loss


def g_step(gan: "GAN", z: Tensor, y: Tensor | None = None) -> Tensor:
    """One generator update against the current D."""
    with autocast(gan):
        loss = gan.loss.g_loss(conditioned(gan.D, y)(conditioned(gan.G, y)(z)))
    return update(gan.opt_g, loss)


def standard_d_step(gan: "GAN", cfg: TrialConfig, rng: torch.Generator) -> Tensor:
    real, y = draw_real(gan, cfg.batch_size, rng)
    return d_step(gan, cfg, real, draw_z(cfg.batch_size, cfg.z_dim, rng).to(gan.device), y)


def standard_g_step(gan: "GAN", cfg: TrialConfig, rng: torch.Generator) -> Tensor:
    z = draw_z(cfg.batch_size, cfg.z_dim, rng).to(gan.device)
    return g_step(gan, z, draw_labels(gan, cfg.batch_size, rng))
