"""Fully connected GAN of Goodfellow et al. 2014: ReLU generator, maxout + dropout discriminator option.

G and D may differ in width and depth (``g_hidden``/``g_depth``, ``d_hidden``/``d_depth``; unset: ``hidden``
and ``depth``), G may batch-normalise its hidden layers (``g_norm: batch``, PacGAN's and VEEGAN's toy G), and
D may be spectrally normalised or layer-normalised (``d_norm``). The defaults build the Goodfellow et al. 2014
pair exactly as before these options existed (same modules, parameter order and initialisation).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganbench.models.layers import DNorm
from ganbench.registry import MODELS

#: the values of ``g_norm`` mlp's G takes (None: none)
G_NORMS = ("none", "batch")
#: the values of ``d_norm`` mlp's D takes (None: none); batch and instance norm are refused: batch norm
#: mixes the samples D judges one by one (and packing, pac, relies on D seeing samples as given)
MLP_D_NORMS = ("none", "layer", "spectral")


class Maxout(nn.Module):
    """Goodfellow et al. 2013: the max over ``pieces`` linear maps of the input."""

    def __init__(self, d_in: int, d_out: int, pieces: int):
        super().__init__()
        self.d_out, self.pieces = d_out, pieces
        self.linear = nn.Linear(d_in, d_out * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(-1, self.d_out, self.pieces).amax(-1)


def generator(z_dim: int, data_shape: tuple[int, ...], hidden: int, depth: int, norm: str | None = None) -> nn.Module:
    """ReLU layers; with ``norm="batch"`` each hidden Linear has no bias and is followed by BatchNorm1d."""
    norm = _choice("g_norm", norm, G_NORMS)
    layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        if norm == "batch":
            layers += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
        else:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers += [nn.Linear(width, math.prod(data_shape)), nn.Unflatten(1, data_shape)]
    return nn.Sequential(*layers)


def discriminator(data_shape: tuple[int, ...], hidden: int, depth: int, maxout: int, dropout: float,
                  norm: str | None = None) -> nn.Module:
    """LeakyReLU(0.2) layers, or maxout units with ``maxout`` pieces when it is >= 2; dropout before each layer.

    ``norm``: "spectral" puts spectral norm (Miyato et al. 2018) on every Linear (maxout's and the output's
    too); "layer" puts a LayerNorm after each hidden layer's Linear (after the maxout unit, for maxout).
    """
    d_norm = DNorm(_choice("d_norm", norm, MLP_D_NORMS), "none")
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(data_shape)
    for _ in range(depth):
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        if maxout >= 2:
            unit = Maxout(width, hidden, maxout)
            unit.linear = d_norm.weight(unit.linear)
            layers.append(unit)
            if d_norm.name == "layer":
                layers.append(nn.LayerNorm(hidden))
        else:
            layers.append(d_norm.linear(width, hidden))
            if d_norm.name == "layer":
                layers.append(nn.LayerNorm(hidden))
            layers.append(nn.LeakyReLU(0.2))
        width = hidden
    layers += [d_norm.linear(width, 1), nn.Flatten(0)]
    return nn.Sequential(*layers)


def _choice(option: str, value: str | None, valid: tuple[str, ...]) -> str:
    """``value`` of an mlp option (None means "none"); anything outside ``valid`` is a ValueError naming both."""
    if value is None:
        return "none"
    if value not in valid:
        raise ValueError(f"model 'mlp' does not take {option}={value!r}; the values it takes: None, "
                         f"{', '.join(repr(v) for v in valid)}")
    return value


@MODELS.register("mlp")
def mlp(data_shape, z_dim, *, hidden=128, depth=2, d_maxout=0, d_dropout=0.0, g_hidden=None, g_depth=None,
        d_hidden=None, d_depth=None, g_norm=None, d_norm=None):
    """MLP G (ReLU) and D (LeakyReLU, or maxout + dropout as in Goodfellow 2014); width `hidden`, `depth` layers."""
    # D first only in the checks: an option it refuses is named before anything is built
    _choice("d_norm", d_norm, MLP_D_NORMS)
    return (
        generator(z_dim, tuple(data_shape), hidden if g_hidden is None else g_hidden,
                  depth if g_depth is None else g_depth, g_norm),
        discriminator(tuple(data_shape), hidden if d_hidden is None else d_hidden,
                      depth if d_depth is None else d_depth, d_maxout, d_dropout, d_norm),
    )
