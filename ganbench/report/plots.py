"""Plots from a results folder alone, never retraining: learning curves, the equilibrium
D = 1/2, the effect of k, mode coverage, samples as training goes, throughput; for image data the
image metrics over training and, per cell, real images beside generated ones and the strip over training.

Statistics are over the seeded runs (grid or confirmation phase, status complete); Optuna's
search-phase trials are left out, as in the leaderboard.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # files only: no display on workers or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ganbench.metrics import LOG4  # noqa: E402
from ganbench.registry import METRICS  # noqa: E402
from ganbench.report.contrasts import EFFECTS_PLOT, effects_figure  # noqa: E402
from ganbench.report.data import dataset_records  # noqa: E402
from ganbench.report.ideal import IDEAL_COLUMNS, cell_ideal  # noqa: E402
from ganbench.report.stats import bounded_ci95  # noqa: E402
from ganbench.results import (CURVE_COLUMNS, ResultsStore, Status, atomic_write, picture_path,  # noqa: E402
                              read_snapshots)
from ganbench.suite import Suite, read_suite  # noqa: E402

PLOTS_DIR = "plots"
DPI = 120
#: one look for every figure (applied with rc_context, so importing this module changes nothing)
STYLE = {
    "figure.facecolor": "white", "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "figure.constrained_layout.use": True, "font.size": 9, "axes.titlesize": 10,
    "legend.fontsize": 8, "legend.frameon": False,
}
CURVE_METRICS = ("modes_covered", "high_quality_frac", "reverse_kl", "reverse_kl_hq", "dirac_distance",
                 "equilibrium_gap", "grad_norm_d", "grad_norm_g")
#: short names for long axes in legends
ABBREV = {"d_steps_per_g_step": "k", "g_steps_per_d_step": "m"}
K = "d_steps_per_g_step"
SAMPLE_COLUMNS = 4
#: image metrics drawn over training, one panel each (those with data); fractions on a [0, 1] axis
IMAGE_CURVES = ("fid", "kid", "precision", "recall", "density", "coverage", "cycle_error", "translation_error")
#: the pictures of a cell, left to right, in image_samples.png (each where the first seed saved it)
IMAGE_PANELS = {"real": "real training images", "samples": "generated (last step)",
                "translation": "A, G_AB(A), G_BA(G_AB(A)), true B", "strip": "the same z over training"}


@dataclass
class Frames:
    """Everything the plots read, loaded once."""

    folder: Path
    suite: Suite
    trials: pd.DataFrame  # every row of trials.parquet
    seeded: pd.DataFrame  # the runs to aggregate over seeds: not search phase, status complete
    curves: pd.DataFrame  # curves of the seeded runs, with their cell label
    labels: dict[str, str]  # cell label -> short label for legends
    colors: dict[str, tuple]  # cell label -> one colour in every figure
    datasets: dict[str, dict]  # dataset name -> what run.json recorded of it (report.data)

    def cells(self) -> list[str]:
        """Cell labels with at least one seeded run, in grid order."""
        present = set(self.seeded["cell"])
        return [c for c in self.labels if c in present]


def load_frames(folder: Path) -> Frames:
    folder = Path(folder)
    suite = read_suite(folder / "suite.yaml")
    store = ResultsStore(folder)
    trials, curves = store.trials_frame(), store.curves_frame()
    if trials.empty:
        trials = pd.DataFrame(columns=["trial_id", "cell", "status", "seed"])
    trials = trials.copy()
    if "phase" not in trials:  # folders from before the search phase existed
        trials["phase"] = "grid"
    if "dataset" not in trials:  # a single dataset may sit in params instead of the grid
        trials["dataset"] = suite.params.get("dataset")
    seeded = trials[(trials["phase"] != "search") & (trials["status"] == Status.COMPLETE)]
    curves = curves.merge(seeded[["trial_id", "cell"]], on="trial_id") if len(curves) else \
        pd.DataFrame(columns=CURVE_COLUMNS + ["cell"])
    cells = [suite.cell_label(c) for c in suite.cells()]
    return Frames(folder, suite, trials, seeded, curves, short_labels(suite), _palette(cells),
                  dataset_records(folder, suite))


def short_labels(suite: Suite) -> dict[str, str]:
    """Legend labels without the axes that have one value: 'loss=hinge d_steps_per_g_step=2 ...' -> 'loss=hinge k=2'.

    In a list of grids most cells carry filled-in values ('r1=0.0' where a grid did not set r1): an axis
    part is shown only where it differs from the value most cells have, unless no value holds a majority.
    """
    cells = suite.cells()
    varying = [a for a in suite.axes() if len(suite.axis_values(a)) > 1]
    usual: dict[str, Any] = {}
    if len(suite.grids()) > 1:
        for axis in varying:
            values = [repr(c[axis]) for c in cells]
            common = max(set(values), key=values.count)
            if values.count(common) * 2 > len(values):
                usual[axis] = common
    out = {}
    for cell in cells:
        parts = [f"{ABBREV.get(a, a)}={cell[a]}" for a in varying if usual.get(a) != repr(cell[a])]
        out[suite.cell_label(cell)] = " ".join(parts) or suite.cell_label(cell)
    return out


def _palette(cells: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(cells) <= 10 else "tab20" if len(cells) <= 20 else "viridis")
    n = max(len(cells) - 1, 1)
    return {c: cmap(i if len(cells) <= 20 else i / n) for i, c in enumerate(cells)}


def save_figure(fig, path: Path) -> Path:
    # atomic: a report server reading plots/ never sees half a PNG
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    finally:
        plt.close(fig)  # pyplot keeps every open figure alive: a long report would leak memory
    return path


def _finite(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").dropna()


def _ylabel(name: str) -> str:
    unit = METRICS.get(name).unit if name in METRICS.names() else ""
    return f"{name} ({unit})" if unit else name


def _legend(ax, n: int) -> None:
    # many cells: the legend goes beside the axes so it never hides the lines
    if n > 6:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend()


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
    ax.set(xlabel="step (Algorithm 1 iterations)", ylabel=_ylabel(metric),
           title=f"{metric}: mean over seeds, band = min..max over seeds")
    _legend(ax, len(cells))
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
    _legend(left, len(cells) + 1)
    _legend(right, len(cells) + 1)
    return save_figure(fig, path)


# --- 3. the effect of k ----------------------------------------------------------------


def objective_metric(f: Frames, dataset: str) -> str | None:
    if f.suite.search is not None:
        return f.suite.search.objective.metric
    return f.datasets.get(dataset, {}).get("primary_metric")


def plot_k_effect(f: Frames, path: Path) -> Path | None:
    """Final metric vs k, mean ± 95% t-interval over seeds; a line per setting of the other varying axes."""
    suite = f.suite
    if len(suite.axis_values(K)) < 2 or f.seeded.empty:
        return None
    panels = {}  # dataset -> the metrics with data: its objective, then high_quality_frac
    for dataset in dict.fromkeys(f.seeded["dataset"]):
        data = f.seeded[f.seeded["dataset"] == dataset]
        names = dict.fromkeys([objective_metric(f, dataset), "high_quality_frac"])
        names = [m for m in names if m and len(_finite(data, m))]
        if names:
            panels[dataset] = (data, names)
    if not panels:
        return None
    others = [a for a in suite.axes() if a not in (K, "dataset") and len(suite.axis_values(a)) > 1]
    ks = sorted(suite.axis_values(K))
    ncols = max(len(names) for _, names in panels.values())
    fig, axes = plt.subplots(len(panels), ncols, figsize=(5.5 * ncols, 3.8 * len(panels)), squeeze=False)
    for ax_row, (dataset, (data, names)) in zip(axes, panels.items()):
        for col, ax in enumerate(ax_row):
            if col < len(names):
                _k_panel(ax, data, names[col], dataset, others, ks, f.datasets.get(dataset))
            else:
                ax.axis("off")
    fig.suptitle("final metric vs k (D steps per G step): mean and 95% t-interval over seeds, cut to the metric's "
                 "range")
    return save_figure(fig, path)


def _k_panel(ax, data: pd.DataFrame, metric: str, dataset: str, others: list[str], ks: list,
             record: dict | None = None) -> None:
    groups = list(data.groupby(others, sort=False)) if others else [((), data)]
    dodge = 0.02 * (max(ks) - min(ks))  # side by side, so the intervals do not hide each other
    for i, (key, group) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        stats = [_interval(group.loc[group[K] == k, metric] if metric in group else [], metric, record) for k in ks]
        x = np.array(ks, dtype=float) + dodge * (i - (len(groups) - 1) / 2)
        label = " ".join(f"{ABBREV.get(a, a)}={v}" for a, v in zip(others, key)) or "all"
        ax.errorbar(x, [s.mean for s in stats], yerr=_errors(stats), marker="o", capsize=3, label=label)
    ax.set_xticks(ks)
    ax.set(xlabel="k", ylabel=_ylabel(metric), title=f"{metric} on {dataset}")
    if len(groups) > 1:
        _legend(ax, len(groups))


# --- 4 and 6. bars per cell -------------------------------------------------------------


def _interval(values, metric: str, record: dict | None = None):
    """The mean and 95% t-interval cut to the metric's range on the dataset (``stats.bounded_ci95``), as the
    tables show it."""
    bounds = METRICS.get(metric).bounds(record) if metric in METRICS.names() else (-math.inf, math.inf)
    return bounded_ci95(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(float), *bounds)


def _errors(stats) -> np.ndarray:
    """Asymmetric error bars [below, above] from intervals (0 where there is none: a single seed)."""
    return np.nan_to_num(np.array([[s.mean - s.low for s in stats], [s.high - s.mean for s in stats]]))


def _bars(ax, f: Frames, cells: list[str], metric: str, record: dict | None = None) -> None:
    """Horizontal bar per cell: mean with its 95% t-interval cut to the metric's range, n seeds in the tick label."""
    stats = [_interval(_finite(f.seeded[f.seeded["cell"] == c], metric), metric, record) for c in cells]
    y = np.arange(len(cells))
    ax.barh(y, [s.mean for s in stats], xerr=_errors(stats), capsize=3,
            color=[f.colors[c] for c in cells], alpha=0.85)
    ax.set_yticks(y, [f"{f.labels[c]} (n={s.n})" for c, s in zip(cells, stats)])
    for yi, mean in zip(y, [s.mean for s in stats]):  # the number itself: a zero bar is otherwise invisible
        if math.isfinite(mean):
            ax.annotate(f"{mean:.3g}", (max(mean, 0), yi), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=7)
    ax.set_xlim(left=0)  # counts and rates
    ax.invert_yaxis()  # grid order from the top
    ax.grid(axis="y", visible=False)


def _bar_height(n_cells: int) -> float:
    return 1.2 + 0.35 * n_cells


def plot_modes(f: Frames, path: Path) -> Path | None:
    """Modes covered per cell against the number of modes; one panel per toy dataset."""
    panels = []
    for dataset in dict.fromkeys(f.seeded["dataset"]):
        data = f.seeded[f.seeded["dataset"] == dataset]
        n_modes = f.datasets.get(dataset, {}).get("n_modes")
        cells = [c for c in f.cells() if len(_finite(data[data["cell"] == c], "modes_covered"))]
        if n_modes is not None and cells:
            panels.append((dataset, n_modes, cells, cell_ideal(data, f.datasets, dataset)))
    if not panels:
        return None
    height = sum(_bar_height(len(cells)) for _, _, cells, _ in panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, height), squeeze=False,
                             height_ratios=[len(cells) + 2 for _, _, cells, _ in panels])
    for ax, (dataset, n_modes, cells, ideal) in zip(axes[:, 0], panels):
        _bars(ax, f, cells, "modes_covered", f.datasets.get(dataset))
        ax.axvline(n_modes, color="black", linestyle="--", linewidth=1, label=f"all {n_modes} modes")
        if (modes_ideal := ideal.get(IDEAL_COLUMNS["modes_covered"])) is not None:  # stacked digits
            ax.axvline(modes_ideal, color="grey", linestyle=":", linewidth=1,
                       label=f"a perfect generator at this sample count: {modes_ideal:.4g}")
        ax.set_xlim(right=max(ax.get_xlim()[1], 1.03 * n_modes))  # the reference lines stay in view
        ax.set(xlabel="modes covered", title=f"{dataset}: modes covered, mean and 95% t-interval over seeds "
               f"(cut to 0..{n_modes})")
        ax.legend(loc="lower right")
    return save_figure(fig, path)


def plot_throughput(f: Frames, path: Path) -> Path | None:
    cells = [c for c in f.cells() if len(_finite(f.seeded[f.seeded["cell"] == c], "steps_per_s"))]
    if not cells:
        return None
    fig, ax = plt.subplots(figsize=(7, _bar_height(len(cells))))
    _bars(ax, f, cells, "steps_per_s")
    ax.set(xlabel="steps per second of training (1/s)",
           title="throughput: Algorithm 1 iterations per second, mean and 95% t-interval over seeds (cut at 0)")
    return save_figure(fig, path)


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


# --- 5b. image runs: metrics over training, real beside generated, the strip over training -----------------


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
        ax.set(xlabel="step", ylabel=_ylabel(metric), title=metric)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(cells)))
    fig.suptitle("image metrics over training: mean over seeds, band = min..max over seeds")
    return save_figure(fig, path)


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


# --- all of them ------------------------------------------------------------------------

#: every figure, by file name, in the order the HTML page shows them; each returns None, drawing nothing, without data
PLOTS: dict[str, Callable[[Frames, Path], Path | None]] = {
    **{f"curves_{m}.png": (lambda f, path, m=m: plot_curves(f, m, path)) for m in CURVE_METRICS},
    "equilibrium.png": plot_equilibrium, "k_effect.png": plot_k_effect, "modes.png": plot_modes,
    "samples.png": plot_samples, "image_metrics.png": plot_image_metrics, "image_samples.png": plot_image_samples,
    "throughput.png": plot_throughput, "dirac.png": plot_dirac,
    # report.contrasts: each axis's main effect on the headline metrics
    EFFECTS_PLOT: lambda f, path: None if (fig := effects_figure(f)) is None else save_figure(fig, path),
}
#: processes that render the plots while the caller writes its tables (matplotlib holds the GIL: threads would not help)
PLOT_WORKERS = 2


def write_plots(folder: Path, names: Sequence[str] | None = None) -> list[Path]:
    """Write every plot (or those of ``names``, keys of PLOTS) whose data the folder holds into folder/plots/;
    return the paths written."""
    f = load_frames(folder)
    out = Path(folder) / PLOTS_DIR
    written = []
    with plt.rc_context(STYLE):
        for name in PLOTS if names is None else names:
            path = PLOTS[name](f, out / name)
            if path is not None:
                written.append(path)
    return written


class BackgroundPlots:
    """``write_plots`` in ``workers`` forked processes, started on creation; ``paths()`` waits for them.

    ``workers`` defaults to PLOT_WORKERS. A fork starts at once (no second import of matplotlib, pandas, torch)
    but is safe only from a process with one thread: with others running (a Ray driver's), or with ``workers=0``,
    the plots are drawn here, in ``paths()``. ``elapsed_s`` is the wall time the plots took, once ``paths()`` returns.
    """

    def __init__(self, folder: Path, workers: int | None = None) -> None:
        workers = PLOT_WORKERS if workers is None else workers
        self.folder = Path(folder)
        self.elapsed_s = 0.0
        self._started = time.monotonic()  # system-wide: the workers' clocks agree with it
        self._pool: ProcessPoolExecutor | None = None
        if workers >= 1 and threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
            self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
            names = list(PLOTS)
            self._shares = [self._pool.submit(_timed_plots, self.folder, names[i::workers]) for i in range(workers)]
        self.forked = self._pool is not None

    def paths(self) -> list[Path]:
        if self._pool is None:
            self._started = time.monotonic()
            written, finished = _timed_plots(self.folder, list(PLOTS))
            self.elapsed_s = finished - self._started
            return written
        try:
            shares = [share.result() for share in self._shares]
        finally:
            self.close()
        self.elapsed_s = max(finished for _, finished in shares) - self._started
        order = list(PLOTS)
        return sorted((path for written, _ in shares for path in written), key=lambda path: order.index(path.name))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "BackgroundPlots":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _timed_plots(folder: Path, names: list[str]) -> tuple[list[Path], float]:
    """write_plots, and the time.monotonic() when it finished (in a worker: when that worker's share was done)."""
    return write_plots(folder, names), time.monotonic()
