"""Mode-collapse and convergence metrics on distributions whose answers are known."""
from __future__ import annotations

import math

import pytest
import torch

from ganbench.losses import make_loss
from ganbench.metrics import metric
from ganbench.metrics.convergence import discriminator_metrics, grad_norm, steps_to_threshold
from ganbench.metrics.modes import EVAL_SAMPLES, mode_metrics
from ganbench.metrics.throughput import peak_memory_mb
from ganbench.registry import DATASETS, METRICS

# P(|N(0, I_2)| <= 3) = 1 - exp(-9/2) for a 2-D isotropic Gaussian (chi with 2 dof).
HQ_2D = 1 - math.exp(-4.5)
# P(|N(0,1)| <= 3) in 1-D.
HQ_1D = math.erf(3 / math.sqrt(2))


@pytest.mark.parametrize("name, expected_hq", [("ring8", HQ_2D), ("grid25", HQ_2D), ("gaussian1d", HQ_1D)])
def test_true_distribution_covers_every_mode_with_about_997_permille_quality(name, expected_hq):
    data = DATASETS.get(name)()
    g = torch.Generator().manual_seed(0)
    out = mode_metrics(data.sample(EVAL_SAMPLES, g), data.centers, data.std)
    assert out["modes_covered"] == data.n_modes
    # binomial standard error on 2,500 draws is ~0.001; allow 4 of them
    assert out["high_quality_frac"] == pytest.approx(expected_hq, abs=0.005)
    # KL of a multinomial histogram from uniform: E ~ (n_modes - 1) / (2N); far below 0.02
    assert 0 <= out["reverse_kl"] < 0.02


def test_collapsed_sampler_covers_one_mode_and_kl_is_log8():
    data = DATASETS.get("ring8")()
    g = torch.Generator().manual_seed(1)
    collapsed = data.centers[3] + data.std * torch.randn(EVAL_SAMPLES, 2, generator=g)
    out = mode_metrics(collapsed, data.centers, data.std)
    assert out["modes_covered"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(8), abs=1e-9)


def test_two_of_eight_modes_balanced_gives_log4():
    data = DATASETS.get("ring8")()
    samples = torch.cat([data.centers[0].expand(50, 2), data.centers[5].expand(50, 2)])
    out = mode_metrics(samples, data.centers, data.std)
    assert out["modes_covered"] == 2 and out["high_quality_frac"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(4), abs=1e-9)


def test_samples_far_from_every_mode_are_low_quality_and_cover_nothing():
    data = DATASETS.get("ring8")()
    out = mode_metrics(torch.zeros(100, 2), data.centers, data.std)  # the ring's centre: 2 away from all
    assert out["high_quality_frac"] == 0.0 and out["modes_covered"] == 0


def test_min_count_rule_counts_only_modes_with_enough_high_quality_samples():
    data = DATASETS.get("ring8")()
    samples = torch.cat([data.centers[0].expand(10, 2), data.centers[1].expand(3, 2)])
    assert mode_metrics(samples, data.centers, data.std, min_count=1)["modes_covered"] == 2
    assert mode_metrics(samples, data.centers, data.std, min_count=5)["modes_covered"] == 1


def test_d_one_half_everywhere_is_the_equilibrium():
    zeros = torch.zeros(1000)  # logit 0 <=> D = 1/2
    out = discriminator_metrics(make_loss("minimax"), zeros, zeros)
    assert out["d_real_mean"] == pytest.approx(0.5) and out["d_fake_mean"] == pytest.approx(0.5)
    assert out["equilibrium_gap"] == pytest.approx(0.0, abs=1e-7)
    assert out["value"] == pytest.approx(-math.log(4), abs=1e-6)


def test_perfect_discriminator_has_gap_one_half_and_value_zero():
    big = torch.full((100,), 40.0)
    out = discriminator_metrics(make_loss("nonsaturating"), big, -big)
    assert out["equilibrium_gap"] == pytest.approx(0.5, abs=1e-6)
    assert out["value"] == pytest.approx(0.0, abs=1e-6)


def test_critic_losses_have_no_probability_value():
    out = discriminator_metrics(make_loss("wgan"), torch.ones(10), -torch.ones(10))
    assert math.isnan(out["value"]) and math.isnan(out["equilibrium_gap"])
    assert out["d_real_mean"] == 1.0 and out["d_fake_mean"] == -1.0


def test_grad_norm_is_the_l2_norm_over_all_parameters():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    assert float(grad_norm([a, b])) == pytest.approx(5.0)
    assert float(grad_norm([torch.nn.Parameter(torch.zeros(1))])) == 0.0


def test_steps_to_threshold_respects_direction():
    curve = [(100, 2.0), (200, 6.0), (300, 8.0)]
    assert steps_to_threshold(curve, 6.0, metric("modes_covered")) == 200
    assert math.isnan(steps_to_threshold(curve, 9.0, metric("modes_covered")))
    assert steps_to_threshold([(100, 2.0), (200, 0.1)], 0.5, metric("reverse_kl")) == 200


def test_every_metric_has_a_kind_and_a_description():
    for name in METRICS.names():
        m = METRICS.get(name)
        assert m.kind in ("modes", "images", "convergence", "throughput") and m.description


def test_peak_memory_is_positive_on_cpu():
    assert peak_memory_mb(torch.device("cpu")) > 1
