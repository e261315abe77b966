"""Model shapes and the Goodfellow 2014 / Mescheder 2018 building blocks."""
from __future__ import annotations

import pytest
import torch

from ganbench.models.dirac import dirac
from ganbench.models.mlp import Maxout, mlp
from ganbench.registry import MODELS


def test_maxout_is_the_max_over_its_linear_pieces():
    layer = Maxout(3, 4, pieces=5)
    x = torch.randn(7, 3)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).view(7, 4, 5)
    assert torch.equal(layer(x), pieces.max(-1).values)


@pytest.mark.parametrize("shape", [(1,), (2,), (1, 8, 8)])
@pytest.mark.parametrize("maxout, dropout", [(0, 0.0), (5, 0.5)])
def test_mlp_maps_z_to_data_shape_and_samples_to_one_output(shape, maxout, dropout):
    G, D = mlp(shape, 3, hidden=16, depth=2, d_maxout=maxout, d_dropout=dropout)
    x = G(torch.randn(10, 3))
    assert x.shape == (10, *shape)
    assert D(x).shape == (10,)
    assert any(isinstance(m, Maxout) for m in D.modules()) == (maxout >= 2)
    assert any(isinstance(m, torch.nn.Dropout) for m in D.modules()) == (dropout > 0)


def test_mlp_depth_sets_the_number_of_hidden_layers():
    G, D = mlp((2,), 2, hidden=8, depth=4)
    linears = lambda net: sum(isinstance(m, torch.nn.Linear) for m in net.modules())  # noqa: E731
    assert linears(G) == 5 and linears(D) == 5


def test_dirac_pair_starts_at_theta_psi_one_and_d_is_linear():
    G, D = dirac((1,), 1)
    assert torch.equal(G(torch.randn(4, 1)), torch.ones(4, 1))
    x = torch.tensor([[0.0], [2.0], [-3.0]])
    assert torch.equal(D(x), torch.tensor([0.0, 2.0, -3.0]))


def test_dirac_refuses_data_that_is_not_one_dimensional():
    with pytest.raises(ValueError, match="1-D"):
        dirac((2,), 2)


def test_registry_holds_the_models_with_descriptions():
    assert {"mlp", "dirac"} <= set(MODELS.names())
    assert all(MODELS.describe(n) for n in MODELS.names())


# --- the mlp knobs: separate G/D widths and depths, G batch norm, D spectral/layer norm --------------------


def _old_mlp(data_shape, z_dim, hidden, depth, maxout, dropout):
    """mlp as it was before g_hidden/g_depth/d_hidden/d_depth/g_norm/d_norm (a verbatim copy of its layers)."""
    import math

    from torch import nn

    g: list = []
    width = z_dim
    for _ in range(depth):
        g += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    g += [nn.Linear(width, math.prod(data_shape)), nn.Unflatten(1, data_shape)]
    d: list = [nn.Flatten()]
    width = math.prod(data_shape)
    for _ in range(depth):
        if dropout > 0:
            d.append(nn.Dropout(dropout))
        if maxout >= 2:
            d.append(Maxout(width, hidden, maxout))
        else:
            d += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    d += [nn.Linear(width, 1), nn.Flatten(0)]
    return nn.Sequential(*g), nn.Sequential(*d)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("shape, maxout, dropout", [((2,), 0, 0.0), ((1, 8, 8), 5, 0.5)])
@pytest.mark.parametrize("new_options", [{}, dict(g_hidden=None, g_depth=None, d_hidden=None, d_depth=None,
                                                  g_norm=None, d_norm=None),
                                         dict(g_hidden=16, g_depth=3, d_hidden=16, d_depth=3, g_norm="none",
                                              d_norm="none")])
def test_mlp_defaults_build_exactly_the_modules_of_before(shape, maxout, dropout, new_options):
    torch.manual_seed(7)
    G, D = mlp(shape, 3, hidden=16, depth=3, d_maxout=maxout, d_dropout=dropout, **new_options)
    torch.manual_seed(7)
    G0, D0 = _old_mlp(shape, 3, 16, 3, maxout, dropout)
    assert _same_state(G, G0) and _same_state(D, D0)
    assert repr(G) == repr(G0) and repr(D) == repr(D0)


def _linears(net: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in net.modules() if isinstance(m, torch.nn.Linear)]


def test_mlp_g_and_d_take_their_own_width_and_depth():
    G, D = mlp((2,), 3, hidden=8, depth=2, g_hidden=32, g_depth=4, d_hidden=12, d_depth=1)
    assert [m.out_features for m in _linears(G)] == [32, 32, 32, 32, 2]
    assert [m.out_features for m in _linears(D)] == [12, 1]
    G, D = mlp((2,), 3, hidden=8, depth=2, d_hidden=12)  # unset: hidden and depth
    assert [m.out_features for m in _linears(G)] == [8, 8, 2]
    assert [m.out_features for m in _linears(D)] == [12, 12, 1]


@pytest.mark.parametrize("maxout, dropout", [(5, 0.5), (2, 0.0), (0, 0.3)])
def test_mlp_maxout_and_dropout_follow_d_width_and_depth(maxout, dropout):
    G, D = mlp((2,), 3, hidden=8, depth=2, d_hidden=20, d_depth=3, d_maxout=maxout, d_dropout=dropout)
    x = G(torch.randn(6, 3))
    assert D(x).shape == (6,)
    units = [m for m in D.modules() if isinstance(m, Maxout)]
    assert len(units) == (3 if maxout >= 2 else 0)
    assert all(u.d_out == 20 and u.linear.out_features == 20 * maxout for u in units)
    assert sum(isinstance(m, torch.nn.Dropout) for m in D.modules()) == (3 if dropout > 0 else 0)


def test_mlp_g_batch_norm_follows_each_hidden_linear_without_its_bias():
    G, _ = mlp((2,), 3, hidden=16, depth=3, g_norm="batch")
    layers = list(G)
    hidden = [i for i, m in enumerate(layers) if isinstance(m, torch.nn.Linear)][:-1]
    assert len(hidden) == 3
    for i in hidden:
        assert layers[i].bias is None and isinstance(layers[i + 1], torch.nn.BatchNorm1d)
        assert isinstance(layers[i + 2], torch.nn.ReLU)
    assert _linears(G)[-1].bias is not None  # the output layer keeps its bias
    x = G(torch.randn(10, 3))
    assert x.shape == (10, 2)
    x.sum().backward()
    assert all(p.grad is not None for p in G.parameters())


def test_mlp_d_spectral_norm_wraps_every_linear_of_d():
    from torch.nn.utils import parametrize

    for maxout in (0, 5):
        _, D = mlp((2,), 3, hidden=8, depth=2, d_maxout=maxout, d_norm="spectral")
        linears = _linears(D)
        assert len(linears) == 3 and all(parametrize.is_parametrized(m, "weight") for m in linears)
        assert D(torch.randn(4, 2)).shape == (4,)


def test_mlp_d_spectral_norm_bounds_each_layer_by_one():
    _, D = mlp((2,), 3, hidden=8, depth=2, d_norm="spectral")
    D.train()
    for _ in range(50):  # power iterations converge to the top singular value
        D(torch.randn(4, 2))
    D.eval()
    for m in _linears(D):
        assert torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("maxout", [0, 5])
def test_mlp_d_layer_norm_follows_each_hidden_layer(maxout):
    _, D = mlp((2,), 3, hidden=8, depth=3, d_hidden=10, d_maxout=maxout, d_norm="layer")
    norms = [m for m in D.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 3 and all(n.normalized_shape == (10,) for n in norms)
    assert D(torch.randn(4, 2)).shape == (4,)


@pytest.mark.parametrize("option, value", [("d_norm", "batch"), ("d_norm", "instance"), ("d_norm", "weight"),
                                           ("g_norm", "layer")])
def test_mlp_refuses_norms_it_does_not_take_naming_the_choices(option, value):
    with pytest.raises(ValueError, match=rf"{option}='{value}'") as info:
        mlp((2,), 3, **{option: value})
    choices = ("'none', 'layer', 'spectral'" if option == "d_norm" else "'none', 'batch'")
    assert choices in str(info.value)


def test_trial_options_reach_mlp_and_are_refused_by_models_without_them():
    from ganbench.config import TrialConfig
    from ganbench.registry import DATASETS
    from ganbench.training.gan import make_models

    data = DATASETS.get("ring8")()
    cfg = TrialConfig(model="mlp", loss="nonsaturating", dataset="ring8", g_hidden=24, d_depth=3, g_norm="batch",
                      d_norm="spectral")
    G, D = make_models(cfg, data)
    assert _linears(G)[0].out_features == 24 and len(_linears(D)) == 4
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in G.modules())
    dirac_cfg = TrialConfig(model="dirac", loss="nonsaturating", dataset="dirac", g_hidden=24)
    with pytest.raises(ValueError, match="does not use g_hidden=24"):
        make_models(dirac_cfg, DATASETS.get("dirac")())
