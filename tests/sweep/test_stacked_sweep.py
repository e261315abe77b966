"""A stacked search through the real driver: asked trials train together, each pruned alone, confirmed as a batch."""
from __future__ import annotations

import pytest


@pytest.mark.ray
def test_a_batched_search_trains_asked_trials_together_prunes_each_alone_and_confirms_as_a_batch(tmp_path):
    import pandas as pd
    import ray

    from ganbench.suite import validate_suite
    from ganbench.sweep.driver import run_suite

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
