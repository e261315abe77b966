"""The leaderboard as it is shown (Markdown, HTML, LaTeX, the terminal): the displayed columns as text, "mean ± hw"
or "mean [low, high]" where a metric's range cut an interval, the cells tied with the best, and the header line
that says which interval each column shows."""
from __future__ import annotations

import math

import pandas as pd

from ganbench.metrics import Metric
from ganbench.report.board import CLIPPED, PICTURE_COLUMNS, SEARCH_COLUMNS, T_INTERVAL, range_text
from ganbench.report.ideal import IDEAL_COLUMNS
from ganbench.suite import Suite

#: the Markdown/HTML tables keep to these (the CSV has every metric)
DISPLAY_METRICS = (
    "modes_covered", "high_quality_frac", "reverse_kl", "reverse_kl_hq", "dirac_distance",
    "dirac_spectral_radius", "dirac_log_slope",
    "fid", "kid", "precision", "recall", "density", "coverage", "inception_score", "parzen_ll", "parzen_ll_se",
    "nn_memorization", "cycle_error", "translation_error", "feature_net_acc",
    "equilibrium_gap", "value",
    "d_real_mean", "d_fake_mean", "steps_to_threshold", "samples_per_s", "steps_per_s", "peak_mem_mb", "wall_s",
)


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
