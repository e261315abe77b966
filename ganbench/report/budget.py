"""Budget views of a searched suite (Lucic et al. 2018, Fig. 4-5): how good is the best trial
after b trials, and how spread are the trials of each cell.

- ``best_so_far(b)``: the best objective among the first b trials in the order they were asked
  (pruned, diverged and failed trials use budget and add no value);
- ``expected_best(b)``: the expected best of b trials drawn without replacement from the cell's
  complete trials; exact from order statistics, so it does not depend on one lucky ordering;
- ``cpu_s`` / ``gpu_s``: the mean compute b trials drawn from all the cell's trials spend (b x the mean cost);
- ``expected_best_within(C)``: the same question in compute instead of trials (budget_compute.csv): the
  expected best of the trials finished within C CPU-seconds, over random orderings of the cell's trials, with
  a bootstrap band. A cell whose trials are cheap gets more of them for the same compute.

A trial costs its measured wall time x the resources it held (the suite's ``num_cpus``, and ``num_gpus`` when
it ran on a GPU); M trials stacked into one batch held them together, so each costs 1/M of the batch's.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import comb

from ganbench.report.plots import plt, save_figure, short_labels
from ganbench.results import Status, atomic_write
from ganbench.suite import Resources, Suite

#: random orderings of a cell's trials that the expected best within a compute budget averages over
ORDERINGS = 2_000
#: the band: bootstrap resamples of the cell's trials, each averaged over BAND_ORDERINGS orderings (its
#: Monte Carlo error is far below the spread between resamples, which is what the band shows)
BOOTSTRAP, BAND_ORDERINGS = 200, 200
#: points of the compute grid shared by every cell, from 0 to the most any cell spent
GRID_POINTS = 200
#: every random draw here (orderings, resamples) is seeded: the same table gives the same files
SEED = 0


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


def trial_costs(rows: pd.DataFrame, resources: Resources) -> pd.DataFrame:
    """cpu_s and gpu_s of each row: wall_s x the resources it held, shared among a stacked batch's trials.
    A row without a wall time (a lost worker) counts as free: nothing measured it."""
    def column(name: str, default: float) -> pd.Series:
        values = pd.to_numeric(rows[name], errors="coerce") if name in rows else pd.Series(default, index=rows.index)
        return values.fillna(default)

    held = column("wall_s", 0.0) / column("batch_trials", 1.0)
    on_gpu = rows["run_device"].astype(str).str.startswith("cuda") if "run_device" in rows else False
    return pd.DataFrame({"cpu_s": held * resources.num_cpus, "gpu_s": held * resources.num_gpus * on_gpu},
                        index=rows.index)


def _value_scores(values, maximize: bool) -> np.ndarray:
    """Objective values as scores where higher is better; -inf for trials without a value."""
    x = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(x), x if maximize else -x, -np.inf)


def _mean_best_score(scores: np.ndarray, costs: np.ndarray, grid: np.ndarray, orderings: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Mean over ``orderings`` random orderings (trials run one after another) of the best score among the
    trials finished within each budget of ``grid``; -inf where some ordering has finished none with a value."""
    order = np.argsort(rng.random((orderings, len(scores))), axis=1)
    spent = np.cumsum(costs[order], axis=1)  # each row non-decreasing: costs are >= 0
    running = np.maximum.accumulate(scores[order], axis=1)
    finished = np.stack([np.searchsorted(row, grid, side="right") for row in spent])  # trials done within each C
    best = np.where(finished > 0, np.take_along_axis(running, np.maximum(finished - 1, 0), axis=1), -np.inf)
    found = np.isfinite(best)  # finished a trial with a value
    best = np.where(found, best, 0.0)
    top = best.max(axis=0)
    mean = top + (best - top).mean(axis=0)  # about the top: exactly the value when every ordering found the same
    return np.where(found.all(axis=0), mean, -np.inf)


def _as_values(mean_scores: np.ndarray, maximize: bool) -> np.ndarray:
    finite = np.isfinite(mean_scores)
    return np.where(finite, mean_scores if maximize else -mean_scores, math.nan)


def expected_best_within(values, costs, grid, maximize: bool, orderings: int = ORDERINGS,
                         seed: int = SEED) -> np.ndarray:
    """E[best value among the trials finished within each compute budget of ``grid``] over random orderings
    of the trials (``values``: NaN for a trial that spends its cost and gives nothing: pruned, diverged,
    failed). NaN below the budget at which every ordering has finished a trial with a value: before that
    the expectation includes "nothing found", which has no value. Monte Carlo with a fixed seed."""
    scores, costs = _value_scores(values, maximize), np.asarray(costs, dtype=np.float64)
    mean = _mean_best_score(scores, costs, np.asarray(grid, dtype=np.float64), orderings, np.random.default_rng(seed))
    return _as_values(mean, maximize)


def expected_best_band(values, costs, grid, maximize: bool, resamples: int = BOOTSTRAP,
                       orderings: int = BAND_ORDERINGS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap 95% band of ``expected_best_within``: the cell's trials resampled with replacement.
    (worse, better) bounds; a bound is NaN where more than 2.5% of the resamples have found nothing."""
    scores, costs = _value_scores(values, maximize), np.asarray(costs, dtype=np.float64)
    grid, rng = np.asarray(grid, dtype=np.float64), np.random.default_rng(seed)
    curves = []
    for _ in range(resamples):
        pick = rng.integers(0, len(scores), len(scores))
        curves.append(_mean_best_score(scores[pick], costs[pick], grid, orderings, rng))
    # nothing found (-inf) ranks below every value; quantiles without interpolation keep it out of the sums
    worse, better = np.quantile(np.array(curves), [0.025, 0.975], axis=0, method="inverted_cdf")
    return _as_values(worse, maximize), _as_values(better, maximize)


def budget_table(search_rows: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """One row per (cell, budget b): best_so_far, expected_best and the mean compute of b trials (cpu_s, gpu_s)."""
    assert suite.search is not None
    maximize = suite.search.objective.resolved_direction() == "maximize"
    pick = max if maximize else min
    costs = trial_costs(search_rows, suite.resources)
    out = []
    for cell_label, group in search_rows.groupby("cell", sort=False):
        group = group.sort_values("search_trial")
        complete = group.loc[group["status"] == Status.COMPLETE, "objective"].dropna().to_numpy()
        mean_cost = costs.loc[group.index].mean()
        best = math.nan
        for b, (status, value) in enumerate(zip(group["status"], group["objective"]), start=1):
            if status == Status.COMPLETE and math.isfinite(value):
                best = value if math.isnan(best) else pick(best, value)
            out.append({"cell": cell_label, "budget": b, "best_so_far": best,
                        "expected_best": expected_best(complete, b, maximize),
                        "cpu_s": b * mean_cost["cpu_s"], "gpu_s": b * mean_cost["gpu_s"]})
    return pd.DataFrame(out, columns=["cell", "budget", "best_so_far", "expected_best", "cpu_s", "gpu_s"])


def compute_table(search_rows: pd.DataFrame, suite: Suite) -> pd.DataFrame:
    """One row per (cell, cpu_s) on a grid shared by every cell: expected_best within that many CPU-seconds
    and its bootstrap band. gpu_s: the GPU-seconds spent with them when every trial ran on a GPU (each trial
    held num_gpus / num_cpus GPUs per CPU), 0 when none did, NaN when some did."""
    assert suite.search is not None
    maximize = suite.search.objective.resolved_direction() == "maximize"
    columns = ["cell", "cpu_s", "gpu_s", "expected_best", "band_low", "band_high"]
    costs = trial_costs(search_rows, suite.resources)
    cells = list(dict.fromkeys(search_rows["cell"]))
    most = max((costs.loc[search_rows["cell"] == c, "cpu_s"].sum() for c in cells), default=0.0)
    if not most > 0:  # no wall times recorded
        return pd.DataFrame(columns=columns)
    grid = np.linspace(most / GRID_POINTS, most, GRID_POINTS)
    gpus = costs["gpu_s"] > 0
    gpu_per_cpu = (suite.resources.num_gpus / suite.resources.num_cpus if gpus.all()
                   else 0.0 if not gpus.any() else math.nan)
    out = []
    for cell in cells:
        rows = search_rows[search_rows["cell"] == cell]
        values = rows["objective"].where(rows["status"] == Status.COMPLETE).to_numpy(dtype=np.float64)
        cell_costs = costs.loc[rows.index, "cpu_s"].to_numpy()
        mean = expected_best_within(values, cell_costs, grid, maximize)
        worse, better = expected_best_band(values, cell_costs, grid, maximize)
        low, high = (worse, better) if maximize else (better, worse)
        out.append(pd.DataFrame({"cell": cell, "cpu_s": grid, "gpu_s": grid * gpu_per_cpu, "expected_best": mean,
                                 "band_low": low, "band_high": high}))
    return pd.concat(out, ignore_index=True)[columns]


def write_budget_views(folder: Path, trials: pd.DataFrame, suite: Suite) -> list[Path]:
    """budget.csv / budget.png (budget curves in trials), budget_compute.csv / budget_compute.png (in
    CPU-seconds) and objective.csv / objective.png (distribution per cell)."""
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
    written = [folder / n for n in ("budget.csv", "budget.png", "objective.csv", "objective.png")]
    compute = compute_table(search_rows, suite)
    if compute.empty:
        return written
    atomic_write(folder / "budget_compute.csv", lambda tmp: compute.to_csv(tmp, index=False))
    spent = trial_costs(search_rows, suite.resources).groupby(search_rows["cell"])["cpu_s"].sum()
    save_figure(_plot_compute(compute, spent, suite, metric), folder / "budget_compute.png")
    return written + [folder / "budget_compute.csv", folder / "budget_compute.png"]


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


def leaders(compute: pd.DataFrame, maximize: bool) -> list[tuple[str, float, float]]:
    """(cell, from cpu_s, to cpu_s): which cell has the best expected value over each stretch of the grid."""
    wide = compute.pivot(index="cpu_s", columns="cell", values="expected_best").dropna(how="all")
    ahead = (wide.idxmax(axis=1) if maximize else wide.idxmin(axis=1)).tolist()
    runs: list[tuple[str, float, float]] = []
    for x, cell in zip(wide.index, ahead):
        if runs and runs[-1][0] == cell:
            runs[-1] = (cell, runs[-1][1], x)
        else:
            runs.append((cell, x, x))
    return runs


def _plot_compute(compute: pd.DataFrame, spent: pd.Series, suite: Suite, metric: str):
    """All cells on one axes; a strip along the top is coloured by the cell ahead at each budget."""
    maximize = suite.search.objective.resolved_direction() == "maximize"
    names = short_labels(suite)
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {}
    for i, (cell, group) in enumerate(compute.groupby("cell", sort=False)):
        colors[cell] = color = f"C{i % 10}"
        measured = group["cpu_s"] <= spent[cell] * (1 + 1e-9)
        ax.plot(group["cpu_s"][measured], group["expected_best"][measured], color=color, label=names.get(cell, cell))
        # past what the cell spent: every trial has finished, so the curve is its best; no more was measured
        ax.plot(group["cpu_s"][~measured], group["expected_best"][~measured], color=color, linestyle=":", alpha=0.6)
        ax.fill_between(group["cpu_s"], group["band_low"], group["band_high"], color=color, alpha=0.15, linewidth=0)
    runs = leaders(compute, maximize)
    step = compute["cpu_s"].iloc[0] if len(compute) else 0.0
    for cell, start, end in runs:
        ax.axvspan(start - step, end, ymin=0.97, ymax=1.0, color=colors[cell], alpha=0.8, linewidth=0)
    ahead = ", then ".join(f"{names.get(cell, cell)} to {end:,.0f} CPU-s" for cell, _, end in runs[:4])
    ahead += ", ..." if len(runs) > 4 else ""
    ax.set_xlabel("CPU-seconds spent on the search (wall time x num_cpus)")
    ax.set_ylabel(f"expected best {metric}")
    # wrapped: cell names are long and a one-line title runs off the figure
    title = textwrap.fill(f"ahead (top strip; among the cells with a value there): {ahead}", 110)
    ax.set_title(f"expected best objective vs compute (shaded: bootstrap 95%; dotted: past the cell's spend)\n{title}",
                 fontsize=8)
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
