"""Toy distributions of the mode-collapse and convergence literature."""
from __future__ import annotations

import math

import torch

from ganbench.datasets.base import Dataset, ModeMixture
from ganbench.registry import DATASETS


@DATASETS.register("gaussian1d")
def gaussian1d() -> ModeMixture:
    """1-D mixture of 3 Gaussians at -4, 0, 4 with std 0.5 (the GAN paper's 1-D picture, multimodal)."""
    return ModeMixture(torch.tensor([[-4.0], [0.0], [4.0]]), 0.5, "1-D mixture, 3 modes, std 0.5")


@DATASETS.register("ring8")
def ring8() -> ModeMixture:
    """8 Gaussians on a circle of radius 2, std 0.02 (Unrolled GAN, Metz et al. 2017)."""
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    centers = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return ModeMixture(centers, 0.02, "Unrolled GAN ring: 8 modes, radius 2, std 0.02")


@DATASETS.register("pacgan_ring")
def pacgan_ring() -> ModeMixture:
    """8 Gaussians on the unit circle, std 0.01 (PacGAN's ring, Lin et al. 2018)."""
    # arange(8) * 2pi/8: 8 distinct angles (linspace(0, 2pi, 8) would repeat angle 0 as 2pi and give 7 modes)
    angles = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return ModeMixture(centers, 0.01, "PacGAN ring: 8 modes, radius 1, std 0.01")


@DATASETS.register("grid25")
def grid25() -> ModeMixture:
    """25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (VEEGAN / PacGAN grid)."""
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    centers = torch.cartesian_prod(axis, axis)
    return ModeMixture(centers, 0.05, "VEEGAN/PacGAN grid: 25 modes, spacing 2, std 0.05")


class Dirac(Dataset):
    """All data at x = 0: Mescheder et al. 2018's Dirac-GAN, where convergence is visible in 2 numbers."""

    shape = (1,)
    primary_metric = "dirac_distance"
    origin = "generated: every point at x = 0"

    def content(self) -> tuple[str, ...]:
        return (self.origin,)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.zeros(n, 1, device=generator.device)


DATASETS.add("dirac", Dirac, Dirac.__doc__)
