"""The collapse pruner against median and none on suites/search-ring.yaml (issue 16).

Each pruner runs the same searched suite under 3 search seeds (the sampler's and the search
trials' training seed), each into its own results folder through the real CLI. Per run:

- compute: CPU-seconds the search spent (sum of wall_s x num_cpus over its search trials);
- best found: each cell's best objective over its search trials (reverse KL, lower is better),
  and the mean of its confirmation runs (the leaderboard value: best parameters on the suite's seeds).

The summary gives, per pruner, the mean over the 3 search seeds with its 95% t-interval, and the
compute saved against `none` (paired by search seed). Rerunning resumes finished folders.

    python benchmarks/pruner_study.py [--out results/pruner-study] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganbench.report.compare import compare_runs, write_comparison  # noqa: E402
from ganbench.report.stats import mean_ci95  # noqa: E402
from ganbench.results import atomic_write, atomic_write_text, read_table  # noqa: E402
from ganbench.suite import read_suite  # noqa: E402

SUITE = ROOT / "suites" / "search-ring.yaml"
PRUNERS = ("none", "median", "collapse")


def run(pruner: str, seed: int, runs: Path, execute: bool = True) -> Path:
    folder = runs / f"{pruner}-seed{seed}"
    if not execute:
        return folder
    cmd = [sys.executable, str(ROOT / "bench.py"), "run", str(SUITE), "--out", str(folder),
           "--set", f"search.pruner={pruner}", "--set", f"search.seed={seed}"]
    print("+", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return folder


def measure(folder: Path, pruner: str, seed: int) -> list[dict]:
    """One row per cell: compute spent by its search, trials pruned, best objective found, confirmed mean."""
    suite = read_suite(folder / "suite.yaml")
    trials = read_table(folder / "trials.parquet")
    board = pd.read_csv(folder / "leaderboard.csv")
    metric = suite.search.objective.metric
    cpus = suite.resources.num_cpus
    rows = []
    for label, group in trials.groupby("cell", sort=False):
        search = group[group["phase"] == "search"]
        line = board[board.apply(lambda r: suite.cell_label({a: r[a] for a in suite.axes()}) == label, axis=1)]
        why = search.get("pruned_by", pd.Series(dtype=str)).fillna("").value_counts().to_dict()
        rows.append({
            "pruner": pruner, "search_seed": seed, "cell": label,
            "cpu_s": float((search["wall_s"] * cpus).sum()),
            "steps": int(search["steps_done"].sum()),
            "pruned": int((search["status"] == "pruned").sum()),
            "pruned_saturated": int(why.get("saturated", 0)), "pruned_collapsed": int(why.get("collapsed", 0)),
            "best_found": float(line["objective_best"].iloc[0]),
            "confirmed": float(line[f"{metric}_mean"].iloc[0]),
        })
    return rows


def summarize(cells: pd.DataFrame) -> pd.DataFrame:
    """Per pruner: totals per search seed, then mean ± 95% t-interval over the seeds; saving paired with none."""
    per_seed = cells.groupby(["pruner", "search_seed"], sort=False).agg(
        cpu_s=("cpu_s", "sum"), steps=("steps", "sum"), pruned=("pruned", "sum"),
        best_found=("best_found", "mean"), confirmed=("confirmed", "mean")).reset_index()
    none = per_seed[per_seed["pruner"] == "none"].set_index("search_seed")["cpu_s"]
    none_steps = per_seed[per_seed["pruner"] == "none"].set_index("search_seed")["steps"]
    per_seed["saved"] = 1 - per_seed["cpu_s"] / per_seed["search_seed"].map(none)
    per_seed["steps_saved"] = 1 - per_seed["steps"] / per_seed["search_seed"].map(none_steps)
    out = []
    for pruner, group in per_seed.groupby("pruner", sort=False):
        row = {"pruner": pruner, "n_search_seeds": len(group)}
        for col in ("cpu_s", "saved", "steps_saved", "pruned", "best_found", "confirmed"):
            mean, hw, _ = mean_ci95(group[col])
            row[f"{col}_mean"], row[f"{col}_ci95"] = mean, hw
        out.append(row)
    return pd.DataFrame(out)


def to_markdown(summary: pd.DataFrame, cells: pd.DataFrame) -> str:
    def fmt(mean, hw, pct=False):
        if pct:
            return f"{mean:.0%} ± {hw:.0%}"
        return f"{mean:.4g} ± {hw:.2g}"

    lines = [
        "# Collapse pruner vs median vs none (suites/search-ring.yaml)",
        "",
        "Rebuild: `python benchmarks/pruner_study.py` (each run: `bench.py run suites/search-ring.yaml "
        "--set search.pruner=P --set search.seed=S`). 4 cells x 12 search trials x 1,000 steps, then the best "
        "parameters of each cell on 3 seeds; objective reverse_kl (lower is better). Mean ± 95% t-interval over "
        f"{int(summary['n_search_seeds'].max())} search seeds; saving is paired with `none` on the same search seed. "
        "best found = mean over cells of each cell's best search objective; confirmed = mean over cells of the "
        "leaderboard value (best parameters re-run on the suite's seeds).",
        "",
        "| pruner | search CPU-s | CPU-s saved vs none | steps saved vs none | trials pruned (of 48) | best found "
        "| confirmed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(f"| {r.pruner} | {fmt(r.cpu_s_mean, r.cpu_s_ci95)} | {fmt(r.saved_mean, r.saved_ci95, True)} | "
                     f"{fmt(r.steps_saved_mean, r.steps_saved_ci95, True)} | "
                     f"{fmt(r.pruned_mean, r.pruned_ci95)} | {fmt(r.best_found_mean, r.best_found_ci95)} | "
                     f"{fmt(r.confirmed_mean, r.confirmed_ci95)} |")
    why = cells.groupby("pruner", sort=False)[["pruned", "pruned_saturated", "pruned_collapsed"]].sum()
    lines += ["", "Pruned trials by rule, over all search seeds (the rest were stopped by the median rule):", "",
              why.to_markdown(), "", "Per cell and search seed: [cells.csv](cells.csv). Each pruner's leaderboard against `none`'s, per search "
              "seed (`bench.py compare`: paired on the confirmation seeds, Holm-adjusted): "
              "`compare-none-vs-<pruner>-seed<S>.md`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # relative (run from the repository's root, as every benchmark): the comparisons name their folders as given
    parser.add_argument("--out", type=Path, default=Path("results/pruner-study"))
    parser.add_argument("--runs", type=Path, default=Path("results/pruner-study/runs"),
                        help="where the 9 results folders go (not published: ~3 MB each)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--summarize-only", action="store_true", help="read the runs already in --runs, run nothing")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for pruner in PRUNERS:
            rows += measure(run(pruner, seed, args.runs, not args.summarize_only), pruner, seed)
    cells = pd.DataFrame(rows)
    summary = summarize(cells)
    atomic_write(args.out / "cells.csv", lambda tmp: cells.to_csv(tmp, index=False))
    atomic_write(args.out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    atomic_write_text(args.out / "README.md", to_markdown(summary, cells))
    # does pruning change what the leaderboard says? paired by the confirmation seeds, Holm over cells x metrics
    for seed in args.seeds:
        for pruner in ("median", "collapse"):
            frame = compare_runs(args.runs / f"none-seed{seed}", args.runs / f"{pruner}-seed{seed}",
                                 ["reverse_kl", "modes_covered", "high_quality_frac"])
            write_comparison(frame, args.out, f"compare-none-vs-{pruner}-seed{seed}")
    print((args.out / "README.md").read_text())


if __name__ == "__main__":
    main()
