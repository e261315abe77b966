"""Plots of what was logged over training (curves.parquet): the learning curves, the equilibrium D = 1/2 of the
GAN paper, the image metrics at every evaluation and the Dirac-GAN's (theta, psi) trajectories."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ganbench.metrics import LOG4
from ganbench.registry import METRICS
from ganbench.report.figures import Frames, add_legend, metric_label, plt, save_figure

CURVE_METRICS = ("modes_covered", "high_quality_frac", "reverse_kl", "reverse_kl_hq", "dirac_distance",
                 "equilibrium_gap", "grad_norm_d", "grad_norm_g")
#: image metrics drawn over training, one panel each (those with data); fractions on a [0, 1] axis
IMAGE_CURVES = ("fid", "kid", "precision", "recall", "density", "coverage", "cycle_error", "translation_error")


# --- 1. learning curves ---------------------------------------------------------------


def _curve_stats(f: Frames, metric: str) -> pd.DataFrame:
    """Per (cell, step): mean, min, max and n over seeds of one metric's finite values."""
    rows = f.curves[f.curves["metric"] == metric].dropna(subset=["value"])
    rows = rows.assign(value=rows["value"].astype(float))
    return rows.groupby(["cell", "step"])["value"].agg(["mean", "min", "max", "count"]).reset_index()


def _draw_curve(ax, f: Frames, stats: pd.DataFrame, cell: str, label: str | None = None, **line) -> None:
    s = stats[stats["cell"] == cell].sort_values("step")
    color = f.colors[cell]
    ax.plot(s["step"], s["mean"], color=color, label=label, **line)
    ax.fill_between(s["step"], s["min"], s["max"], color=color, alpha=0.15, linewidth=0)


def plot_curves(f: Frames, metric: str, path: Path) -> Path | None:
    stats = _curve_stats(f, metric)
    if stats.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    cells = [c for c in f.cells() if c in set(stats["cell"])]
    for cell in cells:
        n = len(f.seeded[f.seeded["cell"] == cell])
        _draw_curve(ax, f, stats, cell, label=f"{f.labels[cell]} (n={n})")
    if metric.startswith("grad_norm") and (stats["min"] > 0).all():
        ax.set_yscale("log")  # gradient norms span orders of magnitude across losses
    ax.set(xlabel="step (Algorithm 1 iterations)", ylabel=metric_label(metric),
           title=f"{metric}: mean over seeds, band = min..max over seeds")
    add_legend(ax, len(cells))
    return save_figure(fig, path)


# --- 2. the equilibrium of the GAN paper ---------------------------------------------


def plot_equilibrium(f: Frames, path: Path) -> Path | None:
    """D(x) and D(G(z)) against 1/2, V(D,G) against -log 4: only losses whose D is a probability."""
    value = _curve_stats(f, "value")
    cells = [c for c in f.cells() if c in set(value["cell"])]  # value is NaN for critics (hinge, WGAN)
    if not cells:
        return None
    real, fake = _curve_stats(f, "d_real_mean"), _curve_stats(f, "d_fake_mean")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for cell in cells:
        _draw_curve(left, f, real, cell, label=f.labels[cell])  # one legend entry per cell; styles in the title
        _draw_curve(left, f, fake, cell, linestyle=":")
        _draw_curve(right, f, value, cell, label=f.labels[cell])
    left.axhline(0.5, color="black", linestyle="--", linewidth=1, label="equilibrium D = 1/2")
    right.axhline(-LOG4, color="black", linestyle="--", linewidth=1, label=f"-log 4 = {-LOG4:.3f}")
    left.set(xlabel="step", ylabel="mean D output (probability)", ylim=(-0.02, 1.02),
             title="D(x) (solid) and D(G(z)) (dotted): mean, band = min..max over seeds")
    right.set(xlabel="step", ylabel="V(D,G) (nats)", title="V(D,G) = E log D(x) + E log(1 - D(G(z)))")
    add_legend(left, len(cells) + 1)
    add_legend(right, len(cells) + 1)
    return save_figure(fig, path)


# --- 5b. image runs: the image metrics over training ---------------------------------------------------


def plot_image_metrics(f: Frames, path: Path) -> Path | None:
    """FID, KID, precision, recall & co. at every evaluation: a panel per metric, a line per cell (mean over seeds,
    band = min..max), as the learning curves draw them."""
    panels = [(m, s) for m in IMAGE_CURVES if not (s := _curve_stats(f, m)).empty]
    if not panels:
        return None
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    cells = [c for c in f.cells() if any(c in set(s["cell"]) for _, s in panels)]
    for ax, (metric, stats) in zip(axes.flat, panels):
        for cell in cells:
            if cell in set(stats["cell"]):
                _draw_curve(ax, f, stats, cell, label=f.labels[cell], marker="o", markersize=3)
        if METRICS.get(metric).bounds() == (0.0, 1.0):
            ax.set_ylim(-0.02, 1.02)
        ax.set(xlabel="step", ylabel=metric_label(metric), title=metric)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(cells)))
    fig.suptitle("image metrics over training: mean over seeds, band = min..max over seeds")
    return save_figure(fig, path)


# --- 7. the Dirac-GAN's (theta, psi) plane ----------------------------------------------


def plot_dirac(f: Frames, path: Path) -> Path | None:
    """Each cell's trajectories in the (theta, psi) plane, one panel per cell, as Mescheder et al. 2018 draw
    them: converging methods spiral into the equilibrium (0, 0), the others circle it or drift away."""
    points = f.curves[f.curves["metric"].isin(["dirac_theta", "dirac_psi"])]
    if points.empty:
        return None
    wide = points.pivot_table(index=["cell", "trial_id", "step"], columns="metric", values="value").reset_index()
    cells = [c for c in f.cells() if c in set(wide["cell"])]
    cols = min(4, len(cells))
    rows = -(-len(cells) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False, sharex=True, sharey=True)
    reach = float(np.nanmax(np.abs(wide[["dirac_theta", "dirac_psi"]].to_numpy()))) if len(wide) else 1.0
    lim = min(max(1.5, reach * 1.1), 5.0)  # a diverging run beyond 5 leaves the panel: the others stay readable
    for ax, cell in zip(axes.flat, cells):
        for _, run in wide[wide["cell"] == cell].groupby("trial_id"):
            run = run.sort_values("step")
            ax.plot(run["dirac_theta"], run["dirac_psi"], "-", color=f.colors[cell], lw=0.8, alpha=0.8)
            ax.plot(run["dirac_theta"].iloc[-1], run["dirac_psi"].iloc[-1], "o", color=f.colors[cell], ms=6)
        ax.plot(0, 0, "k*", ms=8)
        ax.set_title(f.labels[cell], fontsize=9)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
    for ax in axes.flat[len(cells):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("theta (G)")
    for ax in axes[:, 0]:
        ax.set_ylabel("psi (D)")
    fig.suptitle("Dirac-GAN trajectories at each evaluation (dot: the last; star: the equilibrium)", fontsize=10)
    return save_figure(fig, path)
