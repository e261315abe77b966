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


@MODELS.register("dirac")
def dirac(data_shape, z_dim):
    """Dirac-GAN pair: one-parameter G (theta) and linear D (psi); for the `dirac` dataset."""
    if tuple(data_shape) != (1,):
        raise ValueError(f"model 'dirac' needs 1-D data, got shape {tuple(data_shape)}")
    return DiracGenerator(), LinearCritic()
