"""Losses and penalties against closed forms (Goodfellow 2014, Mao 2017, Lim & Ye 2017,
Arjovsky 2017, Gulrajani 2017, Mescheder 2018)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.losses import (
    Hinge,
    LeastSquares,
    Minimax,
    NonSaturating,
    Wasserstein,
    WassersteinGP,
    gradient_penalty,
    make_loss,
    r1_penalty,
    r2_penalty,
    value_fn,
)
from ganbench.registry import LOSSES, UnknownNameError

LOG4 = math.log(4.0)


def _linear_critic(w: torch.Tensor) -> nn.Module:
    """D(x) = w . x, returning shape (n,) as every D in the package does."""
    lin = nn.Linear(w.numel(), 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(w.double().view(1, -1))
    return nn.Sequential(lin, nn.Flatten(0))


class _QuadraticCritic(nn.Module):
    """D(x) = c * ||x||^2, so dD/dx = 2 c x depends on where it is taken (real vs fake)."""

    def __init__(self, c: float):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c, dtype=torch.float64))

    def forward(self, x):
        return self.c * x.pow(2).sum(1)


def _batch(n=64, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64) + 2


# --- the GAN paper's game ---------------------------------------------------------------


def test_value_at_d_one_half_is_minus_log4():
    zeros = torch.zeros(100)
    assert value_fn(zeros, zeros).item() == pytest.approx(-LOG4, abs=1e-6)
    assert Minimax().d_loss(zeros, zeros).item() == pytest.approx(LOG4, abs=1e-6)


def test_value_fn_matches_its_definition():
    g = torch.Generator().manual_seed(1)
    r, f = torch.randn(50, generator=g, dtype=torch.float64), torch.randn(50, generator=g, dtype=torch.float64)
    expected = torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()
    assert value_fn(r, f).item() == pytest.approx(expected.item(), rel=1e-12)


def test_nonsaturating_has_the_minimax_d_loss():
    g = torch.Generator().manual_seed(2)
    r, f = 3 * torch.randn(40, generator=g), 3 * torch.randn(40, generator=g)
    assert torch.equal(NonSaturating().d_loss(r, f), Minimax().d_loss(r, f))


def _grad_of_g_loss(loss, logits):
    logits = logits.clone().double().requires_grad_(True)
    (g,) = torch.autograd.grad(loss.g_loss(logits), logits)
    return g * logits.numel()  # g_loss is a mean: undo the 1/n per element


def test_saturating_g_gradient_vanishes_when_d_rejects_fakes():
    """Goodfellow 2014 Sec. 3: log(1 - D(G(z))) saturates early in training; -log D(G(z)) does not."""
    l = torch.tensor([-20.0])
    sat, nonsat = _grad_of_g_loss(Minimax(), l), _grad_of_g_loss(NonSaturating(), l)
    assert abs(sat.item()) < 1e-6
    assert nonsat.item() == pytest.approx(-(1 - torch.sigmoid(l.double())).item(), rel=1e-12)
    assert abs(nonsat.item()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("l", [-5.0, -1.0, 0.0, 0.7, 3.0])
def test_g_loss_closed_form_gradients(l):
    t = torch.tensor([l], dtype=torch.float64)
    s = torch.sigmoid(t).item()
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l);  d/dl [-log sigmoid(l)] = -(1 - sigmoid(l))
    assert _grad_of_g_loss(Minimax(), t).item() == pytest.approx(-s, rel=1e-10)
    assert _grad_of_g_loss(NonSaturating(), t).item() == pytest.approx(-(1 - s), rel=1e-10, abs=1e-15)
    assert Minimax().g_loss(t).item() == pytest.approx(math.log(1 - s), rel=1e-10)
    assert NonSaturating().g_loss(t).item() == pytest.approx(-math.log(s), rel=1e-10)


# Optimal D for fixed densities on a 4-point support: point i has data mass p_i, model mass q_i.
P_COUNTS, Q_COUNTS = [5, 3, 2, 0], [1, 2, 3, 4]  # out of 10


def _minimise_d_table(loss, init, steps=300, lr=2.0):
    """Fit D as a free table over the support by gradient descent on loss.d_loss."""
    real_idx = torch.repeat_interleave(torch.arange(4), torch.tensor(P_COUNTS))
    fake_idx = torch.repeat_interleave(torch.arange(4), torch.tensor(Q_COUNTS))
    table = torch.full((4,), init, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([table], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss.d_loss(table[real_idx], table[fake_idx]).backward()
        opt.step()
    return table.detach()


def test_lsgan_optimal_d_is_p_over_p_plus_q():
    """Mao et al. 2017 with a=0, b=1: argmin 1/2 p (D-1)^2 + 1/2 q D^2 = p / (p + q)."""
    d = _minimise_d_table(LeastSquares(), 0.5)
    expected = torch.tensor([p / (p + q) for p, q in zip(P_COUNTS, Q_COUNTS)], dtype=torch.float64)
    assert torch.allclose(d, expected, atol=1e-8)


def test_minimax_optimal_d_is_p_over_p_plus_q():
    """Goodfellow 2014 Prop. 1 on the support where both densities are positive."""
    d = torch.sigmoid(_minimise_d_table(Minimax(), 0.0, steps=400, lr=5.0))
    for i, (p, q) in enumerate(zip(P_COUNTS, Q_COUNTS)):
        if p and q:
            assert d[i].item() == pytest.approx(p / (p + q), abs=1e-6)
    assert d[3].item() < 0.05  # p = 0: D is driven towards 0


def test_lsgan_at_one_half():
    half = torch.full((10,), 0.5)
    assert LeastSquares().d_loss(half, half).item() == pytest.approx(0.25)
    assert LeastSquares().g_loss(half).item() == pytest.approx(0.125)


# --- hinge and Wasserstein ------------------------------------------------------------


def test_hinge_is_zero_beyond_the_margins():
    real = torch.tensor([1.0, 1.5, 7.0])
    fake = torch.tensor([-1.0, -3.0, -1.01])
    assert Hinge().d_loss(real, fake).item() == 0.0
    # inside the margin: relu(1 - 0) + relu(1 + 0) = 2
    assert Hinge().d_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(2.0)
    assert Hinge().g_loss(fake).item() == pytest.approx(-fake.mean().item())


def test_wgan_critic_loss_and_parameters():
    real, fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.5])
    assert Wasserstein().d_loss(real, fake).item() == pytest.approx(fake.mean().item() - real.mean().item())
    assert Wasserstein().g_loss(fake).item() == pytest.approx(-fake.mean().item())
    w = make_loss("wgan", clip=0.05)
    assert isinstance(w, Wasserstein) and w.clip == 0.05 and w.gp_weight == 0.0
    gp = make_loss("wgan-gp", gp_weight=3)
    assert isinstance(gp, WassersteinGP) and gp.gp_weight == 3 and gp.clip is None
    # parameters of other losses are ignored, and no other loss clips or penalises
    for name in ("minimax", "nonsaturating", "lsgan", "hinge"):
        other = make_loss(name, clip=0.05, gp_weight=3)
        assert other.clip is None and other.gp_weight == 0.0


# --- gradient penalties -------------------------------------------------------------------


def test_gradient_penalty_zero_for_unit_slope_linear_critic():
    w = torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)
    real, fake = _batch()
    assert gradient_penalty(_linear_critic(w), real, fake).item() < 1e-12


@pytest.mark.parametrize("scale", [0.0, 0.3, 2.5])
def test_gradient_penalty_of_linear_critic_is_norm_minus_one_squared(scale):
    w = scale * torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)
    real, fake = _batch()
    # the package adds 1e-12 under the square root (finite gradient at 0): ||grad|| -> sqrt(scale^2 + 1e-12)
    expected = (math.sqrt(scale**2 + 1e-12) - 1) ** 2
    assert gradient_penalty(_linear_critic(w), real, fake).item() == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx((scale - 1) ** 2, abs=3e-6)


@pytest.mark.parametrize("penalty", [r1_penalty, r2_penalty])
def test_r1_r2_of_linear_critic_is_half_squared_norm(penalty):
    w = torch.tensor([1.0, -2.0, 0.5])
    D = _linear_critic(w)
    real, fake = _batch()
    value = penalty(D, real, fake)
    assert value.item() == pytest.approx(0.5 * w.pow(2).sum().item(), rel=1e-12)
    # differentiable w.r.t. D's parameters (create_graph): d/dw 1/2 ||w||^2 = w
    value.backward()
    assert torch.allclose(D[0].weight.grad.view(-1), w.double(), atol=1e-12)


def test_r1_uses_real_and_r2_uses_fake():
    c = 0.7
    D = _QuadraticCritic(c)
    real, fake = _batch()
    # grad_x (c ||x||^2) = 2 c x, so 1/2 E ||2 c x||^2 = 2 c^2 E ||x||^2
    r1, r2 = r1_penalty(D, real, fake), r2_penalty(D, real, fake)
    assert r1.item() == pytest.approx(2 * c**2 * real.pow(2).sum(1).mean().item(), rel=1e-12)
    assert r2.item() == pytest.approx(2 * c**2 * fake.pow(2).sum(1).mean().item(), rel=1e-12)
    (g,) = torch.autograd.grad(r1, D.c)
    assert g.item() == pytest.approx(4 * c * real.pow(2).sum(1).mean().item(), rel=1e-12)


def test_penalties_do_not_leak_gradients_into_inputs():
    D = _linear_critic(torch.tensor([1.0, 1.0, 1.0]))
    real, fake = _batch()
    real.requires_grad_(True)
    fake.requires_grad_(True)
    for penalty in (r1_penalty, r2_penalty, gradient_penalty):
        penalty(D, real, fake).backward()
    assert real.grad is None and fake.grad is None


# --- registry --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_registered_loss_gives_finite_scalars(name):
    g = torch.Generator().manual_seed(3)
    r, f = 4 * torch.randn(32, generator=g), 4 * torch.randn(32, generator=g)
    loss = make_loss(name)
    for value in (loss.d_loss(r, f), loss.g_loss(f)):
        assert value.dim() == 0 and torch.isfinite(value)


def test_unknown_loss_lists_names_and_suggests_close_one():
    with pytest.raises(UnknownNameError) as info:
        make_loss("hinj")
    msg = str(info.value)
    assert "did you mean 'hinge'" in msg
    for name in LOSSES:
        assert name in msg
    assert isinstance(info.value, ValueError) and info.value.valid == LOSSES.names()
