"""Blocks the image architectures share: D's normalisation choice, image sizes, label conditioning.

Normalisation in D is an argument of every architecture (compare_gan's habit), decided
here once: ``DNorm`` builds D's weight layers (spectral norm wraps them) and the feature
norm that follows them (batch, layer, instance), so no architecture copies the choice.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

#: values of the `d_norm` option; None picks the architecture's default
D_NORMS = ("none", "batch", "layer", "instance", "spectral")


class DNorm:
    """One of D_NORMS: how D's weight layers are built and which feature norm follows them."""

    def __init__(self, name: str | None, default: str, gradient_penalty: bool = False):
        """``gradient_penalty``: the loss penalises per-example gradients of D (WGAN-GP), which batch
        norm mixes across the batch, so a batch-norm default becomes layer norm (Gulrajani et al. 2017)."""
        if name is None:
            name = "layer" if default == "batch" and gradient_penalty else default
        if name not in D_NORMS:
            raise ValueError(f"unknown d_norm {name!r}; valid: None (the architecture's default), {', '.join(D_NORMS)}")
        self.name = name

    def conv(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, *, normed: bool = True):
        """A Conv2d; ``normed`` says a feature norm follows it (batch/instance norm would cancel its bias)."""
        bias = not (normed and self.name in ("batch", "instance"))
        return self.weight(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias))

    def linear(self, d_in: int, d_out: int) -> nn.Module:
        return self.weight(nn.Linear(d_in, d_out))

    def weight(self, layer: nn.Module) -> nn.Module:
        """Spectral norm (Miyato et al. 2018) on the layer's weight when chosen; else the layer itself."""
        return spectral_norm(layer) if self.name == "spectral" else layer

    def features(self, channels: int) -> nn.Module:
        """The feature norm after a normed conv; spectral norm acts on weights, so it has none."""
        if self.name == "batch":
            return nn.BatchNorm2d(channels)
        if self.name == "layer":
            return nn.GroupNorm(1, channels)  # normalises over (C, H, W) per sample, like LayerNorm
        if self.name == "instance":
            return nn.InstanceNorm2d(channels, affine=True)
        return nn.Identity()


def image_stages(data_shape) -> tuple[int, int]:
    """(channels, number of x2 stages between 4x4 and the image) for square power-of-two images >= 8."""
    shape = tuple(data_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 8 or shape[1] & (shape[1] - 1):
        raise ValueError(f"image models need (C, H, W) data with H == W a power of two >= 8, got shape {shape}")
    return shape[0], int(math.log2(shape[1])) - 2


def check_unconditional(model: str, conditional: bool) -> None:
    if conditional:
        raise ValueError(f"model {model!r} is unconditional; use 'cgan' or 'resnet' for conditional=True")


def check_classes(model: str, n_classes: int) -> int:
    if n_classes < 2:
        raise ValueError(f"model {model!r} is conditional and needs n_classes >= 2, got {n_classes}")
    return int(n_classes)


class ProjectionHead(nn.Module):
    """Miyato & Koyama 2018: linear(h) + <embed(y), h> on pooled features h; just linear(h) without classes."""

    def __init__(self, channels: int, n_classes: int, norm: DNorm):
        super().__init__()
        self.linear = norm.linear(channels, 1)
        self.embed = norm.weight(nn.Embedding(n_classes, channels)) if n_classes else None

    def forward(self, h: Tensor, y: Tensor | None = None) -> Tensor:
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out


def one_hot(y: Tensor, n_classes: int, like: Tensor) -> Tensor:
    """Labels (n,) -> float one-hot rows (n, n_classes) of ``like``'s dtype and device."""
    return F.one_hot(y, n_classes).to(like.dtype)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015: weights N(0, 0.02), norm gains N(1, 0.02), biases 0.

    Spectrally normalised weights are left alone: SN divides their scale out anyway, and
    re-drawing them would leave the power iteration's vectors stale.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            if not parametrize.is_parametrized(m, "weight"):
                nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)) \
                and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def conv_with_label_maps(conv: nn.Conv2d, x: Tensor, y: Tensor) -> Tensor:
    """``conv`` (zero-padded) over concat(x, one-hot label maps), without building the constant maps.

    A one-hot map is 1 everywhere in its class's channel, so its response at an output pixel is
    the sum of that channel's kernel taps that fall inside the image: one small matmul per
    sample, whatever the number of classes (1,000 on Stacked digits).
    """
    w, c = conv.weight, x.shape[1]  # weight read through any spectral-norm parametrization
    out = F.conv2d(x, w[:, :c], conv.bias, conv.stride, conv.padding)
    inside = F.unfold(x.new_ones(1, 1, *x.shape[2:]), w.shape[2:], padding=conv.padding, stride=conv.stride)[0]
    label_kernels = w[:, c + y].transpose(0, 1).flatten(2)  # (n, c_out, k*k): each sample's class channel
    return out + (label_kernels @ inside).view_as(out)
