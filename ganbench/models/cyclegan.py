"""CycleGAN of Zhu et al. 2017: two image-to-image translators and two PatchGAN discriminators.

Unpaired translation between domains A and B of one shape (C, H, W). ``G`` holds the
translators ``G.ab`` (A -> B) and ``G.ba`` (B -> A); ``D`` holds ``D.a`` (judges A images)
and ``D.b`` (judges B images). Called directly, G translates A -> B and D judges B, so
``D(G(a))`` is the A -> B half of the game. The adversarial losses come from the training
loop's loss; the cycle-consistency and identity terms from ``cycle_l1`` and ``identity_l1``.
"""
from __future__ import annotations

from torch import Tensor, nn

from ganbench.models.layers import DNorm, check_unconditional, image_stages
from ganbench.registry import MODELS


def _conv_in_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    # reflection padding as in the paper: zero borders leave artefacts at the image edge
    return [
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False, padding_mode="reflect"),  # instance norm cancels a bias
        nn.InstanceNorm2d(c_out, affine=True),
        nn.ReLU(),
    ]


class ResidualBlock(nn.Module):
    """x + (conv3x3, instance norm, ReLU, conv3x3, instance norm)(x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_in_relu(channels, channels),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False, padding_mode="reflect"),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def translator(channels: int, hidden: int, depth: int) -> nn.Sequential:
    """Image -> image of the same shape: stem, one stride-2 downsample, ``depth`` residual blocks, one upsample."""
    return nn.Sequential(
        *_conv_in_relu(channels, hidden),
        *_conv_in_relu(hidden, hidden * 2, stride=2),
        *[ResidualBlock(hidden * 2) for _ in range(depth)],
        nn.ConvTranspose2d(hidden * 2, hidden, 3, 2, 1, output_padding=1, bias=False),
        nn.InstanceNorm2d(hidden, affine=True),
        nn.ReLU(),
        nn.Conv2d(hidden, channels, 3, 1, 1, padding_mode="reflect"),
        nn.Tanh(),
    )


def patch_discriminator(channels: int, size: int, hidden: int, norm: DNorm) -> nn.Sequential:
    """PatchGAN: stride-2 4x4 convs (at most 3, down to 4x4), a stride-1 one, a 1-channel conv; logits (n, P).

    Each output logit judges one overlapping patch; at 16x16 and 32x32 there are P = 4.
    """
    n_down = min(3, image_stages((channels, size, size))[1])
    layers: list[nn.Module] = [norm.conv(channels, hidden, 4, 2, 1, normed=False), nn.LeakyReLU(0.2)]
    width = hidden
    for _ in range(n_down - 1):
        layers += [norm.conv(width, width * 2, 4, 2, 1), norm.features(width * 2), nn.LeakyReLU(0.2)]
        width *= 2
    layers += [norm.conv(width, width * 2, 4, 1, 1), norm.features(width * 2), nn.LeakyReLU(0.2)]
    layers += [norm.conv(width * 2, 1, 4, 1, 1, normed=False), nn.Flatten()]
    return nn.Sequential(*layers)


class CycleGenerators(nn.Module):
    """The two translators; forward translates A -> B."""

    is_cycle = True  # the training loop branches on this: no z, two domains, cycle losses
    n_classes = 0

    def __init__(self, channels: int, hidden: int, depth: int):
        super().__init__()
        self.ab = translator(channels, hidden, depth)
        self.ba = translator(channels, hidden, depth)

    def forward(self, a: Tensor) -> Tensor:
        return self.ab(a)


class CycleDiscriminators(nn.Module):
    """The two PatchGANs; forward judges domain B (the output of G's forward)."""

    n_classes = 0

    def __init__(self, channels: int, size: int, hidden: int, norm: DNorm):
        super().__init__()
        self.a = patch_discriminator(channels, size, hidden, norm)
        self.b = patch_discriminator(channels, size, hidden, norm)

    def forward(self, x: Tensor) -> Tensor:
        return self.b(x)


def cycle_l1(G: CycleGenerators, a: Tensor, b: Tensor, fake_b: Tensor, fake_a: Tensor) -> Tensor:
    """|ba(ab(a)) - a| + |ab(ba(b)) - b|, each a mean; ``fake_b = ab(a)`` and ``fake_a = ba(b)`` are passed in
    because the training step already computed them for the critics."""
    return (G.ba(fake_b) - a).abs().mean() + (G.ab(fake_a) - b).abs().mean()


def identity_l1(G: CycleGenerators, a: Tensor, b: Tensor) -> Tensor:
    """|ab(b) - b| + |ba(a) - a|, each a mean: a translator should leave its target domain unchanged."""
    return (G.ab(b) - b).abs().mean() + (G.ba(a) - a).abs().mean()


def cycle_losses(G: CycleGenerators, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """(cycle L1, identity L1) from scratch."""
    return cycle_l1(G, a, b, G.ab(a), G.ba(b)), identity_l1(G, a, b)


@MODELS.register("cyclegan")
def cyclegan(data_shape, z_dim=None, *, hidden=32, depth=3, d_norm=None, conditional=False):
    """CycleGAN (Zhu 2017): ResNet translators A<->B with `depth` blocks, PatchGAN Ds; z_dim is ignored."""
    check_unconditional("cyclegan", conditional)
    channels, _ = image_stages(data_shape)
    norm = DNorm(d_norm, default="instance")
    return CycleGenerators(channels, hidden, depth), CycleDiscriminators(channels, data_shape[1], hidden, norm)
