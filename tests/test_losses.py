"""Losses and penalties against closed forms (Goodfellow 2014, Mao 2017, Lim & Ye 2017,
Arjovsky 2017, Gulrajani 2017, Mescheder 2018, Jolicoeur-Martineau 2019, Huang et al. 2024)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.losses import (
    RSGAN,
    GANLoss,
    Hinge,
    LeastSquares,
    Minimax,
    NonSaturating,
    RaHinge,
    RaLSGAN,
    RaSGAN,
    RpGAN,
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
    for value in (loss.d_loss(r, f), loss.g_loss(f, r)):
        assert value.dim() == 0 and torch.isfinite(value)
    if not loss.g_uses_real:
        assert torch.isfinite(loss.g_loss(f))


def test_unknown_loss_lists_names_and_suggests_close_one():
    with pytest.raises(UnknownNameError) as info:
        make_loss("hinj")
    msg = str(info.value)
    assert "did you mean 'hinge'" in msg
    for name in LOSSES:
        assert name in msg
    assert isinstance(info.value, ValueError) and info.value.valid == LOSSES.names()


# --- relativistic losses (Jolicoeur-Martineau 2019; R3GAN's RpGAN, Huang et al. 2024) ---------

RELATIVISTIC = ("rsgan", "rpgan", "rasgan", "ralsgan", "rahinge")
NON_RELATIVISTIC = ("minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgan-gp")
# value of L_D and L_G when every real and fake logit is the same c: the relativistic
# differences are all 0. RaLSGAN / RaHinge use AlexiaJM's 1/2: (1 + 1)/2 = 1, (relu(1) + relu(1))/2 = 1.
AT_EQUAL_LOGITS = {"rsgan": math.log(2), "rpgan": math.log(2), "rasgan": math.log(2), "ralsgan": 1.0, "rahinge": 1.0}


def _logits(n=32, seed=5, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return tuple(scale * torch.randn(n, generator=g, dtype=torch.float64) for _ in range(2))


def test_relativistic_losses_are_registered_with_their_classes():
    classes = {"rsgan": RSGAN, "rpgan": RpGAN, "rasgan": RaSGAN, "ralsgan": RaLSGAN, "rahinge": RaHinge}
    for name, cls in classes.items():
        loss = make_loss(name, clip=0.05, gp_weight=3)
        assert type(loss) is cls and loss.g_uses_real
        assert not loss.probabilistic and loss.equilibrium is None
        assert loss.clip is None and loss.gp_weight == 0.0
        assert LOSSES.describe(name)  # first docstring line, printed by `bench.py list losses`
    assert "Huang" in LOSSES.describe("rpgan") and "Jolicoeur-Martineau" in LOSSES.describe("rsgan")
    assert GANLoss.g_uses_real is False
    for name in NON_RELATIVISTIC:
        assert make_loss(name).g_uses_real is False


@pytest.mark.parametrize("name", RELATIVISTIC)
@pytest.mark.parametrize("c", [-7.0, 0.0, 0.3, 12.0])
def test_relativistic_closed_form_at_equal_logits(name, c):
    loss = make_loss(name)
    same = torch.full((16,), c, dtype=torch.float64)
    assert loss.d_loss(same, same).item() == pytest.approx(AT_EQUAL_LOGITS[name], rel=1e-12)
    assert loss.g_loss(same, same).item() == pytest.approx(AT_EQUAL_LOGITS[name], rel=1e-12)


@pytest.mark.parametrize("name", ("rsgan", "rpgan", "rasgan"))
def test_relativistic_bce_losses_depend_on_differences_only(name):
    """RSGAN / RaSGAN see C only through C(x_r) - C(x_f): log 2 at any common value, and a shift of both is free."""
    loss = make_loss(name)
    r, f = _logits()
    assert loss.d_loss(r + 3.7, f + 3.7).item() == pytest.approx(loss.d_loss(r, f).item(), rel=1e-12)
    assert loss.g_loss(f - 2.0, r - 2.0).item() == pytest.approx(loss.g_loss(f, r).item(), rel=1e-12)


def test_relativistic_losses_match_their_formulas():
    r, f = _logits()
    sp, relu = torch.nn.functional.softplus, torch.nn.functional.relu
    expected_d = {
        "rsgan": sp(-(r - f)).mean(),
        "rasgan": (sp(-(r - f.mean())).mean() + sp(f - r.mean()).mean()) / 2,
        "ralsgan": (((r - f.mean() - 1) ** 2).mean() + ((f - r.mean() + 1) ** 2).mean()) / 2,
        "rahinge": (relu(1 - (r - f.mean())).mean() + relu(1 + (f - r.mean())).mean()) / 2,
    }
    expected_g = {  # AlexiaJM/RelativisticGAN's G losses: real and fake swapped
        "rsgan": sp(-(f - r)).mean(),
        "rasgan": (sp(r - f.mean()).mean() + sp(-(f - r.mean())).mean()) / 2,
        "ralsgan": (((r - f.mean() + 1) ** 2).mean() + ((f - r.mean() - 1) ** 2).mean()) / 2,
        "rahinge": (relu(1 + (r - f.mean())).mean() + relu(1 - (f - r.mean())).mean()) / 2,
    }
    for name in expected_d:
        loss = make_loss(name)
        assert loss.d_loss(r, f).item() == pytest.approx(expected_d[name].item(), rel=1e-12)
        assert loss.g_loss(f, r).item() == pytest.approx(expected_g[name].item(), rel=1e-12)


def test_rpgan_and_rsgan_agree():
    r, f = _logits(seed=7)
    assert torch.equal(RpGAN().d_loss(r, f), RSGAN().d_loss(r, f))
    assert torch.equal(RpGAN().g_loss(f, r), RSGAN().g_loss(f, r))
    assert RpGAN.__doc__.splitlines()[0] != RSGAN.__doc__.splitlines()[0]


def test_rsgan_pairs_the_ith_real_with_the_ith_fake():
    """Paired, not all pairs: reordering the fakes changes L_D (softplus is not linear)."""
    r = torch.tensor([0.0, 4.0], dtype=torch.float64)
    f = torch.tensor([-4.0, 0.0], dtype=torch.float64)
    paired = (math.log1p(math.exp(-4.0)) * 2) / 2
    assert RSGAN().d_loss(r, f).item() == pytest.approx(paired, rel=1e-12)
    swapped = (math.log1p(math.exp(0.0)) + math.log1p(math.exp(-8.0))) / 2
    assert RSGAN().d_loss(r, f.flip(0)).item() == pytest.approx(swapped, rel=1e-12)


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_d_gradient_raises_real_and_lowers_fake(name):
    """Descending L_D pushes C(x_r) up and C(x_f) down (inside the hinge margin for RaHinge)."""
    loss = make_loss(name)
    r, f = _logits(scale=0.1)  # small logits: all inside RaHinge's margins, RaLSGAN below its targets
    r, f = r.clone().requires_grad_(True), f.clone().requires_grad_(True)
    gr, gf = torch.autograd.grad(loss.d_loss(r, f), (r, f))
    assert (gr < 0).all() and (gf > 0).all()
    # one small descent step on the logits lowers L_D; the G loss moves the fakes the other way
    with torch.no_grad():
        assert loss.d_loss(r - 0.01 * gr, f - 0.01 * gf) < loss.d_loss(r, f)
    (gg,) = torch.autograd.grad(loss.g_loss(f, r), f)
    assert (gg < 0).all()


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_d_loss_falls_as_real_logits_rise_and_fake_logits_fall(name):
    """Shifting real up and fake down by t widens every gap by 2 t; up to a gap of 1 (RaLSGAN's
    target, RaHinge's margin; beyond it RaLSGAN rises again and RaHinge is flat at 0) L_D falls."""
    loss = make_loss(name)
    r, f = _logits(scale=0.05)
    values = [loss.d_loss(r + t, f - t).item() for t in (0.0, 0.1, 0.2, 0.3)]
    assert all(a > b for a, b in zip(values, values[1:]))


@pytest.mark.parametrize("name", ("rasgan", "ralsgan", "rahinge"))
def test_averaged_losses_keep_the_minibatch_means_in_the_graph(name):
    """The mean over the other batch is not detached: a fake logit gets gradient from the real term too."""
    loss = make_loss(name)
    r, f = _logits(n=8, scale=0.1)
    f = f.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss.d_loss(r, f), f)
    # analytic gradient of RaLSGAN's L_D with respect to f_j, both terms included
    if name == "ralsgan":
        n = f.numel()
        expected = (-(r - f.mean() - 1).mean() * 2 / n + 2 * (f - r.mean() + 1) / n) / 2
        assert torch.allclose(g, expected.detach(), rtol=1e-12, atol=0)
    # the real term alone is constant in f only if the mean were detached: check it is not
    only_real = {"rasgan": lambda: torch.nn.functional.softplus(-(r - f.mean())).mean(),
                 "ralsgan": lambda: ((r - f.mean() - 1) ** 2).mean(),
                 "rahinge": lambda: torch.nn.functional.relu(1 - (r - f.mean())).mean()}[name]
    (g_real,) = torch.autograd.grad(only_real(), f)
    assert (g_real.abs() > 0).all()


@pytest.mark.parametrize("name", RELATIVISTIC)
def test_relativistic_g_loss_needs_real_outputs(name):
    loss = make_loss(name)
    f = torch.zeros(4)
    with pytest.raises(ValueError, match="real"):
        loss.g_loss(f)
    with pytest.raises(ValueError, match="real"):
        loss.g_loss(f, None)


@pytest.mark.parametrize("name", NON_RELATIVISTIC)
def test_non_relativistic_g_loss_ignores_real_outputs(name):
    loss = make_loss(name)
    r, f = _logits(seed=9)
    assert torch.equal(loss.g_loss(f, r), loss.g_loss(f))
    assert torch.equal(loss.g_loss(f, real_out=100 * r), loss.g_loss(f))


@pytest.mark.parametrize("name", RELATIVISTIC + NON_RELATIVISTIC)
def test_every_loss_runs_under_vmap_over_stacked_trials(name):
    """training.stacked: torch.vmap(loss.d_loss) and torch.vmap(lambda f, r: loss.g_loss(f, r)) over [M, n]."""
    loss = make_loss(name)
    g = torch.Generator().manual_seed(11)
    r, f = (2 * torch.randn(3, 20, generator=g, dtype=torch.float64) for _ in range(2))
    d = torch.vmap(loss.d_loss)(r, f)
    gl = torch.vmap(lambda fo, ro: loss.g_loss(fo, ro))(f, r)
    assert d.shape == gl.shape == (3,)
    for i in range(3):
        assert d[i].item() == pytest.approx(loss.d_loss(r[i], f[i]).item(), rel=1e-12)
        assert gl[i].item() == pytest.approx(loss.g_loss(f[i], r[i]).item(), rel=1e-12)
    # gradients through vmap equal the per-trial gradients
    rr, ff = r.clone().requires_grad_(True), f.clone().requires_grad_(True)
    gr, gf = torch.autograd.grad(torch.vmap(loss.d_loss)(rr, ff).sum(), (rr, ff))
    for i in range(3):
        ri, fi = r[i].clone().requires_grad_(True), f[i].clone().requires_grad_(True)
        gri, gfi = torch.autograd.grad(loss.d_loss(ri, fi), (ri, fi))
        assert torch.allclose(gr[i], gri, rtol=1e-12, atol=1e-15) and torch.allclose(gf[i], gfi, rtol=1e-12, atol=1e-15)


def _dirac_relativistic_d_optimum(loss, theta, steps=2000, lr=0.1):
    """Dirac GAN (Mescheder et al. 2018): data at 0, G at theta, linear critic C(x) = psi x. Here
    C(x_r) - C(x_f) = -psi theta; fit psi by gradient descent on L_D and return it."""
    psi = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([psi], lr=lr)
    real, fake = torch.zeros(4, dtype=torch.float64), torch.full((4,), theta, dtype=torch.float64)
    for _ in range(steps):
        opt.zero_grad()
        loss.d_loss(psi * real, psi * fake).backward()
        opt.step()
    return psi.detach()


@pytest.mark.parametrize("theta", [-0.5, 0.8])
def test_dirac_gan_relativistic_closed_forms(theta):
    """Dirac GAN: with every fake at theta and every real at 0, the average over a Dirac batch is the
    value itself, so RaLSGAN's L_D = 1/2 [(-psi theta - 1)^2 + (psi theta + 1)^2] = (psi theta + 1)^2,
    minimised at psi theta = -1 (the real-minus-fake gap reaches the LS target 1), and RaHinge's L_D =
    relu(1 + psi theta) is 0 once psi theta <= -1. RSGAN's L_D = softplus(psi theta) has no minimum
    (psi theta -> -inf).
    """
    psi = _dirac_relativistic_d_optimum(RaLSGAN(), theta)
    assert (psi * theta).item() == pytest.approx(-1.0, abs=1e-8)
    for p in (0.3, -1.7):
        real, fake = torch.zeros(4, dtype=torch.float64), torch.full((4,), theta, dtype=torch.float64)
        rl, fl = p * real, p * fake
        assert RaLSGAN().d_loss(rl, fl).item() == pytest.approx((p * theta + 1) ** 2, rel=1e-12)
        assert RaHinge().d_loss(rl, fl).item() == pytest.approx(max(0.0, 1 + p * theta), abs=1e-12)
        assert RSGAN().d_loss(rl, fl).item() == pytest.approx(math.log1p(math.exp(p * theta)), rel=1e-12)
        assert RaSGAN().d_loss(rl, fl).item() == pytest.approx(math.log1p(math.exp(p * theta)), rel=1e-12)
        # G's losses are D's with the roles swapped: RaLSGAN's L_G = (psi theta - 1)^2 (G wants the fake ahead by 1)
        assert RaLSGAN().g_loss(fl, rl).item() == pytest.approx((p * theta - 1) ** 2, rel=1e-12)
        assert RSGAN().g_loss(fl, rl).item() == pytest.approx(math.log1p(math.exp(-p * theta)), rel=1e-12)
    # G's gradient on theta at a fixed psi: RSGAN d/dtheta softplus(-psi theta) = -psi sigmoid(-psi theta)
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    p = 1.3
    fake_logits, real_logits = p * th * torch.ones(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    (g,) = torch.autograd.grad(RSGAN().g_loss(fake_logits, real_logits), th)
    assert g.item() == pytest.approx(-p * torch.sigmoid(torch.tensor(-p * theta)).item(), rel=1e-6)
