"""One evaluation of a trial: draw samples, read D, compute the metrics that apply."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from ganbench.datasets import ModeMixture
from ganbench.datasets.toy import Dirac
from ganbench.metrics.convergence import discriminator_metrics
from ganbench.metrics.modes import mode_metrics

if TYPE_CHECKING:
    from ganbench.config import TrialConfig
    from ganbench.train import GAN


def dirac_distance(gan: "GAN", fake: torch.Tensor) -> float:
    """sqrt(theta^2 + psi^2): theta = mean G(z), psi = dD/dx at the data point 0 (exact for the linear critic)."""
    x = torch.zeros(1, 1, device=fake.device, requires_grad=True)
    with torch.enable_grad():
        (psi,) = torch.autograd.grad(gan.D(x).sum(), x)
    return math.hypot(float(fake.mean()), float(psi))


@torch.no_grad()
def evaluate(gan: "GAN", cfg: "TrialConfig", rng: torch.Generator) -> tuple[dict[str, float], torch.Tensor]:
    """The metrics that apply to this data, and the generated samples they were computed on."""
    gan.G.eval(), gan.D.eval()
    n = cfg.eval_samples
    z = torch.randn(n, cfg.z_dim, generator=rng).to(gan.device)
    fake = gan.G(z)
    real = gan.data.sample(n, rng).to(gan.device)
    metrics = discriminator_metrics(gan.loss, gan.D(real), gan.D(fake))
    if isinstance(gan.data, ModeMixture):
        metrics.update(mode_metrics(fake, gan.data.centers.to(gan.device), gan.data.std, cfg.mode_min_count))
    if isinstance(gan.data, Dirac):
        metrics["dirac_distance"] = dirac_distance(gan, fake)
    return metrics, fake
