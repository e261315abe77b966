"""What a trial's row says when something breaks, in-process (no Ray): a failed trial keeps its whole traceback;
a metric that cannot be computed is NaN with its reason and the trial completes; every row names its data."""
from __future__ import annotations

import math

import pytest

from ganbench.config import TrialConfig
from ganbench.datasets import dataset_identity
from ganbench.losses import NonSaturating
from ganbench.registry import LOSSES
from ganbench.sweep.trial import run_trials

TOY = dict(model="mlp", dataset="ring8", steps=20, eval_every=10, batch_size=16, hidden=8, eval_samples=100,
           device="cpu")


class ExplodingLoss(NonSaturating):
    """A loss whose D loss raises once training starts (with a chained cause)."""

    def d_loss(self, real_out, fake_out):
        try:
            {}["missing"]
        except KeyError as err:
            raise RuntimeError("the exploding loss exploded") from err


@pytest.fixture
def exploding_loss(monkeypatch):
    monkeypatch.setitem(LOSSES._items, "exploding", ExplodingLoss)
    monkeypatch.setitem(LOSSES._descriptions, "exploding", "raises")
    return "exploding"


def test_a_failed_trial_keeps_the_whole_traceback_of_its_own_code(exploding_loss):
    row = run_trials([TrialConfig(loss=exploding_loss, **TOY)], ["loss"])[0].row
    assert row["status"] == "failed"
    message = row["message"]
    assert message.splitlines()[0] == "RuntimeError: the exploding loss exploded"
    # every frame down to the raise (a limit once cut it after five, at training/evaluate.py) and the cause
    for frame in ("sweep/trial.py", "training/loop.py", "in iteration", "in d_loss", "test_trial_outcomes.py"):
        assert frame in message, frame
    assert "KeyError: 'missing'" in message and "direct cause" in message
    assert row["data_hash"] == dataset_identity("ring8")["data_hash"]


def test_a_stacked_batch_that_crashes_fails_every_trial_each_with_the_whole_traceback(exploding_loss):
    cfgs = [TrialConfig(loss=exploding_loss, seed=seed, **TOY) for seed in (0, 1)]
    outs = run_trials(cfgs, ["loss"], trial_ids=["a", "b"])
    assert [out.row["trial_id"] for out in outs] == ["a", "b"] and [out.curves for out in outs] == [[], []]
    for out in outs:
        assert out.row["status"] == "failed" and out.row["seed"] in (0, 1)
        assert out.row["message"].splitlines()[0] == "RuntimeError: the exploding loss exploded"
        assert "training/stacked.py" in out.row["message"] and "in d_loss" in out.row["message"]


def test_a_metric_that_raises_is_nan_with_its_reason_and_the_trial_completes(monkeypatch):
    import ganbench.training.evaluate as evaluate

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(evaluate, "dirac_state", broken)
    cfg = TrialConfig(model="dirac", loss="nonsaturating", dataset="dirac", z_dim=1, optimizer="sgd", steps=20,
                      eval_every=10, batch_size=8, eval_samples=50, device="cpu")
    row = run_trials([cfg], ["loss"])[0].row
    assert row["status"] == "complete", row["message"]
    assert math.isnan(row["dirac_distance"]) and math.isnan(row["dirac_psi"])
    assert "dirac_distance: ZeroDivisionError: float division by zero [steps 10, 20]" in row["metric_notes"]
    assert math.isfinite(row["d_real_mean"]) and math.isfinite(row["d_loss"])  # the other metrics go on


def test_a_complete_trial_names_its_data_and_has_no_metric_notes():
    row = run_trials([TrialConfig(loss="hinge", **TOY)], ["loss"])[0].row
    assert row["status"] == "complete" and row["metric_notes"] == ""
    assert row["data_origin"].startswith("generated: 8 equal-weight Gaussians, std 0.02, centres (2, 0)")
    assert row["data_hash"] == dataset_identity("ring8")["data_hash"] and len(row["data_hash"]) == 16
