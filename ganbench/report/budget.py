"""Budget views of a searched suite (Lucic et al. 2018, Fig. 4-5): how good is the best trial
after b trials, and how spread are the trials of each cell.

- ``best_so_far(b)``: the best objective among the first b trials in the order they were asked
  (pruned, diverged and failed trials use budget and add no value);
- ``expected_best(b)``: the expected best of b trials drawn without replacement from the cell's
  complete trials; exact from order statistics, so it does not depend on one lucky ordering.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import comb

from ganbench.report.plots import plt, save_figure
from ganbench.results import Status, atomic_write
from ganbench.suite import Suite


def expected_best(values, b: int, maximize: bool) -> float:
    """E[best of b draws without replacement from ``values``]: P(best is the i-th best) = C(n-i, b-1) / C(n, b)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if maximize:
        x = x[::-1]
    n = len(x)
    if not 1 <= b <= n:
        return math.nan
    weights = comb(n - np.arange(1, n + 1), b - 1) / comb(n, b)
    return math.fsum(weights * x)  # exactly rounded: the same bits on every machine (a BLAS dot is not)


def budget_table(search_rows: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """One row per (cell, budget b): best_so_far and expected_best."""
    assert suite.search is not None
    maximize = suite.search.objective.resolved_direction() == "maximize"
    pick = max if maximize else min
    out = []
    for cell_label, group in search_rows.groupby("cell", sort=False):
        group = group.sort_values("search_trial")
        complete = group.loc[group["status"] == Status.COMPLETE, "objective"].dropna().to_numpy()
        best = math.nan
        for b, (status, value) in enumerate(zip(group["status"], group["objective"]), start=1):
            if status == Status.COMPLETE and math.isfinite(value):
                best = value if math.isnan(best) else pick(best, value)
            out.append({"cell": cell_label, "budget": b, "best_so_far": best,
                        "expected_best": expected_best(complete, b, maximize)})
    return pd.DataFrame(out, columns=["cell", "budget", "best_so_far", "expected_best"])


def write_budget_views(folder: Path, trials: pd.DataFrame, suite: Suite) -> list[Path]:
    """budget.csv / budget.png (budget curves) and objective.csv / objective.png (distribution per cell)."""
    if suite.search is None or "phase" not in trials:
        return []
    search_rows = trials[trials["phase"] == "search"].copy()
    if search_rows.empty:
        return []
    search_rows["objective"] = pd.to_numeric(search_rows["objective"], errors="coerce")
    folder = Path(folder)
    table = budget_table(search_rows, suite)
    spread = search_rows[["cell", "search_trial", "status", "objective", "steps_done"]].sort_values(
        ["cell", "search_trial"])
    atomic_write(folder / "budget.csv", lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(folder / "objective.csv", lambda tmp: spread.to_csv(tmp, index=False))
    metric = f"{suite.search.objective.metric} ({suite.search.objective.resolved_direction()})"
    save_figure(_plot_budget(table, metric), folder / "budget.png")
    save_figure(_plot_spread(spread, metric), folder / "objective.png")
    return [folder / n for n in ("budget.csv", "budget.png", "objective.csv", "objective.png")]


def _plot_budget(table: pd.DataFrame, metric: str):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (cell, group) in enumerate(table.groupby("cell", sort=False)):
        color = f"C{i % 10}"
        ax.plot(group["budget"], group["expected_best"], color=color, label=cell)
        ax.plot(group["budget"], group["best_so_far"], color=color, linestyle=":", alpha=0.7)
    ax.set_xlabel("trials (search budget)")
    ax.set_ylabel(metric)
    ax.set_title("best objective vs budget (solid: expected best of b; dotted: best so far)")
    ax.legend(fontsize=7)
    return fig


def _plot_spread(spread: pd.DataFrame, metric: str):
    cells = list(dict.fromkeys(spread["cell"]))
    done = spread[spread["status"] == Status.COMPLETE]
    data = [done.loc[done["cell"] == c, "objective"].dropna().to_numpy() for c in cells]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(cells) + 1.5))
    ax.boxplot([d if len(d) else [np.nan] for d in data], orientation="horizontal", tick_labels=cells, showfliers=False)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        ax.scatter(d, i + rng.uniform(-0.15, 0.15, len(d)), s=10, alpha=0.6)
    ax.set_xlabel(metric)
    ax.set_title("objective over each cell's complete search trials")
    ax.tick_params(axis="y", labelsize=7)
    return fig
