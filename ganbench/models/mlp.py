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


class SlotBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics are per packing slot: G once per slot, in one pass.

    A batch of ``slots * b`` rows is ``b`` packed rows of ``slots`` consecutive samples (``training.updates.pack``),
    so slot j holds rows j, j + slots, j + 2 slots, ... In training each slot's b samples are normalised by their
    own mean and (biased) variance, exactly what running G once per slot on b samples gives (PacGAN's code,
    fjxmlzn/PacGAN: synthetic_data_experiments/PacGAN/pacgan/bricks.py, ``compute_losses``), and the running
    statistics move once per call, by the slots' mean batch mean and mean unbiased variance (the authors merge
    their per-slot population updates the same way: pacgan_task.py, ``pop_update_merges``). In eval mode, or with
    ``slots == 1``, it is torch's BatchNorm1d.
    """

    def __init__(self, num_features: int, slots: int = 1, **kwargs):
        super().__init__(num_features, **kwargs)
        self.slots = int(slots)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.slots == 1:
            return super().forward(x)
        n, c = x.shape
        if n % self.slots:
            raise ValueError(f"per-slot batch norm: a training batch of {n} rows is not whole packs of {self.slots}")
        xs = x.view(n // self.slots, self.slots, c)
        var, mean = torch.var_mean(xs, dim=0, correction=0)  # [slots, C]: each slot's own statistics
        if self.track_running_stats:
            self._track(mean.mean(0), var.mean(0), n // self.slots)
        y = ((xs - mean) * torch.rsqrt(var + self.eps)).view(n, c)
        return y * self.weight + self.bias if self.affine else y

    @torch.no_grad()
    def _track(self, mean: Tensor, var: Tensor, b: int) -> None:
        self.num_batches_tracked.add_(1)
        factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_((var * (b / max(b - 1, 1))).to(self.running_var.dtype), factor)


def generator(z_dim: int, data_shape: tuple[int, ...], hidden: int, depth: int, norm: str | None = None,
              slots: int = 1) -> nn.Module:
    """ReLU layers; with ``norm="batch"`` each hidden Linear has no bias and is followed by BatchNorm1d
    (``SlotBatchNorm1d`` with ``slots`` > 1: statistics per packing slot)."""
    norm = _choice("g_norm", norm, G_NORMS)
    layers: list[nn.Module] = []
    width = z_dim
    for _ in range(depth):
        if norm == "batch":
            bn = nn.BatchNorm1d(hidden) if slots == 1 else SlotBatchNorm1d(hidden, slots)
            layers += [nn.Linear(width, hidden, bias=False), bn, nn.ReLU()]
        else:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers += [nn.Linear(width, math.prod(data_shape)), nn.Unflatten(1, data_shape)]
    return nn.Sequential(*layers)


def discriminator(data_shape: tuple[int, ...], hidden: int, depth: int, maxout: int, dropout: float,
                  norm: str | None = None, dropout_input: float | None = None,
                  dropout_output: float = 0.0) -> nn.Module:
    """LeakyReLU(0.2) layers, or maxout units with ``maxout`` pieces when it is >= 2; dropout before each hidden
    layer at rate ``dropout``, on the input at ``dropout_input`` (None: ``dropout``), and before the output layer
    at ``dropout_output`` (pylearn2's dropout_fprop drops every layer's input, scaled by 1/keep as nn.Dropout).

    ``norm``: "spectral" puts spectral norm (Miyato et al. 2018) on every Linear (maxout's and the output's
    too); "layer" puts a LayerNorm after each hidden layer's Linear (after the maxout unit, for maxout).
    """
    d_norm = DNorm(_choice("d_norm", norm, MLP_D_NORMS), "none")
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(data_shape)
    for i in range(depth):
        rate = dropout if i or dropout_input is None else dropout_input
        if rate > 0:
            layers.append(nn.Dropout(rate))
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
    if dropout_output > 0:
        layers.append(nn.Dropout(dropout_output))
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
        d_hidden=None, d_depth=None, g_norm=None, d_norm=None, d_dropout_input=None, d_dropout_output=0.0,
        g_norm_slots=1):
    """MLP G (ReLU) and D (LeakyReLU, or maxout + dropout as in Goodfellow 2014); width `hidden`, `depth` layers."""
    # D first only in the checks: an option it refuses is named before anything is built
    _choice("d_norm", d_norm, MLP_D_NORMS)
    return (
        generator(z_dim, tuple(data_shape), hidden if g_hidden is None else g_hidden,
                  depth if g_depth is None else g_depth, g_norm, g_norm_slots),
        discriminator(tuple(data_shape), hidden if d_hidden is None else d_hidden,
                      depth if d_depth is None else d_depth, d_maxout, d_dropout, d_norm, d_dropout_input,
                      d_dropout_output),
    )
