"""PacGAN's protocol options: a fixed training set, G's batch norm per packing slot, and G's batch-norm settings.

Each is checked against what it claims: the training set is N draws reused (every real sample is one of them,
the same seed gives the same set), per-slot batch norm is G run once per slot (same outputs; statistics over
batch_size rows), the momentum, epsilon and initial scale reach the torch modules, and stacked trials either share
an option (batch key) or train with their own value.
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ganbench.config import TrialConfig
from ganbench.datasets import TrainingSet
from ganbench.models.mlp import SlotBatchNorm1d
from ganbench.registry import DATASETS
from ganbench.training import train
from ganbench.training.gan import build, make_models
from ganbench.training.loop import Solo, iteration
from ganbench.training.stacked import SHARED_KEYS, Stacked, batch_key, check_stackable, train_stacked
from ganbench.training.updates import Stream

pytestmark = pytest.mark.usefixtures("one_thread")

NEW_OPTIONS = {"train_set_size": 50, "g_per_pac_slot": True, "g_norm_momentum": 0.05, "g_norm_eps": 1e-4,
               "g_norm_gamma_init": "ones"}


def cfg(**kw) -> TrialConfig:
    base = dict(model="mlp", loss="nonsaturating", dataset="pacgan_ring", steps=4, eval_every=2, batch_size=16,
                hidden=16, g_norm="batch", eval_samples=200, device="cpu", updates="simultaneous")
    return TrialConfig(**{**base, **kw})


def rows_of(x: torch.Tensor, points: torch.Tensor) -> bool:
    """Every row of x is exactly a row of points."""
    return bool((x[:, None, :] == points[None]).all(-1).any(1).all())


def batch_norms(net: nn.Module) -> list[nn.BatchNorm1d]:
    return [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]


# the options' defaults are the harness as it was

def test_at_their_defaults_the_options_change_neither_ids_nor_modules():
    plain = cfg()
    explicit = cfg(train_set_size=None, g_per_pac_slot=False, g_norm_momentum=None, g_norm_eps=None,
                   g_norm_gamma_init="by_init")
    assert plain.config_hash() == explicit.config_hash()
    assert all(cfg(**{k: v}).config_hash() != plain.config_hash() for k, v in NEW_OPTIONS.items())
    G, _ = make_models(cfg(pac=2), DATASETS.get("pacgan_ring")())
    assert {type(m) for m in batch_norms(G)} == {nn.BatchNorm1d}  # torch's own layer, momentum 0.1, eps 1e-5
    assert all(m.momentum == 0.1 and m.eps == 1e-5 for m in batch_norms(G))
    assert Solo(plain).stream.train_set is None


# train_set_size

def test_a_training_set_is_n_draws_fixed_by_its_seed():
    ring = DATASETS.get("pacgan_ring")()
    a, b, c = TrainingSet(ring, 40, seed=3), TrainingSet(ring, 40, seed=3), TrainingSet(ring, 40, seed=4)
    assert a.points.shape == (40, 2) and torch.equal(a.points, b.points) and not torch.equal(a.points, c.points)
    assert len(torch.unique(a.points, dim=0)) == 40  # draws of a continuous mixture: N distinct points
    draws = a.sample(4000, torch.Generator().manual_seed(0))
    # every draw is one of the N points, and with replacement each of them comes back (P(one missed) < 1e-40)
    assert rows_of(draws, a.points)
    assert len(torch.unique(draws, dim=0)) == 40


def test_every_real_sample_d_sees_is_a_point_of_the_trial_s_set():
    trainer = Solo(cfg(pac=3, train_set_size=37))
    points = trainer.stream.train_set.points
    assert points.shape == (37, 2)
    seen = []
    trainer.gan.D.register_forward_hook(lambda module, args, out: seen.append(args[0].detach()))
    for _ in range(3):
        iteration(trainer)
    # a simultaneous step reads D on the real rows, the fakes (D's loss), the fakes again (G's loss)
    assert len(seen) == 9
    reals = seen[::3]
    assert reals[0].shape == (16, 6)  # batch_size packed rows of pac samples
    assert not any(rows_of(x.reshape(-1, 2), points) for i, x in enumerate(seen) if i % 3)  # fakes are not
    samples = torch.cat(reals).reshape(-1, 2)
    assert rows_of(samples, points)
    # the set is the trial's: drawn once from its seed, the same for a rebuilt trial, another for another seed
    assert torch.equal(Solo(cfg(pac=3, train_set_size=37)).stream.train_set.points, points)
    assert not torch.equal(Solo(cfg(pac=3, train_set_size=37, seed=1)).stream.train_set.points, points)


def test_stacked_trials_each_draw_from_their_own_training_set():
    cfgs = [cfg(seed=0, train_set_size=20), cfg(seed=1), cfg(seed=2, train_set_size=30)]
    assert len({batch_key(c) for c in cfgs}) == 1  # per trial, not a shared key: they stack
    streams = Stacked(cfgs).stream.streams
    assert [None if s.train_set is None else s.train_set.size for s in streams] == [20, None, 30]
    for s, c in zip(streams, cfgs):
        if s.train_set is not None:
            alone = Stream.of_trial(build(c), c)
            assert torch.equal(s.train_set.points, alone.train_set.points)
    results = train_stacked(cfgs)
    for c, stacked in zip(cfgs, results):
        alone = train(c)
        for (_, name, got), (_, _, want) in zip(stacked.curves, alone.curves):
            if name in ("d_loss", "g_loss", "d_real_mean"):
                assert got == pytest.approx(want, rel=1e-4, abs=1e-5), (c.seed, name)


# g_per_pac_slot

@pytest.mark.parametrize("pac", [2, 3])
def test_per_slot_batch_norm_is_g_run_once_per_slot(pac):
    data = DATASETS.get("pacgan_ring")()
    torch.manual_seed(0)
    G, _ = make_models(cfg(pac=pac, g_per_pac_slot=True), data)
    assert {type(m) for m in batch_norms(G)} == {SlotBatchNorm1d} and all(m.slots == pac for m in batch_norms(G))
    plain = nn.Sequential(*[nn.BatchNorm1d(m.num_features) if isinstance(m, SlotBatchNorm1d) else copy.deepcopy(m)
                            for m in G])
    plain.load_state_dict(G.state_dict())
    b = 16
    z = torch.randn(b * pac, 2)
    out = G.train()(z)
    # pack() puts pac consecutive samples in a row: slot j is samples j, j + pac, ...; G once per slot on b samples
    for j in range(pac):
        assert torch.allclose(out[j::pac], plain.train()(z[j::pac]), atol=1e-5)
    # the first batch norm's statistics are over each slot's b rows: its output per slot has mean 0, variance 1
    seen = {}
    first = batch_norms(G)[0]
    first.register_forward_hook(lambda m, args, y: seen.update(x=args[0], y=y))
    G(z)
    assert seen["x"].shape == (b * pac, first.num_features)
    y = seen["y"].view(b, pac, -1)  # gamma 1, beta 0 at torch's default init
    assert torch.allclose(y.mean(0), torch.zeros(pac, first.num_features), atol=1e-5)
    assert torch.allclose(y.var(0, correction=0), torch.ones(pac, first.num_features), atol=1e-2)
    # the whole batch's statistics would not normalise each slot (slots differ by their z's draws)
    whole = (seen["x"] - seen["x"].mean(0)) / seen["x"].std(0, correction=0)
    assert not torch.allclose(whole.view(b, pac, -1).mean(0), torch.zeros(pac, first.num_features), atol=1e-5)


def test_per_slot_running_statistics_move_once_by_the_slots_mean():
    layer = SlotBatchNorm1d(3, slots=2, momentum=0.05)
    x = torch.randn(20, 3) * 2 + 1
    layer.train()(x)
    slots = x.view(10, 2, 3)
    assert int(layer.num_batches_tracked) == 1
    assert torch.allclose(layer.running_mean, 0.05 * slots.mean(0).mean(0))
    assert torch.allclose(layer.running_var, 0.95 + 0.05 * slots.var(0, correction=1).mean(0))
    with pytest.raises(ValueError, match="whole packs of 2"):
        layer(torch.randn(5, 3))
    layer.eval()
    assert torch.allclose(layer(x), nn.functional.batch_norm(x, layer.running_mean, layer.running_var,
                                                             layer.weight, layer.bias, eps=layer.eps))


def test_per_slot_batch_norm_trains_stacked_as_alone_and_only_with_its_kind():
    cfgs = [cfg(seed=0, pac=2, g_per_pac_slot=True, g_norm_momentum=0.05),
            cfg(seed=1, pac=2, g_per_pac_slot=True, g_norm_momentum=0.05, lr_g=3e-4)]
    results = train_stacked(cfgs)
    for c, stacked in zip(cfgs, results):
        alone = train(c)
        for (_, name, got), (_, _, want) in zip(stacked.curves, alone.curves):
            if name in ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "modes_covered"):
                assert got == pytest.approx(want, rel=1e-4, abs=1e-5), (c.seed, name)
    trainer = Stacked(cfgs)
    for _ in range(2):
        iteration(trainer)
    for i, c in enumerate(cfgs):  # each member's running statistics are its own, as alone
        solo = Solo(c)
        for _ in range(2):
            iteration(solo)
        mine = trainer.trial(i).G.state_dict()
        for name, tensor in solo.gan.G.state_dict().items():
            if "running" in name:
                assert torch.allclose(mine[name], tensor, rtol=1e-4, atol=1e-5), name


@pytest.mark.parametrize("option", ["g_per_pac_slot", "g_norm_momentum", "g_norm_eps"])
def test_options_the_stacked_forward_reads_from_member_0_are_shared_keys(option):
    assert option in SHARED_KEYS
    a, b = cfg(pac=2), cfg(pac=2, seed=1, **{option: NEW_OPTIONS[option]})
    assert batch_key(a) != batch_key(b)
    with pytest.raises(ValueError, match=f"must share '{option}'"):
        check_stackable([a, b])


def test_the_initial_scale_is_per_trial_in_a_stack():
    cfgs = [cfg(seed=0, init="normal_0.02", g_norm_gamma_init="ones"), cfg(seed=1, init="normal_0.02")]
    assert batch_key(cfgs[0]) == batch_key(cfgs[1]) and "g_norm_gamma_init" not in SHARED_KEYS
    trainer = Stacked(cfgs)
    gammas = [trainer.gan.G.trial_state(i)["1.weight"] for i in range(2)]
    assert torch.equal(gammas[0], torch.ones_like(gammas[0])) and not torch.equal(gammas[1], torch.ones_like(gammas[1]))


# G's batch-norm settings

def test_momentum_epsilon_and_initial_scale_reach_every_batch_norm_of_g():
    data = DATASETS.get("pacgan_ring")()
    for per_slot in (False, True):
        G, D = make_models(cfg(pac=2, init="normal_0.02", g_per_pac_slot=per_slot, g_norm_momentum=0.05,
                               g_norm_eps=1e-4, g_norm_gamma_init="ones"), data)
        norms = batch_norms(G)
        assert len(norms) == 2  # depth 2
        for m in norms:
            assert m.momentum == 0.05 and m.eps == 1e-4
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.equal(m.bias, torch.zeros_like(m.bias))
        assert batch_norms(D) == []
    G, _ = make_models(cfg(init="normal_0.02"), data)  # by_init: DCGAN's N(1, 0.02) scale, as before
    assert not torch.equal(batch_norms(G)[0].weight, torch.ones(16))
    # the momentum is the one the running statistics move by: m * batch + (1 - m) * running
    G, _ = make_models(cfg(g_norm_momentum=0.05), data)
    first = batch_norms(G)[0]
    h = torch.randn(32, 16)
    first.train()(h)
    assert torch.allclose(first.running_mean, 0.05 * h.mean(0), atol=1e-6)


def test_an_option_g_cannot_honour_is_an_error():
    data = DATASETS.get("pacgan_ring")()
    with pytest.raises(ValueError, match="no batch norm for g_norm_momentum"):
        make_models(cfg(g_norm=None, g_norm_momentum=0.05), data)
    with pytest.raises(ValueError, match="per packing slot"):
        make_models(cfg(model="dcgan", dataset="digits", g_norm=None, pac=2, g_per_pac_slot=True, hidden=64),
                    DATASETS.get("digits")())


def test_the_memory_estimate_counts_the_resident_training_set():
    from ganbench.training.memory import estimate_memory

    data = DATASETS.get("pacgan_ring")()
    fresh, fixed = estimate_memory(cfg(), data), estimate_memory(cfg(train_set_size=100_000), data)
    assert fixed.state - fresh.state == 100_000 * 2 * 4  # N float32 points of 2 coordinates
