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
