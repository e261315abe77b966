"""The toy mixtures: PacGAN's ring (Lin et al. 2018): 8 distinct modes on the unit circle, std 0.01."""
from __future__ import annotations

import math

import pytest
import torch

from ganbench.datasets import ModeMixture, dataset_record
from ganbench.registry import DATASETS


def test_pacgan_ring_has_eight_distinct_modes_on_the_unit_circle():
    data = DATASETS.get("pacgan_ring")()
    assert isinstance(data, ModeMixture) and data.shape == (2,) and data.n_modes == 8
    centers = data.centers.double()
    assert torch.allclose(centers.norm(dim=1), torch.ones(8, dtype=torch.float64), atol=1e-6)
    # 8 distinct modes, evenly spaced: neighbours are 2 sin(pi/8) apart (linspace(0, 2pi, 8) repeats angle 0)
    gaps = torch.cdist(centers, centers) + 10 * torch.eye(8, dtype=torch.float64)
    assert gaps.min().item() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-6)
    angles = torch.atan2(centers[:, 1], centers[:, 0]).remainder(2 * math.pi).sort().values
    assert torch.allclose(angles, torch.arange(8, dtype=torch.float64) * math.pi / 4, atol=1e-6)


def test_pacgan_ring_samples_have_std_0_01_around_their_modes():
    data = DATASETS.get("pacgan_ring")()
    assert data.std == 0.01
    x = data.sample(40_000, torch.Generator().manual_seed(0)).double()
    nearest = torch.cdist(x, data.centers.double()).argmin(dim=1)
    residual = x - data.centers.double()[nearest]
    # each coordinate's std is 0.01 (40,000 draws: the estimate's relative error is about 0.4%)
    assert residual.std(dim=0).tolist() == pytest.approx([0.01, 0.01], rel=0.03)
    counts = torch.bincount(nearest, minlength=8)
    assert counts.min().item() > 4_000  # equal weights: 5,000 expected per mode


def test_pacgan_ring_has_a_protocol_line_and_a_record():
    data = DATASETS.get("pacgan_ring")()
    assert "PacGAN" in data.protocol and "std 0.01" in data.protocol
    assert "Lin et al. 2018" in DATASETS.describe("pacgan_ring")
    record = dataset_record("pacgan_ring")
    assert record["n_modes"] == 8 and record["std"] == 0.01 and record["primary_metric"] == "modes_covered"
