"""One evaluation of a trial: draw samples, read D, compute the metrics that apply.

Drawing the samples and reading D are the trial's own code: an error there fails the trial. A metric (or a group
of them) that raises is NaN with its reason instead (``metrics.notes``), noted in ``gan.metric_notes`` at this step.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from ganbench.datasets import ImageDataset, ModeMixture
from ganbench.datasets.toy import Dirac
from ganbench.metrics.convergence import discriminator_metrics
from ganbench.metrics.modes import mode_metrics
from ganbench.metrics.notes import guarded, guarded_group
from ganbench.training.cycle import evaluate_cycle
from ganbench.training.updates import conditioned, draw_real, draw_z, pack

if TYPE_CHECKING:
    from ganbench.config import TrialConfig
    from ganbench.training.gan import GAN


DIRAC_METRICS = ("dirac_distance", "dirac_theta", "dirac_psi")


def dirac_state(gan: "GAN", fake: torch.Tensor) -> dict[str, float]:
    """The Dirac-GAN's point (theta, psi) and its distance to the equilibrium (0, 0).

    theta = mean G(z), psi = dD/dx at the data point 0 (exact for the linear critic); the pair, per
    evaluation, is the trajectory Mescheder et al. 2018 draw in the (theta, psi) plane.
    """
    x = torch.zeros(1, 1, device=fake.device, requires_grad=True)
    with torch.enable_grad():
        (psi,) = torch.autograd.grad(gan.D(x).sum(), x)
    theta, psi = float(fake.mean()), float(psi)
    return {"dirac_distance": math.hypot(theta, psi), "dirac_theta": theta, "dirac_psi": psi}


def balanced_labels(gan: "GAN", n: int) -> torch.Tensor | None:
    """Every class equally often (0, 1, ..., C-1, 0, ...) for a conditional G; None otherwise."""
    return torch.arange(n, device=gan.device) % gan.n_classes if gan.n_classes else None


def image_metrics(gan: "GAN", fake: torch.Tensor, notes: dict[str, str]) -> dict[str, float]:
    """FID, KID, precision/recall, ... from the trial's evaluator, built (and its real statistics computed) once;
    the reasons of those that could not be computed go to ``notes``."""
    if gan.evaluator is None:
        from ganbench.metrics.image_eval import ImageEvaluator

        evaluator = guarded_group(notes, "image metrics", lambda: {"evaluator": ImageEvaluator(gan.data, gan.device)})
        if not evaluator:  # no feature network or reference statistics: no image metric this time
            return {}
        gan.evaluator = evaluator["evaluator"]
    out = gan.evaluator(fake)
    notes.update(gan.evaluator.notes)
    return out


@torch.no_grad()
def evaluate(gan: "GAN", cfg: "TrialConfig", rng: torch.Generator, step: int = 0) -> tuple[dict[str, float], torch.Tensor]:
    """The metrics that apply to this data, and the generated samples they were computed on; the reasons of
    those that could not be computed are added to ``gan.metric_notes`` at ``step``."""
    gan.G.eval(), gan.D.eval()
    if gan.is_cycle:
        return evaluate_cycle(gan, cfg, rng)
    n = cfg.eval_samples
    z = draw_z(n, cfg.z_dim, rng, cfg.z_dist).to(gan.device)
    y_fake = balanced_labels(gan, n)
    fake = conditioned(gan.G, y_fake)(z)
    real, y_real = draw_real(gan, n, rng)
    # D reads packed rows (PacGAN): its readings are over n // pac rows of pac samples each
    rows, dims = n // cfg.pac * cfg.pac, len(gan.data.shape)
    d_real = conditioned(gan.D, y_real)(pack(real[:rows], cfg.pac, dims))
    d_fake = conditioned(gan.D, y_fake)(pack(fake[:rows], cfg.pac, dims))
    notes: dict[str, str] = {}
    metrics = guarded_group(notes, "discriminator metrics", lambda: discriminator_metrics(gan.loss, d_real, d_fake))
    if isinstance(gan.data, ModeMixture):
        centers = gan.data.centers.to(gan.device)
        metrics.update(guarded_group(notes, "mode metrics", lambda: mode_metrics(fake, centers, gan.data.std,
                                                                                 cfg.mode_min_count)))
    if isinstance(gan.data, Dirac):
        metrics.update(guarded(notes, DIRAC_METRICS, lambda: dirac_state(gan, fake)))
    if isinstance(gan.data, ImageDataset):
        metrics.update(image_metrics(gan, fake, notes))
    gan.metric_notes.add(step, notes)
    return metrics, fake
