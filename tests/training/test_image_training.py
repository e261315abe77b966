"""Image GANs through Algorithm 1: conditional labels, CycleGAN's steps, metrics and pictures of a trial."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.config import TrialConfig
from ganbench.training.cycle import cycle_d_update, cycle_g_update
from ganbench.training.updates import Stream
from ganbench.training.pictures import GRID_COLUMNS, INTERPOLATION_ROWS, INTERPOLATION_STEPS, image_grid
from ganbench.training import build, train

pytestmark = pytest.mark.usefixtures("one_thread")

IMAGE = dict(loss="hinge", dataset="digits", batch_size=16, z_dim=8, hidden=8, steps=4, eval_every=2,
             eval_samples=200)


def grid_side(n: int, size: int = 16, pad: int = 1) -> int:
    return n * (size + pad) + pad


def test_image_grid_places_every_image_between_white_gutters():
    images = torch.full((5, 1, 4, 4), -1.0)  # black: 0 after mapping [-1, 1] -> [0, 255]
    grid = image_grid(images, columns=3)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1) and grid.dtype == np.uint8
    assert (grid[1:5, 1:5] == 0).all() and (grid[0] == 255).all() and (grid[:, 0] == 255).all()
    assert (grid[6:10, 11:15] == 255).all()  # the empty sixth slot stays white
    rgb = image_grid(torch.ones(2, 3, 4, 4), columns=2)
    assert rgb.shape == (6, 11, 3) and rgb[1, 1].tolist() == [255, 255, 255]


def test_dcgan_trial_reports_image_metrics_and_leaves_a_grid_and_an_interpolation():
    result = train(TrialConfig(model="dcgan", **IMAGE))
    assert result.status == "complete"
    m = result.metrics
    for name in ("fid", "kid", "precision", "recall", "density", "coverage", "inception_score", "parzen_ll",
                 "parzen_ll_se", "nn_memorization", "d_real_mean", "d_fake_mean"):
        assert math.isfinite(m[name]), name
    assert 0 <= m["precision"] <= 1 and 0 <= m["coverage"] <= 1 and m["fid"] > 0
    assert m["feature_net_acc"] >= 0.95
    assert result.info["image_eval.n_fake"] == 200
    assert result.pictures["samples"].shape == (grid_side(GRID_COLUMNS),) * 2
    assert result.pictures["interpolation"].shape == (grid_side(INTERPOLATION_ROWS), grid_side(INTERPOLATION_STEPS))
    assert {step for step, name, _ in result.curves if name == "fid"} == {2, 4}


def test_conditional_training_feeds_labels_and_draws_one_row_per_class():
    cfg = TrialConfig(model="cgan", d_projection=True, **IMAGE)
    gan = build(cfg)
    assert gan.n_classes == 10
    result = train(cfg)
    assert result.status == "complete" and math.isfinite(result.metrics["fid"])
    assert result.pictures["samples"].shape == (grid_side(10), grid_side(GRID_COLUMNS))
    assert "interpolation" not in result.pictures


def test_stacked_digits_trial_counts_modes_among_1000():
    result = train(TrialConfig(model="dcgan", **{**IMAGE, "dataset": "stacked_digits"}))
    assert 1 <= result.metrics["modes_covered"] <= 200  # at most one mode per generated sample
    assert 0 <= result.metrics["reverse_kl"] <= math.log(1000)
    assert result.pictures["samples"].shape == (grid_side(GRID_COLUMNS), grid_side(GRID_COLUMNS), 3)


@pytest.mark.parametrize("loss", ["lsgan", "wgan-gp"])
def test_cyclegan_trains_both_directions_and_measures_against_the_true_mapping(loss):
    cfg = TrialConfig(model="cyclegan", loss=loss, dataset="digits_invert", batch_size=4, hidden=4, depth=1,
                      steps=3, eval_every=3, eval_samples=50, identity_weight=0.5)
    gan = build(cfg)
    rng = Stream(gan.device, 0)
    g0 = {n: p.detach().clone() for n, p in gan.G.named_parameters()}
    d0 = {n: p.detach().clone() for n, p in gan.D.named_parameters()}
    cycle_g_update(gan, cfg, rng)  # moves both translators, not the critics
    assert all(any(not torch.equal(g0[n], p) for n, p in gan.G.named_parameters() if n.startswith(side))
               for side in ("ab.", "ba."))
    assert all(torch.equal(d0[n], p) for n, p in gan.D.named_parameters())
    cycle_d_update(gan, cfg, rng)  # moves both critics
    assert all(any(not torch.equal(d0[n], p) for n, p in gan.D.named_parameters() if n.startswith(side))
               for side in ("a.", "b."))
    result = train(cfg)
    assert result.status == "complete"
    assert 0 < result.metrics["cycle_error"] < 2 and 0 < result.metrics["translation_error"] < 2
    # the picture: 4 rows (A, G_AB(A), G_BA(G_AB(A)), true B) of 16 held-out digits
    assert result.pictures["translation"].shape == (grid_side(4), grid_side(2 * GRID_COLUMNS))


def test_a_wgan_gp_dcgan_critic_drops_batch_norm():
    gan = build(TrialConfig(model="dcgan", **{**IMAGE, "loss": "wgan-gp"}))
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in gan.D.modules())
    assert any(isinstance(mod, torch.nn.BatchNorm2d) for mod in build(TrialConfig(model="dcgan", **IMAGE)).D.modules())
    asked = build(TrialConfig(model="dcgan", d_norm="batch", **{**IMAGE, "loss": "wgan-gp"}))  # an explicit choice wins
    assert any(isinstance(mod, torch.nn.BatchNorm2d) for mod in asked.D.modules())


def test_cycle_weight_adds_lambda_times_the_cycle_l1_to_the_generator_loss():
    from ganbench.models.cyclegan import cycle_losses

    base = dict(model="cyclegan", loss="lsgan", dataset="digits_invert", batch_size=4, hidden=4, depth=1)
    losses = {}
    for weight in (0.0, 10.0):
        cfg = TrialConfig(**base, cycle_weight=weight)
        gan = build(cfg)
        losses[weight] = float(cycle_g_update(gan, cfg, Stream(gan.device, 3)))
    gan = build(TrialConfig(**base))  # the same initial weights, the same batch
    a, b = Stream(gan.device, 3).pair(gan, 4)
    with torch.no_grad():
        cycle, _ = cycle_losses(gan.G, a, b)
    assert losses[10.0] - losses[0.0] == pytest.approx(10.0 * float(cycle), rel=1e-4)
