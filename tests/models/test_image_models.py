"""Image GANs (DCGAN, cGAN, ResNet/SNGAN, CycleGAN): shapes, gradients, conditioning, normalisation."""
from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ganbench.models.cyclegan import CycleDiscriminators, CycleGenerators, cycle_losses
from ganbench.models.layers import D_NORMS, conv_with_label_maps
from ganbench.models.resnet import ConditionalBatchNorm2d
from ganbench.registry import MODELS

Z, N, K = 6, 4, 5  # z_dim, batch, classes

#: (model, options): every variant the factories build
VARIANTS = {
    "dcgan": ("dcgan", {}),
    "cgan": ("cgan", {"n_classes": K}),
    "cgan_projection": ("cgan", {"n_classes": K, "d_projection": True}),
    "resnet": ("resnet", {}),
    "resnet_conditional": ("resnet", {"conditional": True, "n_classes": K}),
    "cyclegan": ("cyclegan", {}),
}
SHAPES = [(1, 16, 16), (3, 16, 16), (1, 32, 32), (3, 32, 32)]


def build(variant, shape, **options):
    """The variant's pair; of the common settings only those its factory declares (it takes no others)."""
    name, defaults = VARIANTS[variant]
    factory = MODELS.get(name)
    torch.manual_seed(0)
    common = {k: v for k, v in {"hidden": 8, "depth": 1}.items() if k in inspect.signature(factory).parameters}
    return factory(shape, Z, **{**common, **defaults, **options})


def inputs(G, shape):
    """G's inputs: z (or an A-domain image for CycleGAN), plus labels when G is conditional."""
    torch.manual_seed(1)
    first = torch.rand(N, *shape) * 2 - 1 if getattr(G, "is_cycle", False) else torch.randn(N, Z)
    return (first, torch.arange(N) % K) if G.n_classes else (first,)


def weight_layers(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding))]


@pytest.mark.parametrize("shape", SHAPES + [(1, 8, 8)])
@pytest.mark.parametrize("variant", VARIANTS)
def test_g_makes_images_in_tanh_range_and_d_scores_each_one(variant, shape):
    G, D = build(variant, shape)
    args = inputs(G, shape)
    x = G(*args)
    assert x.shape == (N, *shape)
    assert x.abs().max() <= 1
    out = D(x, *args[1:])
    if variant == "cyclegan":  # PatchGAN: one logit per patch
        assert out.dim() == 2 and out.shape[0] == N and out.shape[1] >= 1
    else:
        assert out.shape == (N,)
    assert G.n_classes == D.n_classes == (K if args[1:] else 0)


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 32, 32)])
@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_reach_every_parameter_of_g_and_d(variant, shape):
    G, D = build(variant, shape)
    args = inputs(G, shape)
    if variant == "cyclegan":  # both halves of the game, so both translators and both critics get gradients
        a, b = args[0], args[0].flip(0)
        loss = D.b(G.ab(a)).mean() + D.a(G.ba(b)).mean()
    else:
        loss = D(G(*args), *args[1:]).mean()
    loss.backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("variant", ["cgan", "cgan_projection", "resnet_conditional"])
def test_conditional_models_depend_on_the_label(variant):
    shape = (1, 16, 16)
    G, D = build(variant, shape)
    for m in G.modules():  # conditional BN starts label-blind (gain 1, bias 0, as in SNGAN): as if trained
        if isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight)
    z, y = inputs(G, shape)
    other = (y + 1) % K
    assert not torch.allclose(G(z, y), G(z, other))
    x = torch.rand(N, *shape) * 2 - 1
    assert not torch.allclose(D(x, y), D(x, other))


def test_label_maps_conv_equals_conv_over_concatenated_one_hot_channels():
    for kernel, stride, padding in [(4, 2, 1), (3, 1, 1), (4, 1, 0)]:
        conv = nn.Conv2d(3 + K, 7, kernel, stride, padding)
        x, y = torch.randn(N, 3, 8, 8), torch.tensor([0, 4, 2, 4])
        maps = F.one_hot(y, K).float()[:, :, None, None].expand(-1, -1, 8, 8)
        torch.testing.assert_close(conv_with_label_maps(conv, x, y), conv(torch.cat([x, maps], 1)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_spectral_d_norm_parametrizes_every_weight_layer_of_d(variant):
    _, D = build(variant, (3, 16, 16), d_norm="spectral")
    layers = weight_layers(D)
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) for m in D.modules())


@pytest.mark.parametrize("variant, default", [("dcgan", nn.BatchNorm2d), ("cgan", nn.BatchNorm2d),
                                              ("resnet", None), ("cyclegan", nn.InstanceNorm2d)])
def test_each_architecture_has_its_papers_default_d_norm(variant, default):
    _, D = build(variant, (1, 16, 16))
    spectral = any(parametrize.is_parametrized(m, "weight") for m in weight_layers(D))
    assert spectral == (default is None)  # resnet: SNGAN's spectral norm
    if default is not None:
        assert any(isinstance(m, default) for m in D.modules())


@pytest.mark.parametrize("d_norm, module", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm),
                                            ("instance", nn.InstanceNorm2d), ("none", None)])
@pytest.mark.parametrize("variant", ["dcgan", "resnet", "cyclegan"])
def test_d_norm_chooses_the_feature_norm_of_d(variant, d_norm, module):
    _, D = build(variant, (1, 16, 16), d_norm=d_norm)
    norms = {type(m) for m in D.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d))}
    assert norms == ({module} if module else set())
    assert not any(parametrize.is_parametrized(m, "weight") for m in weight_layers(D))


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_unknown_d_norm_is_refused_with_the_valid_choices(variant):
    with pytest.raises(ValueError, match="d_norm") as err:
        build(variant, (1, 16, 16), d_norm="weight")
    assert all(choice in str(err.value) for choice in D_NORMS)


@pytest.mark.parametrize("variant, options", [
    ("cgan", {"n_classes": 0}), ("cgan", {"n_classes": 1}),
    ("resnet", {"conditional": True, "n_classes": 0}),
    ("dcgan", {"conditional": True}), ("cyclegan", {"conditional": True}),
])
def test_conditioning_that_cannot_work_is_refused(variant, options):
    with pytest.raises(ValueError, match="conditional"):
        build(variant, (1, 16, 16), **options)


@pytest.mark.parametrize("shape", [(1, 12, 12), (1, 16, 32), (1, 4, 4), (256,)])
@pytest.mark.parametrize("variant", VARIANTS)
def test_image_models_refuse_shapes_that_are_not_square_powers_of_two(variant, shape):
    with pytest.raises(ValueError, match="power of two"):
        build(variant, shape)


def test_resnet_ignores_labels_unless_conditional():
    G, D = build("resnet", (1, 16, 16), n_classes=K)
    assert G.n_classes == D.n_classes == 0


def test_dcgan_weights_start_as_in_the_paper():
    G, D = build("dcgan", (3, 32, 32), hidden=16)
    for m in weight_layers(G) + weight_layers(D):
        assert abs(m.weight.std().item() - 0.02) < 0.005


def test_conditional_batch_norm_starts_as_plain_batch_norm_and_learns_per_class():
    cbn = ConditionalBatchNorm2d(3, K)
    x, y = torch.randn(N, 3, 4, 4), torch.arange(N) % K
    torch.testing.assert_close(cbn(x, y), F.batch_norm(x, None, None, training=True))
    with torch.no_grad():
        cbn.gain.weight[1] = 2.0
    out = cbn(x, y)
    torch.testing.assert_close(out[1], 2 * F.batch_norm(x, None, None, training=True)[1])
    torch.testing.assert_close(out[0], F.batch_norm(x, None, None, training=True)[0])


def test_cyclegan_pairs_two_translators_and_two_critics():
    G, D = build("cyclegan", (3, 16, 16))
    assert isinstance(G, CycleGenerators) and isinstance(D, CycleDiscriminators)
    assert G.is_cycle and G.ab is not G.ba and D.a is not D.b
    a = torch.rand(N, 3, 16, 16) * 2 - 1
    assert torch.equal(G(a), G.ab(a)) and torch.equal(D(a), D.b(a))
    assert not hasattr(MODELS.get("dcgan")((1, 16, 16), Z, hidden=8)[0], "is_cycle")


def test_cycle_losses_vanish_for_identity_translators_only():
    G, _ = build("cyclegan", (1, 16, 16))
    a, b = torch.rand(N, 1, 16, 16) * 2 - 1, torch.rand(N, 1, 16, 16) * 2 - 1
    cycle, identity = cycle_losses(G, a, b)
    assert cycle > 0 and identity > 0
    G.ab, G.ba = nn.Identity(), nn.Identity()
    cycle, identity = cycle_losses(G, a, b)
    assert cycle.item() == 0.0 and identity.item() == 0.0


def test_image_models_are_registered_with_descriptions():
    assert {"dcgan", "cgan", "resnet", "cyclegan"} <= set(MODELS.names())
    assert all(MODELS.describe(name) for name in ("dcgan", "cgan", "resnet", "cyclegan"))
