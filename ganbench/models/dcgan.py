"""DCGAN of Radford et al. 2015: transposed-conv G with batch norm, strided-conv D with LeakyReLU.

Both nets take optional class labels (``n_classes`` > 0) so that ``cgan`` is this body with
an argument, not a copy: G reads concat(z, one_hot(y)); D reads the one-hot label as extra
input channels (Mirza & Osindero 2014) or, with ``projection``, through a projection head.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.models.layers import (
    DNorm,
    ProjectionHead,
    check_unconditional,
    conv_with_label_maps,
    dcgan_init,
    image_stages,
    one_hot,
)
from ganbench.registry import MODELS


def generator_net(in_dim: int, channels: int, stages: int, hidden: int) -> nn.Sequential:
    """(n, in_dim) -> (n, channels, 4 * 2^stages, same): width hidden * 2^(stages-1) at 4x4, halving per stage."""
    width = hidden * 2 ** (stages - 1)
    layers: list[nn.Module] = [
        nn.Linear(in_dim, width * 16, bias=False),  # BN's shift replaces the bias
        nn.Unflatten(1, (width, 4, 4)),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    ]
    for _ in range(stages - 1):
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
        width //= 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator_trunk(channels: int, stages: int, hidden: int, norm: DNorm) -> nn.Sequential:
    """(n, channels, H, W) -> (n, hidden * 2^(stages-1), 4, 4); no feature norm after the first conv (DCGAN)."""
    layers: list[nn.Module] = [norm.conv(channels, hidden, 4, 2, 1, normed=False), nn.LeakyReLU(0.2)]
    width = hidden
    for _ in range(stages - 1):
        layers += [norm.conv(width, width * 2, 4, 2, 1), norm.features(width * 2), nn.LeakyReLU(0.2)]
        width *= 2
    return nn.Sequential(*layers)


class Generator(nn.Module):
    def __init__(self, z_dim: int, data_shape, hidden: int, n_classes: int = 0):
        super().__init__()
        channels, stages = image_stages(data_shape)
        self.n_classes = n_classes
        self.net = generator_net(z_dim + n_classes, channels, stages, hidden)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.n_classes:
            z = torch.cat([z, one_hot(y, self.n_classes, z)], 1)
        return self.net(z)


class Discriminator(nn.Module):
    """Raw outputs (n,): a linear map of the 4x4 features, or a projection head on their sum."""

    def __init__(self, data_shape, hidden: int, norm: DNorm, n_classes: int = 0, projection: bool = False):
        super().__init__()
        channels, stages = image_stages(data_shape)
        self.n_classes = n_classes
        self.label_channels = n_classes if n_classes and not projection else 0
        self.trunk = discriminator_trunk(channels + self.label_channels, stages, hidden, norm)
        width = hidden * 2 ** (stages - 1)
        self.head = ProjectionHead(width, n_classes, norm) if projection else norm.linear(width * 16, 1)
        self.projection = projection

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.label_channels:  # the label as n_classes one-hot input channels
            h = self.trunk[1:](conv_with_label_maps(self.trunk[0], x, y))
        else:
            h = self.trunk(x)
        if self.projection:
            return self.head(h.sum((2, 3)), y)  # global sum pooling, as in SNGAN's projection D
        return self.head(h.flatten(1)).squeeze(1)


def build(data_shape, z_dim, hidden, d_norm, n_classes=0, projection=False, gradient_penalty=False):
    """The DCGAN pair with the paper's N(0, 0.02) initialisation; batch norm in D unless ``d_norm`` says otherwise
    (or the loss has a gradient penalty: then layer norm)."""
    G = Generator(z_dim, data_shape, hidden, n_classes)
    D = Discriminator(data_shape, hidden, DNorm(d_norm, default="batch", gradient_penalty=gradient_penalty),
                      n_classes, projection)
    dcgan_init(G)
    dcgan_init(D)
    return G, D


@MODELS.register("dcgan")
def dcgan(data_shape, z_dim, *, hidden=64, d_norm=None, conditional=False, gradient_penalty=False):
    """DCGAN (Radford 2015): transposed-conv G with BN+ReLU, strided-conv D with LeakyReLU; width `hidden`."""
    check_unconditional("dcgan", conditional)
    return build(data_shape, z_dim, hidden, d_norm, gradient_penalty=gradient_penalty)
