"""D's dropout per layer (mlp): the rate on each layer's input, measured on the module in train mode."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.config import TrialConfig
from ganbench.models.mlp import Maxout, discriminator, mlp
from ganbench.registry import DATASETS
from ganbench.training.gan import make_models


def layer_inputs(D: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """What each weight layer (maxout unit or Linear) of D receives, in order, for input x."""
    seen: list[torch.Tensor] = []
    hooks = [m.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach()))
             for m in D if isinstance(m, (Maxout, nn.Linear))]
    try:
        with torch.no_grad():
            D(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def goodfellow_d() -> nn.Module:
    """Goodfellow et al. 2014's MNIST D: 784 -> 2 x 240 maxout (5 pieces) -> 1, dropout 0.2 in, 0.5 after."""
    _, D = mlp((1, 28, 28), 100, d_hidden=240, d_depth=2, d_maxout=5, d_dropout=0.5, d_dropout_input=0.2,
               d_dropout_output=0.5)
    return D


def test_goodfellow_d_drops_each_layer_s_input_at_its_own_rate():
    torch.manual_seed(0)
    D = goodfellow_d().train()
    x = torch.ones(4096, 1, 28, 28)
    inputs = layer_inputs(D, x)
    assert len(inputs) == 3  # h0, h1, y
    for inp, rate in zip(inputs, (0.2, 0.5, 0.5)):
        zeros = float((inp == 0).double().mean())
        assert zeros == pytest.approx(rate, abs=0.01)
    # the kept inputs are scaled by 1 / keep: pylearn2's input_scales (1.25 for h0) as nn.Dropout's
    kept = inputs[0][inputs[0] != 0]
    torch.testing.assert_close(kept, torch.full_like(kept, 1.25))


def test_eval_mode_drops_nothing():
    D = goodfellow_d().eval()
    for inp in layer_inputs(D, torch.ones(512, 1, 28, 28)):
        assert not bool((inp == 0).any())


def test_the_module_list_puts_each_rate_before_its_layer():
    D = goodfellow_d()
    kinds = [(type(m).__name__, getattr(m, "p", None)) for m in D]
    assert kinds == [("Flatten", None), ("Dropout", 0.2), ("Maxout", None), ("Dropout", 0.5), ("Maxout", None),
                     ("Dropout", 0.5), ("Linear", None), ("Flatten", None)]


def test_d_dropout_alone_keeps_its_meaning_before_each_hidden_layer_and_not_the_output():
    D = discriminator((2,), 16, 3, 5, 0.2)
    rates = [m.p for m in D if isinstance(m, nn.Dropout)]
    assert rates == [0.2, 0.2, 0.2]
    assert isinstance(D[-2], nn.Linear) and not isinstance(D[-3], nn.Dropout)  # the output layer: no dropout
    # the defaults of the new options build the very same modules, in the same order
    same = discriminator((2,), 16, 3, 5, 0.2, None, None, 0.0)
    assert [type(m) for m in same] == [type(m) for m in D]


def test_input_dropout_alone_and_output_dropout_alone():
    only_input = discriminator((4,), 8, 2, 0, 0.0, dropout_input=0.3)
    assert [m.p for m in only_input if isinstance(m, nn.Dropout)] == [0.3]
    assert isinstance(only_input[1], nn.Dropout)
    only_output = discriminator((4,), 8, 2, 0, 0.0, dropout_output=0.4)
    assert [m.p for m in only_output if isinstance(m, nn.Dropout)] == [0.4]
    assert isinstance(only_output[-3], nn.Dropout) and isinstance(only_output[-2], nn.Linear)


def test_a_model_without_per_layer_dropout_refuses_it_by_name():
    c = TrialConfig(model="dcgan", loss="nonsaturating", dataset="digits32", hidden=8, d_dropout_input=0.2)
    with pytest.raises(ValueError, match="does not use d_dropout_input=0.2"):
        make_models(c, DATASETS.get("digits32")())
