"""Plots of each cell's final metrics over its seeds, mean and 95% t-interval cut to the metric's range as the
tables show it: the effect of k, modes covered (bars per cell) and throughput."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ganbench.registry import METRICS
from ganbench.report.figures import ABBREV, Frames, add_legend, finite, metric_label, plt, save_figure
from ganbench.report.ideal import IDEAL_COLUMNS, cell_ideal
from ganbench.report.stats import bounded_ci95

K = "d_steps_per_g_step"


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
        names = [m for m in names if m and len(finite(data, m))]
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
    ax.set(xlabel="k", ylabel=metric_label(metric), title=f"{metric} on {dataset}")
    if len(groups) > 1:
        add_legend(ax, len(groups))


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
    stats = [_interval(finite(f.seeded[f.seeded["cell"] == c], metric), metric, record) for c in cells]
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
        cells = [c for c in f.cells() if len(finite(data[data["cell"] == c], "modes_covered"))]
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
    cells = [c for c in f.cells() if len(finite(f.seeded[f.seeded["cell"] == c], "steps_per_s"))]
    if not cells:
        return None
    fig, ax = plt.subplots(figsize=(7, _bar_height(len(cells))))
    _bars(ax, f, cells, "steps_per_s")
    ax.set(xlabel="steps per second of training (1/s)",
           title="throughput: Algorithm 1 iterations per second, mean and 95% t-interval over seeds (cut at 0)")
    return save_figure(fig, path)
