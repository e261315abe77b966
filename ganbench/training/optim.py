"""The players' optimizers and SGD's schedules: momentum's linear ramp and exponential learning-rate decay.

Semantics are pylearn2's, as Goodfellow et al. 2014 trained (goodfeli/adversarial: mnist.yaml), with t the
iterations of Algorithm 1 done before this one (the loop's step - 1):

- ``ExponentialDecay(decay_factor, min_lr)`` (pylearn2/training_algorithms/sgd.py) divides the learning rate
  by the factor after every update: iteration t uses lr_t = max(lr / decay^t, lr_min), for both players;
- ``MomentumAdjustor(final_momentum, start, saturate)`` (learning_rule.py) moves momentum linearly, once per
  epoch: mu_t = mu0 + (mu1 - mu0) min(1, floor(t / every) every / saturate_steps);
- the ``Momentum`` rule is v <- mu v - lr g, p <- p + v. torch's SGD keeps b = -v / lr (b <- mu b + g,
  p <- p - lr b), which is the same only while lr is constant: when lr changes, ``apply_schedule`` rescales
  every momentum buffer by lr_{t-1} / lr_t, so the step is pylearn2's exactly.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ganbench.config import TrialConfig


def make_optimizers(cfg: TrialConfig, G: nn.Module, D: nn.Module,
                    device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """(G's optimizer, D's optimizer): Adam, or SGD with the trial's momentum at iteration 0."""
    if cfg.optimizer == "adam":
        fused = device.type in ("cpu", "cuda")  # one kernel for all parameters: ~3x faster steps on small models
        return (torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=fused),
                torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas_d or cfg.betas, fused=fused))
    mu = momentum_at(cfg, 0)
    return torch.optim.SGD(G.parameters(), lr=cfg.lr_g, momentum=mu), \
        torch.optim.SGD(D.parameters(), lr=cfg.lr_d, momentum=mu)


def scheduled(cfg: TrialConfig) -> bool:
    """Whether the trial's optimizer settings change during training."""
    return cfg.optimizer == "sgd" and (cfg.lr_decay != 1.0 or cfg.momentum_final is not None)


def lr_at(cfg: TrialConfig, lr: float, t: int) -> float:
    """ExponentialDecay: the learning rate of iteration t (t updates done), from the initial ``lr``."""
    if cfg.lr_decay == 1.0:
        return lr
    return max(lr * math.exp(-t * math.log(cfg.lr_decay)), cfg.lr_min)  # lr / decay^t, without overflow


def momentum_at(cfg: TrialConfig, t: int) -> float:
    """MomentumAdjustor: the momentum of iteration t."""
    if cfg.momentum_final is None:
        return cfg.momentum
    done = (t // cfg.momentum_every) * cfg.momentum_every
    alpha = min(1.0, done / cfg.momentum_saturate_steps)
    return cfg.momentum * (1 - alpha) + alpha * cfg.momentum_final


def apply_schedule(opt: torch.optim.Optimizer, cfg: TrialConfig, lr0: float, t: int) -> None:
    """Set ``opt``'s learning rate and momentum for iteration t (a no-op for unscheduled trials)."""
    if not scheduled(cfg):
        return
    lr, mu = lr_at(cfg, lr0, t), momentum_at(cfg, t)
    for group in opt.param_groups:
        old = group["lr"]
        if lr != old:  # keep pylearn2's velocity v = -lr_{t-1} b across the change of lr
            buffers = [opt.state[p]["momentum_buffer"] for p in group["params"]
                       if opt.state[p].get("momentum_buffer") is not None]
            if buffers:
                torch._foreach_mul_(buffers, old / lr)
        group["lr"], group["momentum"] = lr, mu


def schedule_step(gan, cfg: TrialConfig, step: int) -> None:
    """Before iteration ``step`` (1-based) of the loop: both players' SGD at t = step - 1."""
    if scheduled(cfg):
        apply_schedule(gan.opt_g, cfg, cfg.lr_g, step - 1)
        apply_schedule(gan.opt_d, cfg, cfg.lr_d, step - 1)
