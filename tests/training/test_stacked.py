"""Batched trials: each stacked trial trains as it would alone; divergence stays in its own slice."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ganbench.training.stacked import Stacked, stacked_forward, train_stacked
from ganbench.training.stacked import batch_key as stacked_batch_key
from ganbench.config import TrialConfig
from ganbench.models.mlp import Maxout
from ganbench.training import train
from ganbench.training.loop import Solo, run
from ganbench.training.updates import d_update

pytestmark = pytest.mark.usefixtures("one_thread")


def cfg(**kw) -> TrialConfig:
    base = dict(model="mlp", loss="nonsaturating", dataset="ring8", steps=5, eval_every=5,
                batch_size=32, hidden=16, eval_samples=200, device="cpu")
    return TrialConfig(**{**base, **kw})


def trio(**kw) -> list[TrialConfig]:
    return [cfg(seed=0, lr_d=1e-3, lr_g=1e-3, **kw),
            cfg(seed=1, lr_d=3e-4, lr_g=2e-3, betas=(0.9, 0.99), **kw),
            cfg(seed=7, lr_d=2e-3, lr_g=5e-4, betas_d=(0.0, 0.9), **kw)]


@pytest.mark.parametrize("loss, k, m", [("nonsaturating", 1, 1), ("wgan", 3, 1), ("lsgan", 1, 2)])
def test_each_batched_trial_matches_the_same_trial_trained_alone(loss, k, m):
    cfgs = trio(loss=loss, steps=6, eval_every=3, d_steps_per_g_step=k, g_steps_per_d_step=m)
    results = train_stacked(cfgs)
    assert len(results) == 3
    for c, batched in zip(cfgs, results):
        alone = train(c)
        assert batched.status == alone.status == "complete" and batched.steps_done == 6
        assert [(s, n) for s, n, _ in batched.curves] == [(s, n) for s, n, _ in alone.curves]
        for (_, name, got), (_, _, want) in zip(batched.curves, alone.curves):
            if name in ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "modes_covered", "grad_norm_d"):
                assert got == pytest.approx(want, rel=1e-4, abs=1e-5), name
        assert len(batched.snapshots) == len(alone.snapshots) == 2
        assert batched.metrics["batch_trials"] == 3
        assert batched.metrics["samples_per_s"] == pytest.approx(batched.metrics["steps_per_s"] * 32 * (k + m))
    # different seeds and learning rates really are different trials
    assert results[0].metrics["d_loss"] != results[1].metrics["d_loss"]


def test_a_diverging_trial_is_marked_and_frozen_while_the_others_complete():
    cfgs = [cfg(seed=0, lr_d=1e-3), cfg(seed=1, lr_d=1e30, lr_g=1e30), cfg(seed=2, lr_d=1e-3)]
    results = train_stacked([c.model_copy(update=dict(steps=20, eval_every=10)) for c in cfgs])
    assert [r.status for r in results] == ["complete", "diverged", "complete"]
    assert "NaN" in results[1].message and results[1].steps_done == 10
    for r in (results[0], results[2]):
        assert r.steps_done == 20
        assert all(math.isfinite(r.metrics[k]) for k in ("d_loss", "g_loss", "d_real_mean", "grad_norm_d"))
    # the healthy trials are untouched by their diverging neighbour
    alone = train(cfgs[2].model_copy(update=dict(steps=20, eval_every=10)))
    assert results[2].metrics["d_loss"] == pytest.approx(alone.metrics["d_loss"], rel=1e-4, abs=1e-5)


def test_an_evaluation_callback_prunes_one_trial_and_leaves_the_others():
    calls = []

    def on_eval(i, step, metrics):
        calls.append((i, step))
        return i == 1

    results = train_stacked(trio(steps=6, eval_every=3), on_eval=on_eval)
    assert [r.status for r in results] == ["complete", "pruned", "complete"]
    assert results[1].steps_done == 3 and results[0].steps_done == 6
    assert calls == [(0, 3), (1, 3), (2, 3), (0, 6), (2, 6)]
    # a stop request at the last evaluation leaves the trial complete, as train() does
    last = train_stacked(trio(steps=6, eval_every=3), on_eval=lambda i, step, metrics: step == 6)
    assert [r.status for r in last] == ["complete"] * 3


def assert_matches_alone(cfgs, results, rel=1e-4, abs=1e-5):
    for c, stacked in zip(cfgs, results):
        alone = train(c)
        assert stacked.status == alone.status == "complete", (c.loss, stacked.message)
        assert [(s, n) for s, n, _ in stacked.curves] == [(s, n) for s, n, _ in alone.curves]
        for (_, name, got), (_, _, want) in zip(stacked.curves, alone.curves):
            if name in ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "modes_covered", "grad_norm_d"):
                assert got == pytest.approx(want, rel=rel, abs=abs), (c.loss, c.r1, name)


@pytest.mark.parametrize("losses, rel, abs", [
    (("minimax", "nonsaturating", "hinge", "lsgan"), 1e-4, 1e-5),
    # rasgan's batch means spread the batched matmuls' rounding over every sample (as in the variants test)
    (("rsgan", "rasgan", "ralsgan", "rahinge", "rpgan"), 1e-3, 2e-3)])
def test_trials_of_different_losses_and_learning_rates_stack_and_each_matches_its_run_alone(losses, rel, abs):
    lrs = (1e-3, 3e-4, 2e-3)
    cfgs = [cfg(seed=i, loss=loss, lr_d=lrs[i % 3], lr_g=lrs[(i + 1) % 3], steps=6, eval_every=3)
            for i, loss in enumerate(losses)]
    assert len({stacked_batch_key(c) for c in cfgs}) == 1
    results = train_stacked(cfgs)
    assert_matches_alone(cfgs, results, rel=rel, abs=abs)
    assert len({r.metrics["d_loss"] for r in results}) == len(losses)  # really different losses


def test_r1_and_r2_weights_are_per_trial_arithmetic():
    cfgs = [cfg(seed=0, r1=10.0, r2=10.0), cfg(seed=1, r1=0.1, r2=1.0, loss="minimax"),
            cfg(seed=2, r1=1.0, r2=0.5, lr_d=3e-3)]
    cfgs = [c.model_copy(update=dict(steps=6, eval_every=3)) for c in cfgs]
    assert len({stacked_batch_key(c) for c in cfgs}) == 1
    assert_matches_alone(cfgs, train_stacked(cfgs))


def test_the_batch_key_keeps_apart_only_what_changes_the_loop():
    base = stacked_batch_key(cfg())
    for same in (dict(loss="hinge"), dict(lr_d=1e-2, betas=(0.5, 0.9)), dict(seed=5)):
        assert stacked_batch_key(cfg(**same)) == base, same
    assert stacked_batch_key(cfg(r1=1.0)) == stacked_batch_key(cfg(r1=10.0, loss="lsgan")) != base
    for apart in (dict(loss="rpgan"), dict(loss="wgan"), dict(r2=1.0), dict(pac=2), dict(d_steps_per_g_step=3)):
        assert stacked_batch_key(cfg(**apart)) != base, apart


@pytest.mark.parametrize("change", [dict(hidden=32), dict(batch_size=16), dict(loss="rsgan"), dict(steps=6),
                                    dict(r1=1.0), dict(loss="wgan"), dict(d_maxout=5), dict(g_norm="batch"),
                                    dict(updates="simultaneous")])
def test_trials_of_different_shapes_are_refused(change):
    with pytest.raises(ValueError, match="must share"):
        train_stacked([cfg(), cfg(seed=1, **change)])


@pytest.mark.parametrize("option, name", [(dict(loss="wgan-gp"), "wgan-gp"),
                                          (dict(optimizer="sgd"), "sgd"), (dict(d_norm="spectral"), "d_norm"),
                                          (dict(d_dropout=0.5), "d_dropout"), (dict(model="dirac"), "dirac")])
def test_unsupported_options_are_refused_by_name(option, name):
    with pytest.raises(ValueError, match=name):
        train_stacked([cfg(), cfg(seed=1, **option)])


def test_stacked_forward_equals_each_module_alone_and_falls_back_to_vmap():
    for make in (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2), nn.Unflatten(1, (1, 2))),
                 lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0))):
        modules = [make() for _ in range(3)]
        params = torch.func.stack_module_state(modules)[0]
        x = torch.randn(3, 5, 3)
        got = stacked_forward(modules[0])(params, x)
        want = torch.stack([mod(xi) for mod, xi in zip(modules, x)])
        torch.testing.assert_close(got, want)


def test_stacked_bf16_trials_run_their_matmuls_in_bfloat16_like_a_trial_alone():
    from ganbench.training.stacked import Stacked
    from ganbench.training.updates import d_update

    cfgs = [cfg(seed=s, amp="bf16") for s in (0, 1)]
    trainer = Stacked(cfgs)
    seen = []
    trainer.gan.D.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    d_update(trainer.gan, cfgs[0], trainer.stream)
    assert seen and all(dtype == torch.bfloat16 for dtype in seen)
    assert trainer.gan.D.flat.dtype == torch.float32  # master weights stay fp32
    stacked, alone = train_stacked(cfgs)[0], train(cfgs[0])
    assert stacked.status == alone.status == "complete"
    assert stacked.metrics["d_loss"] == pytest.approx(alone.metrics["d_loss"], rel=0.05)


@pytest.mark.parametrize("updates", ["alternating", "simultaneous"])
def test_compiled_stacked_trials_match_their_eager_runs_alone(updates):
    # one compile for all members; inductor's fused kernels round differently from eager ones
    cfgs = [c.model_copy(update=dict(steps=4, eval_every=2, compile=True, updates=updates)) for c in trio()]
    eager = [c.model_copy(update=dict(compile=False)) for c in cfgs]
    assert_matches_alone(eager, train_stacked(cfgs), rel=1e-3, abs=1e-4)


def test_stacked_trials_report_flops_per_trial_like_a_trial_alone():
    stacked, alone = train_stacked([cfg(seed=0), cfg(seed=1)])[0], train(cfg(seed=0))
    assert stacked.metrics["batch_trials"] == 2 and "batch_trials" not in alone.metrics
    # one loop, one FLOP count: tflops / steps_per_s is FLOPs per iteration per trial, the same for both
    per_iteration = [r.metrics["tflops"] / r.metrics["steps_per_s"] for r in (stacked, alone)]
    assert per_iteration[0] == pytest.approx(per_iteration[1], rel=1e-9) and per_iteration[0] > 0


@pytest.mark.parametrize("variant", [dict(pac=2), dict(instance_noise=0.2, instance_noise_decay_steps=4),
                                     dict(loss="rpgan"), dict(loss="rasgan"), dict(z_dist="uniform", init="normal_0.02")])
def test_stacked_variants_match_each_trial_trained_alone(variant):
    cfgs = [cfg(seed=s, steps=6, eval_every=3, lr_d=1e-3, lr_g=1e-3, **variant) for s in (0, 1, 2)]
    for c, stacked in zip(cfgs, train_stacked(cfgs)):
        alone = train(c)
        assert stacked.status == alone.status == "complete"
        for (_, name, got), (_, _, want) in zip(stacked.curves, alone.curves):
            if name in ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "modes_covered"):
                # batched matmuls round differently; a batch-mean loss (rasgan) spreads it to every sample
                assert got == pytest.approx(want, rel=1e-3, abs=2e-3), (variant, name)


@pytest.mark.parametrize("option, name", [(dict(unroll_steps=2), "unroll_steps"), (dict(g_ema=0.9), "g_ema"),
                                          (dict(consensus=1.0), "consensus"),
                                          (dict(updates="simultaneous", consensus=1.0), "consensus")])
def test_variants_stacked_training_cannot_take_are_refused_by_name(option, name):
    with pytest.raises(ValueError, match=name):
        train_stacked([cfg(), cfg(seed=1, **option)])


def test_stacked_forward_runs_maxout_and_batch_norm_as_batched_ops_like_each_module_alone(monkeypatch):
    makes = (lambda: nn.Sequential(nn.Flatten(), Maxout(3, 4, 5), Maxout(4, 2, 3)),
             lambda: nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)))
    monkeypatch.setattr(torch, "vmap", None)  # the batched path must not need it
    for make in makes:
        modules = [make() for _ in range(3)]
        for mod in modules:  # running statistics away from their initial 0 and 1
            for buffer in mod.buffers():
                buffer.copy_(torch.rand_like(buffer.float()).to(buffer.dtype) + 1)
        params, buffers = torch.func.stack_module_state(modules)
        state = {**params, **buffers}
        forward = stacked_forward(modules[0])
        x = torch.randn(3, 5, 3)
        active = torch.tensor([True, False, True])
        got = forward(state, x, True, active)
        want = torch.stack([mod(xi) for mod, xi in zip(modules, x)])
        torch.testing.assert_close(got, want)
        for name, stacked in buffers.items():  # batch norm's running statistics: trial 1 frozen, the others as torch
            torch.testing.assert_close(stacked[0], modules[0].state_dict()[name])
            torch.testing.assert_close(stacked[2], modules[2].state_dict()[name])
            assert not torch.equal(stacked[1], modules[1].state_dict()[name]), name
        for mod in modules:
            mod.eval()
        state = {**params, **{name: torch.stack([mod.state_dict()[name] for mod in modules]) for name in buffers}}
        torch.testing.assert_close(forward(state, x, False), torch.stack([mod(xi) for mod, xi in zip(modules, x)]))


#: PacGAN's protocol at toy size: batch-normalised G (4 layers), maxout D (3 layers of 5 pieces), joint steps, pac 2
PACGAN = dict(g_norm="batch", g_depth=4, d_maxout=5, d_depth=3, updates="simultaneous", pac=2)


@pytest.mark.parametrize("variant", [dict(d_maxout=5), dict(g_norm="batch"), dict(updates="simultaneous"), PACGAN],
                         ids=["maxout_d", "batch_norm_g", "simultaneous", "pacgan"])
def test_maxout_batch_norm_and_simultaneous_trials_match_each_trial_trained_alone(variant):
    cfgs = trio(steps=6, eval_every=3, **variant)
    results = train_stacked(cfgs)
    for c, stacked in zip(cfgs, results):
        alone = train(c)
        assert stacked.status == alone.status == "complete" and stacked.steps_done == 6
        assert [(s, n) for s, n, _ in stacked.curves] == [(s, n) for s, n, _ in alone.curves]
        # every evaluation metric, from G in eval mode (batch norm: the trial's own running statistics)
        for (_, name, got), (_, _, want) in zip(stacked.curves, alone.curves):
            assert got == pytest.approx(want, rel=1e-4, abs=1e-5), (variant, name)
        for (_, got), (_, want) in zip(stacked.snapshots, alone.snapshots):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert results[0].metrics["d_loss"] != results[1].metrics["d_loss"]


def test_each_stacked_trial_keeps_its_own_batch_norm_running_statistics():
    cfgs = trio(steps=4, eval_every=2, g_norm="batch", updates="simultaneous")
    stacked = Stacked(cfgs)
    run(stacked, 0.0)
    for i, c in enumerate(cfgs):
        solo = Solo(c)
        run(solo, 0.0)
        want = {name: t for name, t in solo.gan.G.state_dict().items() if "running" in name or "batches" in name}
        got = stacked.trial(i).G.state_dict()
        assert want and all(got[name].dtype == t.dtype for name, t in want.items())
        for name, t in want.items():
            torch.testing.assert_close(got[name], t, rtol=1e-4, atol=1e-6)
        assert int(got["1.num_batches_tracked"]) == 4  # one G forward per joint step


def test_a_stopped_trial_keeps_its_batch_norm_running_statistics():
    cfgs = trio(g_norm="batch")
    trainer = Stacked(cfgs)
    before = {name: t.clone() for name, t in trainer.gan.G.state().items() if "running" in name}
    trainer.active[1] = False
    d_update(trainer.gan, cfgs[0], trainer.stream)  # G's forward in training mode: its batch statistics move
    for name, t in trainer.gan.G.state().items():
        if name in before:
            assert torch.equal(t[1], before[name][1]) and not torch.equal(t[0], before[name][0]), name
