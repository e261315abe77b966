"""Leaderboards from a results folder alone: one row per cell, mean and 95% interval over seeds."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from ganbench.metrics import LOG4, Metric
from ganbench.registry import METRICS
from ganbench.report.budget import write_budget_views
from ganbench.report.contrasts import write_effects
from ganbench.report.data import dataset_records
from ganbench.report.export import to_jsonl, to_latex
from ganbench.report.headline import constants_line, headline_columns, headline_metrics, primary_first
from ganbench.report.html import to_html
from ganbench.report.ideal import IDEAL_COLUMNS, cell_ideal, ideal_header
from ganbench.report.stats import bootstrap_ci, bounded_ci95, mean_ci95
from ganbench.report.ties import ALPHA, ties_with_best
from ganbench.results import ResultsStore, Status, atomic_write, atomic_write_text, picture_path, read_run_info
from ganbench.suite import Suite, read_suite

KIND_ORDER = ("modes", "images", "convergence", "throughput")
#: the Markdown/HTML tables keep to these (the CSV has every metric)
DISPLAY_METRICS = (
    "modes_covered", "high_quality_frac", "reverse_kl", "reverse_kl_hq", "dirac_distance",
    "dirac_spectral_radius", "dirac_log_slope",
    "fid", "kid", "precision", "recall", "density", "coverage", "inception_score", "parzen_ll", "parzen_ll_se",
    "nn_memorization", "cycle_error", "translation_error", "feature_net_acc",
    "equilibrium_gap", "value",
    "d_real_mean", "d_fake_mean", "steps_to_threshold", "samples_per_s", "steps_per_s", "peak_mem_mb", "wall_s",
)
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


def _fmt(mean: float, hw: float) -> str:
    if not math.isfinite(mean):
        return "-"
    text = f"{mean:.4g}"
    return f"{text} ± {hw:.2g}" if math.isfinite(hw) else text


def _fmt_range(mean: float, low: float, high: float, lower: float, upper: float) -> str:
    """'mean [low, high]', each end printed with as few digits as keep it inside [lower, upper]
    (log 8 = 2.0794 as 2.08 would leave the range)."""
    if not math.isfinite(mean):
        return "-"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{_inside(low, lower, upper)}, {_inside(high, lower, upper)}]"


def _inside(x: float, lower: float, upper: float) -> str:
    for digits in range(3, 10):
        text = f"{x:.{digits}g}"
        if lower <= float(text) <= upper:
            return text
    return repr(x)


def _printed_inside(text: str, lower: float, upper: float) -> bool:
    """Does a printed 'mean ± hw' (or a bare mean) stay inside [lower, upper] as printed?"""
    mean, _, hw = text.partition(" ± ")
    if mean == "-":
        return True
    m, h = float(mean), float(hw or 0)
    return lower <= m - h and m + h <= upper


def range_text(lower: float, upper: float) -> str:
    """'[0, 8]', '[0, inf)', '(-inf, 0]'."""
    left = "(-inf" if lower == -math.inf else f"[{lower:.6g}"
    right = "inf)" if upper == math.inf else f"{upper:.6g}]"
    return f"{left}, {right}"


def cell_bounds(board: pd.DataFrame, m: Metric, suite: Suite, datasets: dict[str, dict] | None) -> list[tuple]:
    """(lower, upper) of a metric in each row of the board, from the row's dataset."""
    names = board["dataset"] if "dataset" in board else [suite.params.get("dataset")] * len(board)
    return [m.bounds((datasets or {}).get(name) or {}) for name in names]


def shown_as_range(board: pd.DataFrame, m: Metric, suite: Suite, datasets: dict[str, dict] | None) -> bool:
    """A column shows 'mean [low, high]' where a bound cut some row's interval, or where 'mean ± hw' as printed
    would leave the range; else every row's 'mean ± hw'."""
    kinds = board.get(f"{m.name}_interval", pd.Series(T_INTERVAL, index=board.index)).astype(str)
    if kinds.str.startswith(CLIPPED).any():
        return True
    printed = [_fmt(a, b) for a, b in zip(board[f"{m.name}_mean"], board[f"{m.name}_ci95"])]
    return not all(_printed_inside(t, lo, hi) for t, (lo, hi) in zip(printed, cell_bounds(board, m, suite, datasets)))


def interval_kinds(board: pd.DataFrame, metrics: list[Metric], suite: Suite,
                   datasets: dict[str, dict] | None) -> str:
    """The header line that says which interval each metric column shows."""
    cut = []
    for m in metrics:
        if m.name in DISPLAY_METRICS and m.bounded() and shown_as_range(board, m, suite, datasets):
            ranges = sorted({range_text(*b) for b in cell_bounds(board, m, suite, datasets)})
            cut.append(f"{m.name} {' or '.join(ranges)}")
    return ("intervals: 95% Student-t over seeds; a bounded metric's is cut to its range (no coverage lost: the "
            "true mean lies in it)" + (f" and shown as mean [low, high] in {', '.join(cut)}; " if cut else "; ")
            + f"mean ± half-width (inside its range) in every {'other ' if cut else ''}column")


def display_table(board: pd.DataFrame, metrics: list[Metric], suite: Suite,
                  datasets: dict[str, dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shown columns as text ("mean ± hw", or "mean [low, high]" where the metric's range cut an interval:
    ``shown_as_range``; ``datasets`` gives the ranges that depend on the data, such as the number of modes),
    and a same-shaped frame of booleans marking in each metric column the cells tied with its best (the best
    and every cell not significantly worse: ``<metric>_tied``)."""
    shown = [m for m in metrics if m.name in DISPLAY_METRICS]
    counts = suite.axes() + ["n_seeds", "n_diverged", "n_pruned", "n_failed"]
    table = board[counts].astype(str)
    best = pd.DataFrame(False, index=board.index, columns=counts)
    for m in shown:
        means, hws = board[f"{m.name}_mean"], board[f"{m.name}_ci95"]
        column = m.name + {True: " ↑", False: " ↓", None: ""}[m.higher_is_better]
        if m.bounded() and f"{m.name}_low" in board and shown_as_range(board, m, suite, datasets):
            table[column] = [_fmt_range(a, lo, hi, *bounds) for a, lo, hi, bounds in
                             zip(means, board[f"{m.name}_low"], board[f"{m.name}_high"],
                                 cell_bounds(board, m, suite, datasets))]
        else:
            table[column] = [_fmt(a, b) for a, b in zip(means, hws)]
        best[column] = board[f"{m.name}_tied"].astype(bool)
        if (ideal := IDEAL_COLUMNS.get(m.name)) in board:  # the perfect generator's value at the same n, beside it
            table[ideal] = [_fmt(v, math.nan) for v in board[ideal]]
            best[ideal] = False
    if suite.search is not None:
        for col in SEARCH_COLUMNS:
            table[col] = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in board[col]]
            best[col] = False
    for column in PICTURE_COLUMNS:
        if column in board:
            table[column], best[column] = board[column].fillna("").astype(str), False
    return table, best


def image_protocol(trials: pd.DataFrame | None) -> list[str]:
    """How FID & co. were measured (DESIGN: record n_real, n_fake, the feature network and versions)."""
    if trials is None or "image_eval.feature_net" not in trials:
        return []
    rows = trials.dropna(subset=["image_eval.feature_net"])
    if rows.empty:
        return []
    lines = []
    for net, group in rows.groupby("image_eval.feature_net"):
        r = group.iloc[0]
        lines.append(
            f"image metrics: features and logits of the classifier `{net}` (test accuracy "
            f"{float(r['image_eval.feature_net_acc']):.1%}); FID/KID/precision/recall/density/coverage against "
            f"{int(r['image_eval.n_real'])} real training images ({int(r['image_eval.n_real_pairwise'])} for the "
            f"k-NN metrics, k = {int(r['image_eval.nearest_k'])}) and {int(r['image_eval.n_fake'])} generated; KID "
            f"over {int(r['image_eval.kid_subsets'])} subsets; Parzen window sigma picked on "
            f"{int(r['image_eval.n_parzen_val'])} held-out images, log-likelihood of {int(r['image_eval.n_parzen_test'])} "
            f"others (parzen_ll_se: its standard error); torchmetrics {r['image_eval.torchmetrics']}, "
            f"prdc {r['image_eval.prdc']}; scores from this feature network compare only with each other"
        )
    return lines


def header_items(suite: Suite, run_info: dict | None, datasets: dict[str, dict],
                 trials: pd.DataFrame | None = None, intervals: str = "") -> list[str]:
    """What a reader needs to cite the table: protocol, statistics, environment (Markdown inline syntax).
    ``intervals``: ``interval_kinds``' line, which interval each metric column shows."""
    info = run_info or {}
    env = info.get("environment", {})
    protocols = sorted({record["protocol"] for record in datasets.values()})
    cuda = f", CUDA {env['cuda']}" if env.get("cuda") else ""
    return [
        f"suite hash `{info.get('suite_hash', suite.suite_hash())}`; {len(suite.cells())} cells x "
        f"{len(suite.seeds)} seeds; budget {suite.budget.steps} steps, evaluation every {suite.budget.eval_every}",
        "statistics: mean and 95% Student-t interval over the seeds of complete trials (mean ± half-width, or "
        "mean [low, high] where the metric's range cut it); "
        "diverged, pruned and failed trials are excluded from the means and counted in their columns; "
        "leaderboard.csv has the shown interval (_low/_high, its kind in _interval), the t half-width (_ci95), "
        "the BCa bootstrap interval (_boot_low/_boot_high) and each cell's Holm-adjusted "
        "p against the best (_p_vs_best: paired t when both ran the same seeds, else Welch; Holm over the "
        "headline metrics x cells, and separately over the other metrics x cells)",
        f"V(D,G) at the equilibrium D = 1/2 is -log 4 = {-LOG4:.4f}; equilibrium_gap is mean |D - 1/2| "
        "(only for losses whose optimal D is p_data/(p_data+p_g)); ↑/↓ = higher/lower is better; bold: the best "
        f"(per dataset) and every cell not significantly worse (Holm-adjusted paired/Welch tests, alpha {ALPHA:g})",
        *([intervals] if intervals else []),
        f"data: {'; '.join(protocols)}",
        *image_protocol(trials),
        *ideal_header(datasets),
        *([_search_line(suite)] if suite.search is not None else []),
        f"environment: ganbench {env.get('ganbench_version', '?')} (commit `{(env.get('git_commit') or '?')[:12]}`), "
        f"torch {env.get('torch', '?')}{cuda}, ray {env.get('ray', '?')}, optuna {env.get('optuna', '?')}, "
        f"python {env.get('python', '?')}; {env.get('device_name', '?')}, {env.get('cpu_count', '?')} CPUs; "
        f"run started {info.get('started_at', '?')[:16].replace('T', ' ')} UTC",
    ]


def to_markdown(board: pd.DataFrame, metrics: list[Metric], suite: Suite, run_info: dict | None,
                datasets: dict[str, dict], trials: pd.DataFrame | None = None) -> str:
    table, best = display_table(board, metrics, suite, datasets)
    table = table.mask(best, "**" + table + "**")
    for column, link in (("samples", "grid"), ("strip", "strip")):
        if column in table:
            table[column] = [f"[{link}]({path})" if path else "" for path in table[column]]
    lines = [
        f"# Leaderboard: {suite.name}",
        "",
        *([suite.description, ""] if suite.description else []),
        *[f"- {item}" for item in header_items(suite, run_info, datasets, trials,
                                               interval_kinds(board, metrics, suite, datasets))],
        "",
        table.to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)


def _as_searched(suite: Suite, key: str, value):
    """A stored value back in its search-space type (parquet turns an int column with gaps into floats)."""
    kind = suite.search.space[key].type if suite.search else "float"
    if kind == "int":
        return int(value)
    return value.item() if hasattr(value, "item") else value


def _search_line(suite: Suite) -> str:
    s = suite.search
    assert s is not None
    return (f"search: an Optuna study per cell, {s.n_trials} trials each ({s.sampler} sampler, {s.pruner} pruner, "
            f"training seed {s.seed}), objective {s.objective.metric} ({s.objective.resolved_direction()}); "
            f"objective_best/median/worst are over each cell's complete search trials; the metric columns are "
            f"the best parameters re-run on seeds {suite.seeds}")


def write_report(folder: Path, formats: tuple[str, ...] = (), on_tables: Callable[[Path], None] | None = None,
                 timings: dict[str, float] | None = None) -> Path:
    """(Re)build every table and plot from the folder's suite.yaml, trials and curves alone.

    Always: leaderboard.csv, .md, .html, the plots and, for a search, the budget views;
    ``formats`` adds "latex" (leaderboard.tex) and "jsonl" (leaderboard.jsonl). The plots render in
    other processes while the tables are written (``plots.BackgroundPlots``); ``on_tables(leaderboard.md)``
    runs once the tables are (the page, leaderboard.html, waits for the plots it shows). Everything is
    written when this returns. ``timings`` receives report_s (the tables' own time) and plots_s.
    """
    from ganbench.report.plots import BackgroundPlots  # matplotlib only when reporting

    t0 = time.perf_counter()
    folder = Path(folder)
    suite = read_suite(folder / "suite.yaml")
    trials = ResultsStore(folder).trials_frame()
    if trials.empty:
        raise FileNotFoundError(f"{folder}: no trials recorded yet (trials.parquet is missing or empty)")
    run_info = read_run_info(folder)
    datasets = dataset_records(folder, suite)
    with BackgroundPlots(folder) as plots:
        board, metrics = leaderboard(trials, suite, datasets, folder)
        table, best = display_table(board, metrics, suite, datasets)
        atomic_write(folder / "leaderboard.csv", lambda tmp: board.to_csv(tmp, index=False))
        effects = write_effects(folder, trials, suite, datasets)  # effects.csv/.md: each axis's main effect
        atomic_write_text(folder / "leaderboard.md", to_markdown(board, metrics, suite, run_info, datasets, trials)
                          + (f"\n{effects}" if effects else ""))
        if "latex" in formats:
            caption = f"{suite.name}: mean ± 95% interval over {len(suite.seeds)} seeds ({suite.budget.steps} steps)."
            no_pictures = [c for c in table.columns if c not in PICTURE_COLUMNS]
            atomic_write_text(folder / "leaderboard.tex",
                              to_latex(table[no_pictures], best[no_pictures], caption, f"tab:{suite.name}"))
        if "jsonl" in formats:
            atomic_write_text(folder / "leaderboard.jsonl", to_jsonl(board))
        budget = write_budget_views(folder, trials, suite)
        tables_s = time.perf_counter() - t0
        if on_tables is not None:
            on_tables(folder / "leaderboard.md")
        images = budget + plots.paths()
    t1 = time.perf_counter()
    pngs = [p for p in images if p.suffix == ".png"]
    header = header_items(suite, run_info, datasets, trials, interval_kinds(board, metrics, suite, datasets)) \
        + constants_line(table, suite)
    primary = headline_columns(table, metrics, suite, datasets)  # what the terminal table shows; the rest hidden
    order = primary_first(table, suite, primary)
    page = to_html(f"Leaderboard: {suite.name}", suite.description, header, table[order], best[order], pngs,
                   pictures_root=folder, primary=primary)
    atomic_write_text(folder / "leaderboard.html", page)
    if timings is not None:
        timings.update(report_s=tables_s + time.perf_counter() - t1, plots_s=plots.elapsed_s)
    return folder / "leaderboard.md"
