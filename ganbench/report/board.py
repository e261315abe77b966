"""The leaderboard's frame: one row per cell in grid order, its counts and, per metric, the mean and 95% intervals
over seeds, the ties with the best cell, a search's summary and the pictures a row links to."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ganbench.metrics import Metric
from ganbench.registry import METRICS
from ganbench.report.headline import headline_metrics
from ganbench.report.ideal import IDEAL_COLUMNS, cell_ideal
from ganbench.report.stats import bootstrap_ci, bounded_ci95, mean_ci95
from ganbench.report.ties import ties_with_best
from ganbench.results import Status, picture_path
from ganbench.suite import Suite

KIND_ORDER = ("modes", "images", "convergence", "throughput")
#: the picture a leaderboard row links to (the first seed's), by preference
LINKED_PICTURES = ("samples", "translation")
#: picture columns beside it: name -> the pictures it shows (the strip over training: a row per evaluation)
PICTURE_COLUMNS = {"samples": LINKED_PICTURES, "strip": ("strip",)}


def metric_columns(trials: pd.DataFrame, suite: Suite, datasets: dict[str, dict]) -> list[Metric]:
    """Metrics present with at least one finite value, the suite's primary metrics first."""
    primary = {record["primary_metric"] for record in datasets.values()}
    objective = suite.search.objective.metric if suite.search else None
    order = METRICS.in_order()
    present = [METRICS.get(n) for n in order if n in trials and pd.to_numeric(trials[n], errors="coerce").notna().any()]
    present.sort(key=lambda m: (m.name != objective, m.name not in primary, KIND_ORDER.index(m.kind),
                                order.index(m.name)))
    return present


COUNT_COLUMNS = ["n_seeds", "n_diverged", "n_pruned", "n_failed", "n_planned"]
#: the columns each metric gets, as <metric>_<stat>; low/high: the interval the tables show (interval: its kind)
METRIC_STATS = ("mean", "ci95", "n", "boot_low", "boot_high", "tied", "p_vs_best", "low", "high", "interval")
#: <metric>_interval: the 95% Student-t interval, or that interval cut to the metric's range where a bound cut it
T_INTERVAL, CLIPPED, NO_INTERVAL = "t95", "t95 clipped to", "none (n < 2)"
SEARCH_COLUMNS = ["search_trials", "search_pruned", "search_failed", "objective_best", "objective_median",
                  "objective_worst", "best_params"]


def leaderboard(trials: pd.DataFrame, suite: Suite, datasets: dict[str, dict],
                folder: Path | None = None) -> tuple[pd.DataFrame, list[Metric]]:
    """One row per cell in grid order: axes, counts, then per metric METRIC_STATS.

    <metric>_ci95 is the half-width of the 95% t-interval, _low/_high that interval cut to the metric's range
    (``Metric.bounds`` on the cell's dataset; _interval says whether a bound cut it), _boot_low/_boot_high the
    BCa bootstrap interval, _tied and _p_vs_best the comparison with the metric's best cell (report.ties: Holm over
    each family of ``tie_families``). For a searched suite the means are over the confirmation runs of each
    cell's best parameters (one per suite seed), and the search itself adds the SEARCH_COLUMNS. With
    the results ``folder``, a ``samples`` column names each cell's sample grid (first seed).
    """
    axes = suite.axes()
    is_search = trials["phase"] == "search" if "phase" in trials else pd.Series(False, index=trials.index)
    seeded, searched = trials[~is_search], trials[is_search]
    metrics = metric_columns(seeded, suite, datasets)
    rows, samples = [], {m.name: [] for m in metrics}
    for cell in suite.cells():
        group = seeded[_in_cell(seeded, cell)]
        done = group[group["status"] == Status.COMPLETE]
        record = datasets.get(cell.get("dataset", suite.params.get("dataset"))) or {}
        row = {**cell, "n_seeds": len(done), "n_diverged": int((group["status"] == Status.DIVERGED).sum()),
               "n_pruned": int((group["status"] == Status.PRUNED).sum()),
               "n_failed": int((group["status"] == Status.FAILED).sum()), "n_planned": len(suite.seeds)}
        for m in metrics:
            values = seed_values(done, m.name)
            mean, hw, n = mean_ci95(values) if len(values) else (math.nan, math.nan, 0)
            lower, upper = m.bounds(record)
            interval = bounded_ci95(values, lower, upper)
            low, high = bootstrap_ci(values)
            row.update({f"{m.name}_mean": mean, f"{m.name}_ci95": hw, f"{m.name}_n": n,
                        f"{m.name}_boot_low": low, f"{m.name}_boot_high": high,
                        f"{m.name}_low": interval.low, f"{m.name}_high": interval.high,
                        f"{m.name}_interval": NO_INTERVAL if n < 2 else f"{CLIPPED} {range_text(lower, upper)}"
                        if interval.clipped else T_INTERVAL})
            samples[m.name].append(values)
        row.update(cell_ideal(done, datasets, cell.get("dataset", suite.params.get("dataset"))))
        if suite.search is not None:
            row.update(search_summary(searched[_in_cell(searched, cell)], suite))
        for column, names in PICTURE_COLUMNS.items():
            if folder is not None and (picture := first_picture(folder, done, names)):
                row[column] = picture
        rows.append(row)
    extra = SEARCH_COLUMNS if suite.search is not None else []
    groups = [cell.get("dataset") for cell in suite.cells()]  # a best per dataset: metrics do not rank across data
    for family in tie_families(metrics, suite, datasets):
        for name, ties in ties_with_best({m.name: samples[m.name] for m in family}, family, groups=groups).items():
            for row, tied, p in zip(rows, ties.tied, ties.p_vs_best):
                row.update({f"{name}_tied": tied, f"{name}_p_vs_best": p})
    extra = extra + [c for c in PICTURE_COLUMNS if any(c in row for row in rows)]
    ideal = [c for c in IDEAL_COLUMNS.values() if any(c in row for row in rows)]  # stacked digits: beside the modes
    return pd.DataFrame(rows, columns=list(axes) + COUNT_COLUMNS + extra
                        + [f"{m.name}_{s}" for m in metrics for s in METRIC_STATS] + ideal), metrics


def tie_families(metrics: list[Metric], suite: Suite, datasets: dict[str, dict]) -> list[list[Metric]]:
    """The Holm families of the ties with the best: the headline metrics (what the table is read for), then
    every other metric. One family over all ~20 metrics (throughput and diagnostics included) would make
    every headline difference pay for tests nobody reads it by: with 3 seeds nearly every cell came out tied."""
    first = set(headline_metrics([m.name for m in metrics], suite, datasets))
    return [f for f in ([m for m in metrics if m.name in first], [m for m in metrics if m.name not in first]) if f]


def seed_values(done: pd.DataFrame, metric: str) -> pd.Series:
    """The finite values of one metric over a cell's complete trials, indexed by seed (the tests pair on it)."""
    if metric not in done or done.empty:
        return pd.Series(dtype=float)
    values = pd.to_numeric(done[metric], errors="coerce").astype(float).set_axis(done["seed"].to_numpy())
    return values.replace([math.inf, -math.inf], math.nan).dropna()


def first_picture(folder: Path, done: pd.DataFrame, names: tuple[str, ...] = LINKED_PICTURES) -> str | None:
    """Relative path of the lowest seed's sample grid (or translation rows; or another of ``names``) in the cell,
    if one was saved."""
    for trial_id in done.sort_values("seed")["trial_id"] if len(done) else []:
        for name in names:
            if picture_path(folder, trial_id, name).exists():
                return picture_path(folder, trial_id, name).relative_to(folder).as_posix()
    return None


def _in_cell(trials: pd.DataFrame, cell: dict) -> pd.Series:
    mask = pd.Series(True, index=trials.index)
    for axis, value in cell.items():
        # None (e.g. no variant, filled in for a mapping of a list grid that leaves it out) is null in the table
        mask &= trials[axis].isna() if value is None else trials[axis] == value
    return mask


def search_summary(group: pd.DataFrame, suite: Suite) -> dict:
    """Best, median and worst objective over a cell's complete search trials (Lucic et al. report all three)."""
    assert suite.search is not None
    status = group["status"] if len(group) else pd.Series(dtype=str)
    done = group[status == Status.COMPLETE]
    values = pd.to_numeric(done.get("objective", pd.Series(dtype=float)), errors="coerce").dropna()
    maximize = suite.search.objective.resolved_direction() == "maximize"
    out = {"search_trials": len(group), "search_pruned": int((status == Status.PRUNED).sum()),
           "search_failed": int(status.isin([Status.DIVERGED.value, Status.FAILED.value]).sum()),
           "objective_best": math.nan, "objective_median": math.nan, "objective_worst": math.nan, "best_params": ""}
    if len(values):
        best_idx = values.idxmax() if maximize else values.idxmin()
        out.update(objective_best=float(values[best_idx]), objective_median=float(values.median()),
                   objective_worst=float(values.min() if maximize else values.max()),
                   best_params=json.dumps({k: _as_searched(suite, k, done.loc[best_idx, f"search.{k}"])
                                           for k in suite.search.space if f"search.{k}" in done}))
    return out


def range_text(lower: float, upper: float) -> str:
    """'[0, 8]', '[0, inf)', '(-inf, 0]'."""
    left = "(-inf" if lower == -math.inf else f"[{lower:.6g}"
    right = "inf)" if upper == math.inf else f"{upper:.6g}]"
    return f"{left}, {right}"


def _as_searched(suite: Suite, key: str, value):
    """A stored value back in its search-space type (parquet turns an int column with gaps into floats)."""
    kind = suite.search.space[key].type if suite.search else "float"
    if kind == "int":
        return int(value)
    return value.item() if hasattr(value, "item") else value
