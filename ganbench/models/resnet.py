"""ResNet GAN of SNGAN (Miyato et al. 2018), BigGAN-lite: residual up-blocks in G, spectrally normalised D.

Conditional (``conditional=True``): class-conditional batch norm in G's blocks (BigGAN:
per-class gain and bias on a BatchNorm2d without affine) and a projection discriminator.
Widths follow DCGAN's pyramid: hidden * 2^(stages-1) at 4x4, halving per doubling in G,
mirrored in D.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.models.layers import DNorm, ProjectionHead, check_classes, image_stages
from ganbench.registry import MODELS


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d whose gain and bias are looked up per class; a plain affine BatchNorm2d without classes."""

    def __init__(self, channels: int, n_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=not n_classes)
        if n_classes:
            self.gain = nn.Embedding(n_classes, channels)
            self.bias = nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
        self.n_classes = n_classes

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        x = self.bn(x)
        if self.n_classes:
            x = x * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]
        return x


class GBlock(nn.Module):
    """BN, ReLU, upsample x2, conv3x3, BN, ReLU, conv3x3; shortcut: 1x1 conv of the upsampled input."""

    def __init__(self, c_in: int, c_out: int, n_classes: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(c_in, n_classes)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)  # bn2 cancels a bias
        self.bn2 = ConditionalBatchNorm2d(c_out, n_classes)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        # a 1x1 conv commutes with nearest upsampling: convolve first, on 4x fewer pixels
        return h + F.interpolate(self.shortcut(x), scale_factor=2, mode="nearest")


class DBlock(nn.Module):
    """Pre-activation (ReLU, conv3x3, ReLU, conv3x3, avg-pool) with a 1x1 conv shortcut.

    The first block of D skips the leading ReLU (SNGAN's "optimized" block: the input is an
    image, not features). A feature norm of ``d_norm`` (if any) precedes each ReLU.
    """

    def __init__(self, c_in: int, c_out: int, norm: DNorm, downsample: bool, first: bool = False):
        super().__init__()
        self.first, self.downsample = first, downsample
        self.norm1 = nn.Identity() if first else norm.features(c_in)
        self.conv1 = norm.conv(c_in, c_out, 3, padding=1)
        self.norm2 = norm.features(c_out)
        self.conv2 = norm.conv(c_out, c_out, 3, padding=1, normed=False)
        self.shortcut = norm.conv(c_in, c_out, 1, normed=False) if downsample or c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        if not self.downsample:
            return h + self.shortcut(x)
        # average pooling and a 1x1 conv commute (both linear): pool first, convolve 4x fewer pixels
        return F.avg_pool2d(h, 2) + self.shortcut(F.avg_pool2d(x, 2))


class Generator(nn.Module):
    def __init__(self, z_dim: int, data_shape, hidden: int, n_classes: int = 0):
        super().__init__()
        channels, stages = image_stages(data_shape)
        width = hidden * 2 ** (stages - 1)
        self.n_classes = n_classes
        self.linear = nn.Linear(z_dim, width * 16)
        self.width = width
        self.blocks = nn.ModuleList()
        for _ in range(stages):
            c_out = max(width // 2, hidden)
            self.blocks.append(GBlock(width, c_out, n_classes))
            width = c_out
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.linear(z).view(-1, self.width, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return self.out(h)


class Discriminator(nn.Module):
    """Down-blocks to 4x4, one more block there, ReLU, global sum pooling, linear (or projection) head."""

    def __init__(self, data_shape, hidden: int, norm: DNorm, n_classes: int = 0):
        super().__init__()
        channels, stages = image_stages(data_shape)
        self.n_classes = n_classes
        blocks, width = [DBlock(channels, hidden, norm, downsample=True, first=True)], hidden
        for _ in range(stages - 1):
            blocks.append(DBlock(width, width * 2, norm, downsample=True))
            width *= 2
        blocks.append(DBlock(width, width, norm, downsample=False))
        self.blocks = nn.Sequential(*blocks, norm.features(width), nn.ReLU())
        self.head = ProjectionHead(width, n_classes, norm)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.head(self.blocks(x).sum((2, 3)), y)


@MODELS.register("resnet")
def resnet(data_shape, z_dim, *, hidden=64, n_classes=0, d_norm=None, conditional=False):
    """ResNet SNGAN (Miyato 2018): residual G, spectral-norm residual D; conditional: CBN in G, projection D."""
    n_classes = check_classes("resnet", n_classes) if conditional else 0
    norm = DNorm(d_norm, default="spectral")
    return Generator(z_dim, data_shape, hidden, n_classes), Discriminator(data_shape, hidden, norm, n_classes)
