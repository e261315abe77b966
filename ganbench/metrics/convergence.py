"""Convergence diagnostics: D against its equilibrium 1/2, V(D,G) against -log 4, gradient norms."""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import Tensor, nn

from ganbench.losses import GANLoss, value_fn
from ganbench.metrics import Metric


def discriminator_metrics(loss: GANLoss, real_out: Tensor, fake_out: Tensor) -> dict[str, float]:
    """D(x), D(G(z)), their distance to the equilibrium value and V(D,G), from D's raw outputs."""
    d_real, d_fake = loss.prob(real_out), loss.prob(fake_out)
    out = {
        "d_real_mean": float(d_real.mean()),
        "d_fake_mean": float(d_fake.mean()),
        "d_loss": float(loss.d_loss(real_out, fake_out)),
        "g_loss": float(loss.g_loss(fake_out, real_out)),
        "equilibrium_gap": math.nan,
        "value": math.nan,
    }
    if loss.equilibrium is not None:
        both = torch.cat([d_real, d_fake])
        out["equilibrium_gap"] = float((both - loss.equilibrium).abs().mean())
    if loss.probabilistic:
        out["value"] = float(value_fn(real_out, fake_out))
    return out


def grad_norm(parameters: Iterable[nn.Parameter]) -> Tensor:
    """L2 norm of all gradients, as a tensor (no host sync until it is read)."""
    grads = [p.grad.detach().flatten() for p in parameters if p.grad is not None]
    return torch.cat(grads).norm() if grads else torch.zeros(())


def steps_to_threshold(curve: list[tuple[int, float]], target: float, metric: Metric) -> float:
    """First evaluation step whose value reaches ``target`` in the metric's direction; NaN if never."""
    for step, value in curve:
        if value == target or metric.better(value, target):
            return float(step)
    return math.nan
