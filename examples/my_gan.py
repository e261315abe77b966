"""My own GAN method, in my own file: a loss, a model, a dataset and a variant, used by my_gan.yaml.

Run it from anywhere, no fork of ganbench needed (the suite names this file under ``imports:``):

    bench.py validate examples/my_gan.yaml
    bench.py list losses --import examples/my_gan.py
    bench.py run examples/my_gan.yaml

Each component registers under a name, with the signature of its family; ``bench.py list`` marks these
as ``[plugin my_gan]``, and the ids of trials that use them hash this file, so an edited file never resumes
into the old file's rows. On a Ray cluster this file reaches the workers through Ray's runtime environment.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ganbench.datasets.base import ModeMixture
from ganbench.losses import GANLoss
from ganbench.registry import DATASETS, LOSSES, MODELS, register_variant
from ganbench.variants import Variant


class SmoothingOptions(BaseModel):
    """smooth_ns's own option, set in a suite as ``smooth_ns.real_target`` (params, grid or search)."""

    model_config = ConfigDict(extra="forbid")
    real_target: float = Field(0.9, gt=0, le=1, description="D's target on real data (1: no smoothing)")


@LOSSES.register("smooth_ns")
class SmoothNonSaturating(GANLoss):
    """Non-saturating loss with one-sided label smoothing: D's real target is 0.9 (Salimans et al. 2016)."""

    probabilistic = True  # D's output is a logit
    stackable = True  # plain tensor ops: stacked trials (execution.batch_trials) may run it vmapped
    Options = SmoothingOptions  # GANLoss.from_config passes them to __init__

    def __init__(self, real_target: float = 0.9):
        self.real_target = real_target

    def d_loss(self, real_out, fake_out):
        real = F.binary_cross_entropy_with_logits(real_out, torch.full_like(real_out, self.real_target))
        return real + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out))

    def g_loss(self, fake_out, real_out=None):
        return -F.logsigmoid(fake_out).mean()


@MODELS.register("tiny_mlp")
def tiny_mlp(data_shape, z_dim, *, hidden=128):
    """One hidden layer in G (ReLU) and in D (LeakyReLU), width `hidden`."""
    (features,) = data_shape  # flat data (D's input is wider under PacGAN packing)
    g = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, features))
    d = nn.Sequential(nn.Linear(features, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1), nn.Flatten(0))
    return g, d


@DATASETS.register("ring4")
def ring4() -> ModeMixture:
    """4 Gaussians on the unit circle, std 0.05."""
    angles = torch.arange(4, dtype=torch.float32) * (2 * math.pi / 4)
    return ModeMixture(torch.stack([torch.cos(angles), torch.sin(angles)], dim=1), 0.05, "ring of 4 modes, std 0.05")


register_variant(Variant("smooth_pacgan2", {"loss": "smooth_ns", "pac": 2},
                         "Salimans et al. 2016 (label smoothing) with Lin et al. 2018 (PacGAN)",
                         "one-sided label smoothing, D judging 2 samples packed together"))
