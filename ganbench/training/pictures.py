"""Pictures a trial leaves behind: a sample grid, a latent interpolation or per-class rows, translations, a grid
of real training images beside them, and a strip over training (a row of the same z at each evaluation).

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
#: the strip over training: this many samples per evaluation, at most STRIP_ROWS evaluations (evenly spaced,
#: the first and the last included), so a long run's strip stays a few tens of KB
STRIP_COLUMNS = 8
STRIP_ROWS = 16


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
        return {"samples": image_grid(conditioned(gan.G, y)(z), GRID_COLUMNS), "real": real_grid(gan)}
    z = draw_z(GRID_COLUMNS * GRID_COLUMNS, cfg.z_dim, rng, cfg.z_dist).to(gan.device)
    ends = draw_z(2 * INTERPOLATION_ROWS, cfg.z_dim, rng, cfg.z_dist).view(2, INTERPOLATION_ROWS, cfg.z_dim)
    t = torch.linspace(0, 1, INTERPOLATION_STEPS).view(1, -1, 1)
    path = (ends[0, :, None] * (1 - t) + ends[1, :, None] * t).flatten(0, 1).to(gan.device)
    return {
        "samples": image_grid(gan.G(z), GRID_COLUMNS),
        "interpolation": image_grid(gan.G(path), INTERPOLATION_STEPS),
        "real": real_grid(gan),
    }


def real_grid(gan: "GAN") -> np.ndarray:
    """Training images laid out as the sample grid is: a row per class (conditional G), else the first 64."""
    images, labels = gan.data.train_images, gan.data.train_labels
    if gan.n_classes:
        rows = [images[labels == c][:GRID_COLUMNS] for c in range(min(gan.n_classes, 10))]
        return image_grid(torch.cat(rows), GRID_COLUMNS)
    return image_grid(images[:GRID_COLUMNS * GRID_COLUMNS], GRID_COLUMNS)


@torch.no_grad()
def strip_row(gan: "GAN", cfg: "TrialConfig") -> Tensor | None:
    """One evaluation's row of the strip over training, on the CPU: STRIP_COLUMNS samples from the same z at every
    evaluation (cycling the classes of a conditional G), or G_AB of the same held-out A digits; None for toy data.
    Leaves G in eval mode (the loop puts it back in train mode after each evaluation)."""
    if not (gan.is_cycle or isinstance(gan.data, ImageDataset)):
        return None
    gan.G.eval()
    if gan.is_cycle:
        return gan.G.ab(gan.data.test_a[:STRIP_COLUMNS].to(gan.device)).float().cpu()
    z = draw_z(STRIP_COLUMNS, cfg.z_dim, torch.Generator().manual_seed(PICTURE_SEED), cfg.z_dist).to(gan.device)
    if gan.n_classes:
        y = (torch.arange(STRIP_COLUMNS) % min(gan.n_classes, 10)).to(gan.device)
        return conditioned(gan.G, y)(z).float().cpu()
    return gan.G(z).float().cpu()


def strip_picture(rows: list[tuple[int, Tensor]]) -> tuple[np.ndarray, list[int]]:
    """The strip over training from (step, row) at every evaluation: one picture, a row per picked evaluation
    (at most STRIP_ROWS, evenly spaced, first and last kept), and the steps of its rows, top to bottom."""
    picks = sorted(set(np.linspace(0, len(rows) - 1, min(len(rows), STRIP_ROWS)).round().astype(int).tolist()))
    return image_grid(torch.cat([rows[i][1] for i in picks]), STRIP_COLUMNS), [rows[i][0] for i in picks]


def translation_rows(gan: "GAN") -> np.ndarray:
    """Columns of held-out A digits; rows: A, G_AB(A), G_BA(G_AB(A)), the true B."""
    gan.G.eval()
    a = gan.data.test_a[:GRID_COLUMNS * 2].to(gan.device)
    fake_b = gan.G.ab(a)
    rows = [a, fake_b, gan.G.ba(fake_b), gan.data.translate(a)]
    return image_grid(torch.cat(rows), len(a))
