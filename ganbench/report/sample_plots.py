"""Plots of what the generators made: a toy dataset's samples over training on its mode centres, and for image
data, per cell, real images beside generated ones and the strip of the same z over training."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganbench.report.figures import Frames, plt, save_figure
from ganbench.results import picture_path, read_snapshots

SAMPLE_COLUMNS = 4
#: the pictures of a cell, left to right, in image_samples.png (each where the first seed saved it)
IMAGE_PANELS = {"real": "real training images", "samples": "generated (last step)",
                "translation": "A, G_AB(A), G_BA(G_AB(A)), true B", "strip": "the same z over training"}


# --- 5. samples over training -----------------------------------------------------------


def _snapshot_of(f: Frames, cell: str):
    """(steps, points) of the cell's first seeded run (by seed) that saved snapshots, or None."""
    for trial_id in f.seeded[f.seeded["cell"] == cell].sort_values("seed")["trial_id"]:
        snap = read_snapshots(f.folder, trial_id)
        if snap is not None and len(snap[0]):
            return snap
    return None


def _limits(centers: np.ndarray, std: float) -> tuple[np.ndarray, np.ndarray]:
    # fixed per dataset, so a point flying off or a mode collapsing reads the same in every panel
    margin = 0.25 * max(float(np.ptp(centers, axis=0).max()), 1.0) + 5 * std
    return centers.min(axis=0) - margin, centers.max(axis=0) + margin


def plot_samples(f: Frames, path: Path) -> Path | None:
    """Generated points at the first, two middle and last evaluations over the true mode centres."""
    rows = []
    for cell in f.cells():
        dataset = f.seeded.loc[f.seeded["cell"] == cell, "dataset"].iloc[0]
        record = f.datasets.get(dataset, {})
        # float32, as the dataset holds them: the axes limits then match to the last bit
        centers = np.asarray(record["centers"], dtype=np.float32) if "centers" in record else None
        snap = _snapshot_of(f, cell) if centers is not None and centers.shape[1] <= 2 else None
        if snap is not None:
            rows.append((cell, centers, float(record["std"]), snap))
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), SAMPLE_COLUMNS, figsize=(2.6 * SAMPLE_COLUMNS, 2.4 * len(rows)),
                             squeeze=False)
    for ax_row, (cell, centers, std, (steps, points)) in zip(axes, rows):
        picks = sorted(set(np.linspace(0, len(steps) - 1, SAMPLE_COLUMNS).round().astype(int)))
        lo, hi = _limits(centers, std)
        for col, ax in enumerate(ax_row):
            if col >= len(picks):
                ax.axis("off")
                continue
            draw = _scatter if centers.shape[1] == 2 else _histogram
            draw(ax, points[picks[col]], centers, lo, hi, f.colors[cell])
            ax.set_title(f"step {steps[picks[col]]}")
        ax_row[0].set_ylabel(f.labels[cell].replace(" ", "\n"), fontsize=8)
    fig.suptitle("generated samples over the true mode centres (red x), first complete seed of each cell: "
                 "mode collapse as it happens")
    return save_figure(fig, path)


def _scatter(ax, pts: np.ndarray, centers: np.ndarray, lo, hi, color) -> None:
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5, color=color, linewidths=0)
    ax.scatter(centers[:, 0], centers[:, 1], marker="x", color="red", s=30)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xticks=[], yticks=[])


def _histogram(ax, pts: np.ndarray, centers: np.ndarray, lo, hi, color) -> None:
    ax.hist(np.clip(pts[:, 0], lo[0], hi[0]), bins=np.linspace(lo[0], hi[0], 61), color=color, alpha=0.7)
    ax.scatter(centers[:, 0], np.zeros(len(centers)), marker="x", color="red", s=30, zorder=3, clip_on=False)
    ax.set(xlim=(lo[0], hi[0]), yticks=[])


# --- 5b. image runs: real beside generated, the strip over training -----------------------------------


def _first_pictures(f: Frames, cell: str) -> tuple[dict[str, Path], list[int]]:
    """The pictures of IMAGE_PANELS the cell's first seed (by seed) saved, and its strip's steps (top to bottom)."""
    for _, trial in f.seeded[f.seeded["cell"] == cell].sort_values("seed").iterrows():
        found = {name: p for name in IMAGE_PANELS if (p := picture_path(f.folder, trial["trial_id"], name)).exists()}
        if found:
            steps = trial.get("strip_steps")
            return found, [int(s) for s in steps.split()] if isinstance(steps, str) else []
    return {}, []


def plot_image_samples(f: Frames, path: Path) -> Path | None:
    """A row per cell: real training images, the generated grid of the last step and the strip over training (a row
    of the same z at each evaluation, its step on the left), from the first complete seed; each where saved. None
    for a folder from before the real grid and the strip: its table shows the grids it has."""
    rows = [(cell, *_first_pictures(f, cell)) for cell in f.cells()]
    rows = [r for r in rows if {"real", "strip"} & set(r[1])]
    if not rows:
        return None
    names = [n for n in IMAGE_PANELS if any(n in found for _, found, _ in rows)]
    fig, axes = plt.subplots(len(rows), len(names), figsize=(2.4 * len(names), 2.6 * len(rows)), squeeze=False)
    for ax_row, (cell, found, steps) in zip(axes, rows):
        for ax, name in zip(ax_row, names):
            ax.axis("off")
            if name not in found:
                continue
            picture = plt.imread(found[name])
            ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest")
            ax.set_title(IMAGE_PANELS[name], fontsize=8)
            if name == "strip" and steps:  # its steps as the y ticks, no frame
                ax.axis("on")
                ax.grid(False)
                ax.set_xticks([])
                height = picture.shape[0] / len(steps)
                ax.set_yticks([(i + 0.5) * height for i in range(len(steps))], [str(s) for s in steps], fontsize=6)
                ax.set_ylabel("step", fontsize=7)
                for side in ax.spines.values():
                    side.set_visible(False)
        ax_row[0].text(-0.08, 0.5, f.labels[cell], transform=ax_row[0].transAxes, rotation=90, ha="right",
                       va="center", fontsize=8)
    fig.suptitle("image runs: real data beside generated samples, first complete seed of each cell")
    return save_figure(fig, path)
