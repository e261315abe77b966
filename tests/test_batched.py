"""Batched trials: each stacked trial trains as it would alone; divergence stays in its own slice."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.batched import stacked_forward, train_batched
from ganbench.config import TrialConfig
from ganbench.train import train

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
    results = train_batched(cfgs)
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
    results = train_batched([c.model_copy(update=dict(steps=20, eval_every=10)) for c in cfgs])
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

    results = train_batched(trio(steps=6, eval_every=3), on_eval=on_eval)
    assert [r.status for r in results] == ["complete", "pruned", "complete"]
    assert results[1].steps_done == 3 and results[0].steps_done == 6
    assert calls == [(0, 3), (1, 3), (2, 3), (0, 6), (2, 6)]
    # a stop request at the last evaluation leaves the trial complete, as train() does
    last = train_batched(trio(steps=6, eval_every=3), on_eval=lambda i, step, metrics: step == 6)
    assert [r.status for r in last] == ["complete"] * 3


@pytest.mark.parametrize("change", [dict(hidden=32), dict(batch_size=16), dict(loss="hinge"), dict(steps=6)])
def test_trials_of_different_shapes_are_refused(change):
    with pytest.raises(ValueError, match="must share"):
        train_batched([cfg(), cfg(seed=1, **change)])


@pytest.mark.parametrize("option, name", [(dict(r1=1.0), "r1"), (dict(loss="wgan-gp"), "wgan-gp"),
                                          (dict(optimizer="sgd"), "sgd"), (dict(d_maxout=5), "d_maxout"),
                                          (dict(d_dropout=0.5), "d_dropout"), (dict(model="dirac"), "dirac")])
def test_unsupported_options_are_refused_by_name(option, name):
    with pytest.raises(ValueError, match=name):
        train_batched([cfg(), cfg(seed=1, **option)])


def test_stacked_forward_equals_each_module_alone_and_falls_back_to_vmap():
    for make in (lambda: nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 2), nn.Unflatten(1, (1, 2))),
                 lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0))):
        modules = [make() for _ in range(3)]
        params = torch.func.stack_module_state(modules)[0]
        x = torch.randn(3, 5, 3)
        got = stacked_forward(modules[0])(params, x)
        want = torch.stack([mod(xi) for mod, xi in zip(modules, x)])
        torch.testing.assert_close(got, want)


@pytest.mark.ray
def test_a_batched_search_trains_asked_trials_together_prunes_each_alone_and_confirms_as_a_batch(tmp_path):
    import pandas as pd
    import ray

    from ganbench.suite import validate_suite
    from ganbench.sweep import run_suite

    log_range = {"type": "float", "low": 1e-6, "high": 1e-1, "log": True}
    suite = validate_suite({
        "name": "batched-search", "seeds": [1, 2], "budget": {"steps": 300, "eval_every": 50},
        "grid": {"model": ["mlp"], "loss": ["nonsaturating"], "dataset": ["ring8"]},
        "params": {"batch_size": 64, "hidden": 32, "eval_samples": 300},
        "search": {"n_trials": 16, "sampler": "random", "pruner": "median", "seed": 7,
                   "objective": {"metric": "reverse_kl"},
                   "space": {"lr_g": log_range, "lr_d": log_range}},
        "execution": {"batch_trials": 4},
    })
    try:
        run_suite(suite, tmp_path / "out", max_concurrent=1)
    finally:
        ray.shutdown()  # the embedded Ray would outlive the test: others start their own clusters
    rows = pd.read_parquet(tmp_path / "out" / "trials.parquet")
    search = rows[rows["phase"] == "search"]
    assert len(search) == 16 and rows["trial_id"].is_unique
    # the trials of one batch start together, four at a time, each with its own learning rates
    batches = search.groupby("started_at")
    assert batches.ngroups == 4
    for _, batch in batches:
        assert len(batch) == 4 and (batch["batch_trials"] == 4).all() and batch["search.lr_g"].is_unique
    # each trial is pruned on its own: a pruned trial's batch mates run on
    pruned = search[search["status"] == "pruned"]
    assert len(pruned) >= 1 and (pruned["steps_done"] < 300).all()
    mates = search[search["started_at"].isin(pruned["started_at"]) & (search["status"] == "complete")]
    assert len(mates) >= 1 and (mates["steps_done"] == 300).all()
    # the best parameters run on both seeds as one batch
    confirm = rows[rows["phase"] == "confirm"]
    assert sorted(confirm["seed"]) == [1, 2] and (confirm["batch_trials"] == 2).all()
    assert confirm["search_trial"].nunique() == 1 and confirm["started_at"].nunique() == 1


def test_jobs_are_batched_within_a_cell_and_split_by_what_they_must_share():
    from ganbench.plan import _batches
    from ganbench.runner import Job

    cfgs = [cfg(seed=s, lr_g=lr, d_steps_per_g_step=k) for s, lr, k in
            [(0, 1e-3, 1), (0, 2e-3, 2), (0, 3e-3, 1), (0, 4e-3, 1), (0, 5e-3, 2)]]
    jobs = [Job(c, f"t{i}", "cell-a") for i, c in enumerate(cfgs)] + [Job(cfg(seed=9), "t5", "cell-b")]
    batches = _batches(jobs, 2)
    assert [[m.trial_id for m in b.members] or [b.trial_id] for b in batches] == \
        [["t0", "t2"], ["t3"], ["t1", "t4"], ["t5"]]
    assert _batches(jobs, 1) == jobs
