"""Pictures a trial leaves behind: a sample grid, a latent interpolation or per-class rows, translations.

Rendered in the worker as uint8 arrays (torch only: no torchvision, see DESIGN), written as
PNG by the driver next to the trial's other results.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ganbench.datasets import ImageDataset
from ganbench.training.updates import conditioned, draw_z

if TYPE_CHECKING:
    from ganbench.config import TrialConfig
    from ganbench.training.gan import GAN

GRID_COLUMNS = 8
INTERPOLATION_STEPS = 10
INTERPOLATION_ROWS = 6
#: fixed seed of the pictures' z: every trial of a suite draws the same noise
PICTURE_SEED = 1234


def image_grid(images: Tensor, columns: int, pad: int = 1) -> np.ndarray:
    """Images (n, C, H, W) in [-1, 1] -> one uint8 picture (rows x columns, white gutters), HxW or HxWx3."""
    images = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    n, c, h, w = images.shape
    rows = -(-n // columns)
    canvas = torch.full((c, rows * (h + pad) + pad, columns * (w + pad) + pad), 255, dtype=torch.uint8)
    for i, image in enumerate(images):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        canvas[:, top : top + h, left : left + w] = image
    return canvas[0].numpy() if c == 1 else canvas.permute(1, 2, 0).numpy()


@torch.no_grad()
def trial_pictures(gan: "GAN", cfg: "TrialConfig") -> dict[str, np.ndarray]:
    """Named pictures for image data (none for toy data, whose samples go to samples/<id>.npz)."""
    if gan.is_cycle:
        return {"translation": translation_rows(gan)}
    if not isinstance(gan.data, ImageDataset):
        return {}
    gan.G.eval()
    rng = torch.Generator().manual_seed(PICTURE_SEED)
    if gan.n_classes:
        classes = min(gan.n_classes, 10)
        y = torch.arange(classes).repeat_interleave(GRID_COLUMNS).to(gan.device)
        z = draw_z(len(y), cfg.z_dim, rng, cfg.z_dist).to(gan.device)
        return {"samples": image_grid(conditioned(gan.G, y)(z), GRID_COLUMNS)}
    z = draw_z(GRID_COLUMNS * GRID_COLUMNS, cfg.z_dim, rng, cfg.z_dist).to(gan.device)
    ends = draw_z(2 * INTERPOLATION_ROWS, cfg.z_dim, rng, cfg.z_dist).view(2, INTERPOLATION_ROWS, cfg.z_dim)
    t = torch.linspace(0, 1, INTERPOLATION_STEPS).view(1, -1, 1)
    path = (ends[0, :, None] * (1 - t) + ends[1, :, None] * t).flatten(0, 1).to(gan.device)
    return {
        "samples": image_grid(gan.G(z), GRID_COLUMNS),
        "interpolation": image_grid(gan.G(path), INTERPOLATION_STEPS),
    }


def translation_rows(gan: "GAN") -> np.ndarray:
    """Columns of held-out A digits; rows: A, G_AB(A), G_BA(G_AB(A)), the true B."""
    gan.G.eval()
    a = gan.data.test_a[:GRID_COLUMNS * 2].to(gan.device)
    fake_b = gan.G.ab(a)
    rows = [a, fake_b, gan.G.ba(fake_b), gan.data.translate(a)]
    return image_grid(torch.cat(rows), len(a))
