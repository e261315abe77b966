"""Variants of Algorithm 1 in the one loop: packing, unrolling, instance noise, simultaneous updates,
consensus, EMA, relativistic G steps, z distributions and init; checked against closed forms."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.config import TrialConfig
from ganbench.training import build, train
from ganbench.training.loop import Solo, iteration
from ganbench.training.simultaneous import joint_update
from ganbench.training.updates import Stream, d_update, g_update, noise_scale, pack

pytestmark = pytest.mark.usefixtures("one_thread")


def ring(**kw) -> TrialConfig:
    base = dict(model="mlp", loss="nonsaturating", dataset="ring8", steps=20, eval_every=10, batch_size=16,
                hidden=16, eval_samples=200, device="cpu", lr_g=1e-3, lr_d=1e-3)
    return TrialConfig(**{**base, **kw})


def dirac(**kw) -> TrialConfig:
    base = dict(model="dirac", dataset="dirac", loss="nonsaturating", z_dim=1, optimizer="sgd", lr_g=0.1, lr_d=0.1,
                batch_size=4, eval_samples=4, steps=10, eval_every=10, device="cpu")
    return TrialConfig(**{**base, **kw})


def d_inputs(gan, cfg, update=d_update):
    seen = []
    hook = gan.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    update(gan, cfg, Stream(gan.device, 0, cfg.z_dist))
    hook.remove()
    return seen


# --- off means unchanged ------------------------------------------------------------------------


def test_off_values_train_exactly_as_the_plain_gan():
    plain = train(ring())
    for off in (dict(instance_noise=0.0, instance_noise_decay_steps=50), dict(z_dist="normal", init="default"),
                dict(pac=1, unroll_steps=0, consensus=0.0, g_ema=0.0, updates="alternating")):
        assert train(ring(**off)).curves == plain.curves, off


# --- packing (PacGAN) -------------------------------------------------------------------------


def test_packing_feeds_d_rows_of_m_distinct_samples():
    cfg = ring(pac=3)
    gan = build(cfg)
    real, fake = d_inputs(gan, cfg)
    assert real.shape == fake.shape == (16, 6)  # batch_size packed rows of 3 two-dimensional samples
    for rows in (real, fake):
        samples = rows.view(16, 3, 2)
        assert all(len({tuple(s.tolist()) for s in row}) == 3 for row in samples)
    first_layer = next(m for m in gan.D.modules() if isinstance(m, torch.nn.Linear))
    assert first_layer.in_features == 6 and first_layer.out_features == 16  # D's width is not rescaled


def test_pack_groups_consecutive_samples_on_the_feature_or_channel_axis():
    x = torch.arange(24.0).view(6, 2, 2, 1)  # six 2x2x1 "images"
    packed = pack(x, 2, 3)
    assert packed.shape == (3, 4, 2, 1) and torch.equal(packed[1, 2:], x[3])
    stacked = pack(torch.arange(24.0).view(2, 6, 2), 3, 1)  # a leading trial dimension is kept
    assert stacked.shape == (2, 2, 6) and torch.equal(stacked[1, 0], torch.arange(12.0, 18.0))


def test_a_packed_trial_trains_and_counts_packed_examples():
    result = train(ring(pac=2))
    assert result.status == "complete"
    assert result.metrics["samples_per_s"] == pytest.approx(result.metrics["steps_per_s"] * 16 * 2 * 2)


# --- unrolled GAN -------------------------------------------------------------------------------


def test_an_unrolled_g_gradient_matches_two_hand_written_d_steps_on_the_dirac_gan():
    cfg = dirac(unroll_steps=2, lr_d=0.3, lr_g=0.1)
    gan = build(cfg)
    theta0, psi0 = float(gan.G.theta.detach()), float(gan.D.psi.detach())
    g_update(gan, cfg, Stream(gan.device, 0))
    measured = float(gan.G.theta.grad)  # the gradient the G update stepped with
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(psi0, dtype=torch.float64)
    for _ in range(2):  # D's loss on data at 0 and fakes at theta: log 2 + softplus(psi theta)
        psi = psi - cfg.lr_d * theta * torch.sigmoid(psi * theta)
    (expected,) = torch.autograd.grad(F.softplus(-psi * theta), theta)  # G's non-saturating loss
    assert measured == pytest.approx(float(expected), rel=1e-5)
    assert float(gan.D.psi.detach()) == psi0  # the look-ahead never moves D itself


# --- instance noise -------------------------------------------------------------------------------


def test_instance_noise_reaches_every_d_input_and_decays_linearly():
    cfg = ring(instance_noise=0.5)
    gan = build(cfg)
    real, fake = d_inputs(gan, cfg)
    # ring8 lies on the radius-2 circle with std 0.02: noise of std 0.5 spreads the radius
    assert float(real.norm(dim=1).std()) > 0.3
    decaying = ring(instance_noise=0.5, instance_noise_decay_steps=10)
    assert [noise_scale(decaying, s) for s in (1, 6, 11, 20)] == pytest.approx([0.5, 0.25, 0.0, 0.0])


# --- simultaneous updates and consensus ------------------------------------------------------------


def test_simultaneous_gd_spirals_out_of_the_dirac_equilibrium_and_alternating_circles_it():
    """Mescheder et al. 2018, Fig. 2: with the unregularized (zero-sum) GAN, simultaneous gradient steps
    move away from (0, 0); alternating steps stay on a cycle around it (here at the start's distance sqrt 2)."""
    def distances(updates):
        result = train(dirac(loss="minimax", updates=updates, steps=500, eval_every=100, batch_size=8,
                             eval_samples=8))
        return [v for _, name, v in result.curves if name == "dirac_distance"]

    simultaneous, alternating = distances("simultaneous"), distances("alternating")
    assert all(b > a for a, b in zip(simultaneous, simultaneous[1:])) and simultaneous[-1] > 1.4 * math.sqrt(2)
    assert all(abs(d - math.sqrt(2)) < 0.1 * math.sqrt(2) for d in alternating)


def test_consensus_adds_exactly_the_gradient_norm_term_on_the_dirac_gan():
    gamma = 0.7
    cfg = dirac(updates="simultaneous", consensus=gamma, lr_d=0.05, lr_g=0.05)
    gan = build(cfg)
    theta0, psi0 = float(gan.G.theta.detach()), float(gan.D.psi.detach())
    joint_update(gan, cfg, Stream(gan.device, 0))
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(psi0, dtype=torch.float64, requires_grad=True)
    loss_d = math.log(2) + F.softplus(psi * theta)  # non-saturating GAN, data at 0, fakes at theta
    loss_g = F.softplus(-psi * theta)
    v = (torch.autograd.grad(loss_d, psi, create_graph=True)[0], torch.autograd.grad(loss_g, theta, create_graph=True)[0])
    term = gamma / 2 * (v[0] ** 2 + v[1] ** 2)
    (grad_psi,) = torch.autograd.grad(loss_d + term, psi, retain_graph=True)
    (grad_theta,) = torch.autograd.grad(loss_g + term, theta)
    assert float(gan.D.psi.grad) == pytest.approx(float(grad_psi), rel=1e-5)  # the gradients it stepped with
    assert float(gan.G.theta.grad) == pytest.approx(float(grad_theta), rel=1e-5)


def dirac_field(theta: Tensor, psi: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """The Dirac-GAN's minimax vector field regularized by consensus, (D component, G component), by hand.

    L_D = log 2 + softplus(psi theta), L_G = -softplus(psi theta) (data at 0, fakes at theta), so with
    s = sigmoid(psi theta), v = (dL_D/dpsi, dL_G/dtheta) = (theta s, -psi s) and 1/2 ||v||^2 = (theta^2 + psi^2) s^2/2.
    """
    s = torch.sigmoid(psi * theta)
    chain = (theta**2 + psi**2) * s * s * (1 - s)  # (theta^2 + psi^2) s s', s' = s (1 - s)
    d_component = theta * s + gamma * (psi * s**2 + chain * theta)  # d/dpsi of L_D + gamma/2 ||v||^2
    g_component = -psi * s + gamma * (theta * s**2 + chain * psi)  # d/dtheta of L_G + gamma/2 ||v||^2
    return d_component, g_component


def test_alternating_consensus_steps_follow_the_regularized_field_each_at_its_own_point():
    """Mescheder et al. 2018's alternating consensus optimization: the D step takes D's component of
    v + gamma grad 1/2 ||v||^2 at (theta, psi) = (1, 1); the G step, G's component after D has moved."""
    gamma, lr = 1.0, 0.1
    cfg = dirac(loss="minimax", consensus=gamma, batch_size=8, eval_samples=8)
    gan = build(cfg)
    stream = Stream(gan.device, 0)
    one = torch.tensor(1.0, dtype=torch.float64)
    theta0, psi0 = one.clone().requires_grad_(), one.clone().requires_grad_()
    assert (float(gan.G.theta.detach()), float(gan.D.psi.detach())) == (1.0, 1.0)

    # the hand-written field agrees with autograd on the two-parameter closed form
    loss_d, loss_g = math.log(2) + F.softplus(psi0 * theta0), -F.softplus(psi0 * theta0)
    v = (torch.autograd.grad(loss_d, psi0, create_graph=True)[0],
         torch.autograd.grad(loss_g, theta0, create_graph=True)[0])
    term = gamma / 2 * (v[0] ** 2 + v[1] ** 2)
    by_autograd = (torch.autograd.grad(loss_d + term, psi0, retain_graph=True)[0],
                   torch.autograd.grad(loss_g + term, theta0)[0])
    d_field, g_field = dirac_field(one, one, gamma)
    assert (float(d_field), float(g_field)) == pytest.approx(tuple(map(float, by_autograd)), rel=1e-12)

    d_update(gan, cfg, stream)
    psi1 = float(gan.D.psi.detach())
    assert float(gan.G.theta.detach()) == 1.0  # a D step never moves G
    assert psi1 - 1.0 == pytest.approx(-lr * float(d_field), rel=1e-6)
    assert float(gan.D.psi.grad) == pytest.approx(float(d_field), rel=1e-6)

    g_update(gan, cfg, stream)
    _, g_field_after = dirac_field(one, torch.tensor(psi1, dtype=torch.float64), gamma)
    assert float(gan.D.psi.detach()) == psi1  # a G step never moves D
    assert float(gan.G.theta.grad) == pytest.approx(float(g_field_after), rel=1e-6)  # the gradient it stepped with
    assert float(gan.G.theta.detach()) - 1.0 == pytest.approx(-lr * float(g_field_after), abs=1e-7)  # theta: float32
    assert float(g_field) == pytest.approx(0.0909, abs=1e-4) and float(g_field_after) == pytest.approx(0.1112, abs=1e-4)
    # (G's component at the start, (1, 1), is 18% smaller: the step above could not have been taken there)


def dirac_distances(**kw) -> list[float]:
    """dirac_distance every 500 of 3,000 steps on suites/dirac.yaml's minimax Dirac-GAN."""
    result = train(dirac(loss="minimax", batch_size=8, eval_samples=8, steps=3000, eval_every=500, **kw))
    return [v for _, name, v in result.curves if name == "dirac_distance"]


def test_alternating_consensus_converges_on_the_dirac_gan_where_plain_alternating_circles():
    """Mescheder et al. 2018 (Dirac-GAN, alternating gradient descent): consensus optimization converges
    to (0, 0); without it the iterates keep circling at the start's distance (sqrt 2)."""
    regularized, plain = dirac_distances(consensus=1.0), dirac_distances()
    assert max(regularized) < 1e-3  # already at the first evaluation, step 500 (first below at step 290)
    assert min(plain) > 0.5


def test_alternating_consensus_draws_a_real_batch_per_g_step_and_is_refused_where_it_cannot_run():
    assert train(dirac(consensus=1.0)).status == "complete"
    result = train(ring(consensus=0.5))  # an MLP pair, non-saturating loss
    assert result.status == "complete"
    assert result.metrics["samples_per_s"] == pytest.approx(result.metrics["steps_per_s"] * 16 * (1 + 2))
    with pytest.raises(ValueError, match="set unroll_steps: 0"):
        dirac(consensus=1.0, unroll_steps=1)
    with pytest.raises(ValueError, match="consensus"):
        dirac(consensus=1.0, compile=True)
    with pytest.raises(ValueError, match="d_steps_per_g_step"):
        dirac(updates="simultaneous", d_steps_per_g_step=2)


# --- EMA generator -------------------------------------------------------------------------------


def test_the_ema_generator_is_the_moving_average_of_gs_weights_and_is_what_is_evaluated():
    beta = 0.8
    trainer = Solo(dirac(g_ema=beta))
    thetas = []
    for step in range(1, 6):
        trainer.gan.step = step
        iteration(trainer)
        thetas.append(float(trainer.gan.G.theta.detach()))
    expected = thetas[0]  # torch's AveragedModel starts from the first update's weights
    for theta in thetas[1:]:
        expected = beta * expected + (1 - beta) * theta
    assert float(trainer.trial(0).G.theta.detach()) == pytest.approx(expected, rel=1e-6)
    result = train(dirac(g_ema=beta))
    assert result.info["evaluated"] == "ema" and "evaluated" not in train(dirac()).info


# --- relativistic G steps, z and init ---------------------------------------------------------------


def test_a_relativistic_g_update_reads_a_real_batch_and_counts_it():
    cfg = ring(loss="rpgan")
    gan = build(cfg)
    seen = d_inputs(gan, cfg, update=g_update)
    assert len(seen) == 2  # D on G's samples, and on a real batch
    result = train(cfg)
    assert result.metrics["samples_per_s"] == pytest.approx(result.metrics["steps_per_s"] * 16 * (1 + 2))


def test_uniform_z_and_the_normal_002_init():
    stream = Stream(torch.device("cpu"), 0, "uniform")
    z = stream.z(4096, 3)
    assert float(z.min()) >= -1 and float(z.max()) <= 1 and abs(float(z.std()) - 1 / math.sqrt(3)) < 0.02
    gan = build(ring(init="normal_0.02", hidden=256))
    weights = torch.cat([m.weight.flatten() for m in gan.D.modules() if isinstance(m, torch.nn.Linear)])
    assert abs(float(weights.detach().std()) - 0.02) < 0.002
    assert all(float(m.bias.detach().abs().max()) == 0 for m in gan.G.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize("model, dataset, option, name", [
    ("cyclegan", "digits_invert", dict(pac=2), "pac=2"),
    ("cgan", "digits", dict(pac=2), "pac=2"),
    ("cgan", "digits", dict(unroll_steps=1), "unroll_steps=1"),
    ("cyclegan", "digits_invert", dict(instance_noise=0.1), "instance_noise"),
])
def test_variants_a_model_cannot_take_are_refused_by_name(model, dataset, option, name):
    with pytest.raises(ValueError, match=name):
        build(TrialConfig(model=model, loss="hinge", dataset=dataset, hidden=8, depth=1, **option)
              if model == "cyclegan" else TrialConfig(model=model, loss="hinge", dataset=dataset, hidden=8, **option))


@pytest.mark.parametrize("variant", [dict(pac=2), dict(unroll_steps=1), dict(instance_noise=0.1), dict(loss="rasgan"),
                                     dict(g_ema=0.9)])
def test_image_models_take_the_variants(variant):
    cfg = TrialConfig(**{**dict(model="dcgan", loss="hinge", dataset="digits", hidden=4, batch_size=8, steps=2,
                                eval_every=2, eval_samples=50, device="cpu"), **variant})
    if "pac" in variant:
        gan = build(cfg)
        assert next(gan.D.modules()).trunk[0].in_channels == 2  # two digits packed on the channel axis
    result = train(cfg)
    assert result.status == "complete" and math.isfinite(result.metrics["fid"])


def test_consensus_and_unrolling_are_refused_where_they_cannot_run():
    from ganbench.training.gan import variant_problems
    from ganbench.training.stacked import unsupported

    base = dict(model="mlp", loss="nonsaturating", dataset="ring8")
    with pytest.raises(ValueError, match="unroll_steps: simultaneous updates"):
        TrialConfig(**base, updates="simultaneous", unroll_steps=5)
    consensus = TrialConfig(**base, consensus=1.0)
    assert any("consensus" in what for what in unsupported(consensus))  # stacked trials
    assert any("consensus" in what for what in variant_problems(consensus, is_cycle=True, conditional=False))
    assert variant_problems(consensus, is_cycle=False, conditional=False) == []


def test_dirac_rows_record_the_point_theta_psi_of_the_trajectory():
    # R1 on the Dirac-GAN: the recorded point is the models' own parameters, and its norm is dirac_distance
    cfg = TrialConfig(model="dirac", loss="minimax", dataset="dirac", optimizer="sgd", lr_g=0.1, lr_d=0.1,
                      batch_size=8, z_dim=1, eval_samples=8, steps=40, eval_every=20, r1=0.3)
    assert build(cfg).G.theta.item() == 1.0  # the start
    result = train(cfg)
    curves = {(step, name): value for step, name, value in result.curves}
    for step in (20, 40):
        theta, psi = curves[(step, "dirac_theta")], curves[(step, "dirac_psi")]
        assert math.hypot(theta, psi) == pytest.approx(curves[(step, "dirac_distance")], rel=1e-9)
    assert abs(result.metrics["dirac_theta"]) < 1.0  # R1 pulls it in towards the equilibrium
