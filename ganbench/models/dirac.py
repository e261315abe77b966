"""Mescheder et al. 2018's Dirac-GAN: G(z) = theta, D(x) = psi * x, both starting at 1."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.registry import MODELS


class DiracGenerator(nn.Module):
    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def forward(self, z: Tensor) -> Tensor:
        return self.theta.expand(z.shape[0], 1)


class LinearCritic(nn.Module):
    def __init__(self, psi: float = 1.0):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor(float(psi)))

    def forward(self, x: Tensor) -> Tensor:
        return self.psi * x[:, 0]


def _pair(name: str, data_shape, psi: float) -> tuple[DiracGenerator, LinearCritic]:
    if tuple(data_shape) != (1,):
        raise ValueError(f"model {name!r} needs 1-D data, got shape {tuple(data_shape)}")
    return DiracGenerator(), LinearCritic(psi)


@MODELS.register("dirac")
def dirac(data_shape, z_dim):
    """Dirac-GAN pair: one-parameter G (theta) and linear D (psi); for the `dirac` dataset."""
    return _pair("dirac", data_shape, 1.0)


@MODELS.register("dirac-authors")
def dirac_authors(data_shape, z_dim):
    """Dirac-GAN started where Mescheder et al.'s notebook starts: their (theta, psi) = (1, 1), which is (1, -1) here.

    The authors' critic scores fakes high (LMescheder/GAN_stability, notebooks/diracgan/gans.py: D ascends
    f(psi * theta), f(t) = -log(1 + e^-t), so sigmoid(D) is the probability of "generated"); the harness's D
    scores reals high (losses.py: -log sigmoid(D(x))). So their psi is -psi here, and their start (1, 1)
    (notebooks/DiracGAN.ipynb, cell 1: theta0 = psi0 = 1) is theta = 1, psi = -1: the trajectories are the
    notebook's with psi negated.
    """
    return _pair("dirac-authors", data_shape, -1.0)
