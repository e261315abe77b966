"""Fully connected GAN of Goodfellow et al. 2014: ReLU generator, maxout + dropout discriminator option."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganbench.registry import MODELS


class Maxout(nn.Module):
    """Goodfellow et al. 2013: the max over ``pieces`` linear maps of the input."""

    def __init__(self, d_in: int, d_out: int, pieces: int):
        super().__init__()
        self.d_out, self.pieces = d_out, pieces
        self.linear = nn.Linear(d_in, d_out * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(-1, self.d_out, self.pieces).amax(-1)


def generator(z_dim: int, data_shape: tuple[int, ...], hidden: int, depth: int) -> nn.Module:
    layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers += [nn.Linear(width, math.prod(data_shape)), nn.Unflatten(1, data_shape)]
    return nn.Sequential(*layers)


def discriminator(data_shape: tuple[int, ...], hidden: int, depth: int, maxout: int, dropout: float) -> nn.Module:
    """LeakyReLU(0.2) layers, or maxout units with ``maxout`` pieces when it is >= 2; dropout before each layer."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(data_shape)
    for _ in range(depth):
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        if maxout >= 2:
            layers.append(Maxout(width, hidden, maxout))
        else:
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    layers += [nn.Linear(width, 1), nn.Flatten(0)]
    return nn.Sequential(*layers)


@MODELS.register("mlp")
def mlp(data_shape, z_dim, *, hidden=128, depth=2, d_maxout=0, d_dropout=0.0):
    """MLP G (ReLU) and D (LeakyReLU, or maxout + dropout as in Goodfellow 2014); width `hidden`, `depth` layers."""
    return (
        generator(z_dim, tuple(data_shape), hidden, depth),
        discriminator(tuple(data_shape), hidden, depth, d_maxout, d_dropout),
    )
