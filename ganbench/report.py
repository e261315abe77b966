"""Leaderboards from a results folder alone: one row per cell, mean and 95% interval over seeds."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ganbench.losses import LOG4
from ganbench.metrics import Metric
from ganbench.registry import DATASETS, METRICS
from ganbench.results import ResultsStore, atomic_write, atomic_write_text, read_run_info
from ganbench.stats import mean_ci95
from ganbench.suite import Suite, load_suite

KIND_ORDER = ("modes", "convergence", "throughput")
#: the Markdown table keeps to these (the CSV has every metric)
MARKDOWN_METRICS = (
    "modes_covered", "high_quality_frac", "reverse_kl", "dirac_distance", "equilibrium_gap", "value",
    "d_real_mean", "d_fake_mean", "steps_to_threshold", "steps_per_s", "wall_s",
)


def metric_columns(trials: pd.DataFrame, suite: Suite) -> list[Metric]:
    """Metrics present with at least one finite value, the suite's primary metrics first."""
    primary = {DATASETS.get(d)().primary_metric for d in _datasets(suite)}
    order = METRICS.in_order()
    present = [METRICS.get(n) for n in order if n in trials and pd.to_numeric(trials[n], errors="coerce").notna().any()]
    present.sort(key=lambda m: (m.name not in primary, KIND_ORDER.index(m.kind), order.index(m.name)))
    return present


def leaderboard(trials: pd.DataFrame, suite: Suite) -> tuple[pd.DataFrame, list[Metric]]:
    """One row per cell in grid order: axes, counts, then <metric>_mean / _ci95 / _n."""
    axes = suite.axes()
    metrics = metric_columns(trials, suite)
    rows = []
    for cell in suite.cells():
        mask = pd.Series(True, index=trials.index)
        for axis, value in cell.items():
            mask &= trials[axis] == value
        group = trials[mask]
        done = group[group["status"] == "complete"]
        row = {**cell, "n_seeds": len(done), "n_diverged": int((group["status"] == "diverged").sum()),
               "n_failed": int((group["status"] == "failed").sum()), "n_planned": len(suite.seeds)}
        for m in metrics:
            mean, hw, n = mean_ci95(done[m.name]) if len(done) else (math.nan, math.nan, 0)
            row.update({f"{m.name}_mean": mean, f"{m.name}_ci95": hw, f"{m.name}_n": n})
        rows.append(row)
    return pd.DataFrame(rows, columns=list(axes) + ["n_seeds", "n_diverged", "n_failed", "n_planned"]
                        + [f"{m.name}_{s}" for m in metrics for s in ("mean", "ci95", "n")]), metrics


def _fmt(mean: float, hw: float) -> str:
    if not math.isfinite(mean):
        return "-"
    text = f"{mean:.4g}"
    return f"{text} ± {hw:.2g}" if math.isfinite(hw) else text


def to_markdown(board: pd.DataFrame, metrics: list[Metric], suite: Suite, run_info: dict | None) -> str:
    shown = [m for m in metrics if m.name in MARKDOWN_METRICS]
    table = board[suite.axes() + ["n_seeds", "n_diverged", "n_failed"]].copy()
    for m in shown:
        means, hws = board[f"{m.name}_mean"], board[f"{m.name}_ci95"]
        best = None
        if m.higher_is_better is not None and means.notna().any():
            best = means.max() if m.higher_is_better else means.min()
        arrow = {True: " ↑", False: " ↓", None: ""}[m.higher_is_better]
        table[m.name + arrow] = [
            f"**{_fmt(a, b)}**" if best is not None and a == best else _fmt(a, b) for a, b in zip(means, hws)
        ]
    env = (run_info or {}).get("environment", {})
    protocols = sorted({getattr(DATASETS.get(d)(), "protocol", "") or d for d in _datasets(suite)})
    lines = [
        f"# Leaderboard: {suite.name}",
        "",
        *([suite.description, ""] if suite.description else []),
        f"- suite hash `{(run_info or {}).get('suite_hash', suite.suite_hash())}`; {len(suite.cells())} cells x "
        f"{len(suite.seeds)} seeds; budget {suite.budget.steps} steps, evaluation every {suite.budget.eval_every}",
        f"- statistics: mean ± half-width of the 95% Student-t interval over the seeds of complete trials; "
        f"diverged and failed trials are excluded from the means and counted in their columns",
        f"- V(D,G) at the equilibrium D = 1/2 is -log 4 = {-LOG4:.4f}; equilibrium_gap is mean |D - 1/2| "
        f"(only for losses whose optimal D is p_data/(p_data+p_g)); ↑/↓ = higher/lower is better, best in bold",
        f"- data: {'; '.join(protocols)}",
        f"- environment: ganbench {env.get('ganbench_version', '?')} (commit {env.get('git_commit', '?')[:12] or '?'}), "
        f"torch {env.get('torch', '?')}, ray {env.get('ray', '?')}, python {env.get('python', '?')}; "
        f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        table.to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)


def _datasets(suite: Suite) -> list[str]:
    return list(suite.grid.get("dataset", [suite.params.get("dataset")]))


def write_report(folder: Path) -> Path:
    """(Re)build leaderboard.csv and leaderboard.md from the folder's suite.yaml and trials.parquet."""
    folder = Path(folder)
    suite = load_suite(folder / "suite.yaml")
    trials = ResultsStore(folder).trials_frame()
    if trials.empty:
        raise FileNotFoundError(f"{folder}: no trials recorded yet (trials.parquet is missing or empty)")
    board, metrics = leaderboard(trials, suite)
    atomic_write(folder / "leaderboard.csv", lambda tmp: board.to_csv(tmp, index=False))
    atomic_write_text(folder / "leaderboard.md", to_markdown(board, metrics, suite, read_run_info(folder)))
    return folder / "leaderboard.md"
