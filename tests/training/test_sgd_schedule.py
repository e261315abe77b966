"""SGD's momentum ramp and exponential learning-rate decay (pylearn2's semantics, Goodfellow et al. 2014), and
the Goodfellow MNIST protocol's options: in closed form, on the optimizers the harness really trains with."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch

from ganbench.config import TrialConfig
from ganbench.suite import read_suite
from ganbench.training.gan import make_models
from ganbench.training.loop import Solo, run
from ganbench.training.optim import apply_schedule, momentum_at
from ganbench.training.stacked import Stacked, batch_key, check_stackable
from ganbench.training.updates import draw_z

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE = dict(optimizer="sgd", lr_g=0.1, lr_d=0.05, momentum=0.5, momentum_final=0.7, momentum_saturate_steps=6,
                momentum_every=2, lr_decay=1.5, lr_min=0.01)


def cfg(**kw) -> TrialConfig:
    base = dict(model="mlp", loss="nonsaturating", dataset="ring8", steps=5, eval_every=5, batch_size=32,
                hidden=16, eval_samples=200, device="cpu")
    return TrialConfig(**{**base, **kw})


def expected(t: int, lr0: float) -> tuple[float, float]:
    """lr_t = max(lr0 / 1.5^t, 0.01); mu_t = 0.5 + 0.2 min(1, 2 floor(t / 2) / 6)."""
    return max(lr0 / 1.5**t, 0.01), 0.5 + 0.2 * min(1.0, 2 * (t // 2) / 6)


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
@pytest.mark.parametrize("steps", [1, 4, 10])  # t = 0; t = 3, mid-ramp and mid-decay; t = 9, past both
def test_both_players_sgd_holds_the_scheduled_lr_and_momentum_after_training(steps, updates):
    trainer = Solo(cfg(steps=steps, eval_every=steps, updates=updates, **SCHEDULE))
    run(trainer, time.perf_counter())
    t = steps - 1  # the last iteration trained had t = steps - 1 updates before it
    for opt, lr0 in ((trainer.gan.opt_g, 0.1), (trainer.gan.opt_d, 0.05)):
        assert isinstance(opt, torch.optim.SGD)
        lr, mu = expected(t, lr0)
        for group in opt.param_groups:
            assert group["lr"] == pytest.approx(lr, rel=1e-12)
            assert group["momentum"] == pytest.approx(mu, rel=1e-12)
    if steps == 10:  # both floors reached: 0.1 / 1.5^9 = 0.0026 and 0.05 / 1.5^9 are below lr_min
        assert trainer.gan.opt_g.param_groups[0]["lr"] == trainer.gan.opt_d.param_groups[0]["lr"] == 0.01


def test_updates_are_pylearn2_momentum_exactly_while_lr_and_momentum_change():
    """pylearn2's Momentum: v <- mu_t v - lr_t g; p <- p + v. On f(p) = |p|^2 / 2 (g = p), 12 steps."""
    c = cfg(**SCHEDULE)
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1, momentum=momentum_at(c, 0))
    ref, vel = p.detach().clone(), torch.zeros(3, dtype=torch.float64)
    for t in range(12):
        apply_schedule(opt, c, 0.1, t)
        opt.zero_grad()
        (0.5 * p.pow(2).sum()).backward()
        opt.step()
        lr, mu = expected(t, 0.1)
        vel = mu * vel - lr * ref
        ref = ref + vel
        torch.testing.assert_close(p.detach(), ref, rtol=1e-12, atol=1e-15)


def test_goodfellow_momentum_steps_once_per_epoch_as_pylearn2_momentum_adjustor():
    """MomentumAdjustor(start 1, saturate 250, final 0.7) runs once before training and after each epoch, so
    epoch e (1-based) trains at 0.5 + 0.2 clip((e - 1) / 249); an epoch is 50,000 / 100 = 500 iterations."""
    suite = read_suite(ROOT / "suites" / "papers" / "goodfellow-mnist.yaml", ["grid.dataset=[digits]"])
    c = suite.config(suite.cells()[0], 0)
    for epoch in (1, 2, 125, 249, 250, 251, 300):
        want = 0.5 * (1 - min(1.0, (epoch - 1) / 249)) + 0.7 * min(1.0, (epoch - 1) / 249)
        for t in ((epoch - 1) * 500, (epoch - 1) * 500 + 499):
            assert momentum_at(c, t) == pytest.approx(want, abs=1e-15)
    assert momentum_at(c, 124_499) < 0.7 == momentum_at(c, 124_500)


def test_goodfellow_lr_decays_per_update_for_both_players():
    suite = read_suite(ROOT / "suites" / "papers" / "goodfellow-mnist.yaml", ["grid.dataset=[digits]"])
    c = suite.config(suite.cells()[0], 0)
    from ganbench.training.optim import lr_at

    for t in (0, 1, 1000, 150_000):
        assert lr_at(c, c.lr_g, t) == pytest.approx(0.1 / 1.000004**t, rel=1e-9)
        assert lr_at(c, c.lr_d, t) == pytest.approx(0.05 / 1.000004**t, rel=1e-9)
    assert lr_at(c, c.lr_g, 10**8) == 1e-6  # ExponentialDecay's min_lr (no overflow at 1.000004^1e8)


@pytest.mark.parametrize("bad, match", [
    (dict(momentum=0.5), "take optimizer: sgd"),
    (dict(lr_decay=1.1), "take optimizer: sgd"),
    (dict(optimizer="sgd", momentum_final=0.7), "momentum_saturate_steps"),
    (dict(optimizer="sgd", momentum_saturate_steps=10), "set momentum_final"),
    (dict(optimizer="sgd", lr_decay=1.1, lr_min=1.0), "lr_min"),
    (dict(init="uniform", g_init_range=0.05), "g_init_range and d_init_range"),
    (dict(d_init_range=0.05), "g_init_range and d_init_range"),
])
def test_incomplete_schedules_and_inits_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        cfg(**bad)


def test_the_new_options_at_their_defaults_keep_trial_ids():
    plain = cfg()
    explicit = cfg(momentum=0.0, momentum_final=None, momentum_saturate_steps=0, momentum_every=1, lr_decay=1.0,
                   lr_min=0.0, d_dropout_input=None, d_dropout_output=0.0, g_init_range=None, d_init_range=None)
    assert plain.config_hash() == explicit.config_hash()
    assert cfg(optimizer="sgd", momentum=0.5).config_hash() != cfg(optimizer="sgd").config_hash()  # set: hashed


NEW_SGD_KEYS = {"optimizer": "sgd", "momentum": 0.3, "momentum_final": 0.9, "momentum_saturate_steps": 7,
                "momentum_every": 3, "lr_decay": 1.01, "lr_min": 1e-5}


@pytest.mark.parametrize("key", sorted(NEW_SGD_KEYS))
def test_trials_differing_in_an_sgd_option_never_share_a_stacked_batch(key):
    base = dict(optimizer="sgd", momentum=0.5, momentum_final=0.7, momentum_saturate_steps=6, momentum_every=2,
                lr_decay=1.5, lr_min=1e-6)
    if key == "optimizer":
        a, b = cfg(), cfg(optimizer="sgd")
    else:
        a, b = cfg(**base), cfg(**{**base, key: NEW_SGD_KEYS[key]})
    assert batch_key(a) != batch_key(b)
    with pytest.raises(ValueError, match="stacked"):
        check_stackable([a, b])


@pytest.mark.parametrize("key, value", [("d_dropout_input", 0.2), ("d_dropout_output", 0.5)])
def test_trials_differing_in_d_dropout_per_layer_never_share_a_stacked_batch(key, value):
    a, b = cfg(), cfg(**{key: value})
    assert batch_key(a) != batch_key(b)
    with pytest.raises(ValueError, match="no dropout"):
        check_stackable([a, b])


def test_stacked_trials_keep_their_own_z_distribution_and_init_range():
    cfgs = [cfg(seed=0, z_dist="uniform_sqrt3", init="uniform", g_init_range=0.05, d_init_range=0.005),
            cfg(seed=1, z_dist="uniform", init="uniform", g_init_range=0.5, d_init_range=0.3)]
    assert batch_key(cfgs[0]) == batch_key(cfgs[1])  # per-trial values: they may stack
    stacked = Stacked(cfgs)
    z = stacked.stream.z(20_000, 2)
    assert 1.6 < float(z[0].abs().max()) <= math.sqrt(3) and float(z[1].abs().max()) <= 1.0
    for i, bound in enumerate((0.05, 0.5)):
        weights = [w for name, w in stacked.gan.G.trial_state(i).items() if name.endswith("weight")]
        top = max(float(w.detach().abs().max()) for w in weights)
        assert 0.9 * bound < top <= float(torch.tensor(bound))  # the bound as float32 rounds it


def test_uniform_sqrt3_z_has_unit_variance_on_its_range():
    z = draw_z(200_000, 4, torch.Generator().manual_seed(0), "uniform_sqrt3")
    assert float(z.abs().max()) <= math.sqrt(3) and float(z.abs().max()) > 0.999 * math.sqrt(3)
    assert float(z.var()) == pytest.approx(1.0, abs=0.01)


def test_uniform_init_is_pylearn2_irange_with_zero_biases():
    from ganbench.registry import DATASETS

    c = cfg(dataset="digits", init="uniform", g_init_range=0.05, d_init_range=0.005, g_hidden=1200, d_hidden=240,
            d_maxout=5, z_dim=100)
    for net, bound in zip(make_models(c, DATASETS.get("digits")()), (0.05, 0.005)):
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                assert float(m.weight.detach().abs().max()) <= float(torch.tensor(bound))  # float32's bound
                assert float(m.weight.detach().std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)  # U[-a, a]
                assert not m.bias.any()


def test_goodfellow_protocol_trains_a_few_steps_on_the_bundled_digits():
    suite = read_suite(ROOT / "suites" / "papers" / "goodfellow-mnist.yaml",
                       ["grid.dataset=[digits]", "budget.steps=4", "budget.eval_every=4", "params.eval_samples=200"])
    c = suite.config(suite.cells()[0], 0)
    assert (c.optimizer, c.updates, c.z_dist, c.d_dropout_input, c.d_dropout, c.d_dropout_output) == \
        ("sgd", "simultaneous", "uniform_sqrt3", 0.2, 0.5, 0.5)
    trainer = Solo(c)
    [result] = run(trainer, time.perf_counter())
    assert result.status.value == "complete", result.message
    assert math.isfinite(result.metrics["parzen_ll"])
    lr, mu = trainer.gan.opt_g.param_groups[0]["lr"], trainer.gan.opt_g.param_groups[0]["momentum"]
    assert (lr, mu) == (pytest.approx(0.1 / 1.000004**3, rel=1e-12), 0.5)  # t = 3: inside the first epoch
    assert trainer.gan.opt_d.param_groups[0]["lr"] == pytest.approx(0.05 / 1.000004**3, rel=1e-12)


def test_sgd_momentum_is_sized_as_one_more_copy_of_the_weights():
    from ganbench.registry import DATASETS
    from ganbench.training.memory import estimate_memory, meta_models

    data = DATASETS.get("ring8")()
    plain, heavy = cfg(optimizer="sgd"), cfg(optimizer="sgd", momentum=0.5)
    a, b = (estimate_memory(c, data, meta_models(c, data)) for c in (plain, heavy))
    weights = a.params_g + a.params_d  # bytes of G's and D's parameters (mlp: no buffers)
    assert b.state - a.state == weights and a.state == 2 * weights  # weights, gradients (+ velocity)
