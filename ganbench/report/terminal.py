"""The compact leaderboard that `bench.py run` and `bench.py report` print: it fits a 120-column terminal.

Only the headline columns (``headline.headline_columns``): the axes that vary, seeds, 1-4 metrics. Headers are
abbreviated and long axis values shortened; if it is still too wide, the last metrics are dropped. Everything
else is in leaderboard.md/.csv/.html.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ganbench.metrics import Metric
from ganbench.report.data import dataset_records
from ganbench.report.headline import SEED_COLUMN, constant_axes, headline_columns
from ganbench.report.ideal import IDEAL_COLUMNS
from ganbench.report.leaderboard import display_table, leaderboard
from ganbench.results import ResultsStore
from ganbench.suite import Suite, read_suite

WIDTH = 120
#: beside a cell tied with the best, so the mark survives a terminal (or a log file) without colour
MARK = "*"
BEST_STYLE = "bold green"
#: header abbreviations; the full names are in the other tables
SHORT_NAMES = {
    "d_steps_per_g_step": "D:G", "instance_noise": "inst_noise", "modes_covered": "modes",
    "high_quality_frac": "hq_frac", "reverse_kl": "rev_KL", "reverse_kl_hq": "rev_KL_hq",
    "dirac_distance": "dirac_dist", "dirac_spectral_radius": "dirac_rho", "dirac_log_slope": "dirac_slope",
    "steps_to_threshold": "steps_to_thr", "translation_error": "transl_err", "cycle_error": "cycle_err",
    "precision": "prec", "inception_score": "IS", "equilibrium_gap": "eq_gap",
    "modes_ideal": "ideal", "reverse_kl_ideal": "KL_ideal",
}
#: axis values longer than this are cut in the middle ("~" marks the cut), tighter if the table is still too wide
VALUE_WIDTHS = (18, 10)


def compact_table(table: pd.DataFrame, best: pd.DataFrame, metrics: list[Metric], suite: Suite,
                  datasets: dict[str, dict], width: int = WIDTH) -> Table:
    """``table``/``best``: ``leaderboard.display_table``'s output. The widest variant that fits ``width``."""
    columns = headline_columns(table, metrics, suite, datasets)
    first_metric = columns.index(SEED_COLUMN) + 1
    # no metric at all (every trial failed): the axes and seed counts are still the table
    attempt = _render(table, best, columns, first_metric, len(suite.seeds), VALUE_WIDTHS[-1])
    for value_width in VALUE_WIDTHS:
        for end in range(len(columns), first_metric, -1):  # drop the last metric, never the first
            attempt = _render(table, best, columns[:end], first_metric, len(suite.seeds), value_width)
            if _width(attempt) <= width:
                return attempt
    return attempt


def _render(table: pd.DataFrame, best: pd.DataFrame, columns: list[str], first_metric: int, n_planned: int,
            value_width: int) -> Table:
    out = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i, c in enumerate(columns):
        header = "seeds" if c == SEED_COLUMN else _abbreviate(str(c))
        out.add_column(header, justify="right" if i >= first_metric - 1 else "left", no_wrap=True)
    for i in table.index:
        cells = []
        for j, c in enumerate(columns):
            text = str(table.at[i, c])
            if c == SEED_COLUMN:
                cells.append(Text(f"{text}/{n_planned}"))
            elif j < first_metric:
                cells.append(Text(_shorten(text, value_width)))
            elif bool(best.at[i, c]):
                cells.append(Text(f"{text} {MARK}", style=BEST_STYLE))
            else:
                cells.append(Text(f"{text}  "))
        out.add_row(*cells)
    return out


def _abbreviate(column: str) -> str:
    """'high_quality_frac ↑' -> 'hq_frac ↑': the name shortened, the direction arrow kept."""
    name, _, rest = column.partition(" ")
    return " ".join(filter(None, [SHORT_NAMES.get(name, name), rest]))


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "~" + text[len(text) - (width - 1 - head):]


def _width(renderable: RenderableType) -> int:
    """Columns needed to print it unsqueezed."""
    return Console(width=10_000).measure(renderable).maximum


def legend(table: pd.DataFrame, suite: Suite) -> Text:
    """What the marks mean, what every cell shares, where the rest is."""
    same = ", ".join(f"{a}={v}" for a, v in constant_axes(table, suite).items())
    ideal = any(c in table for c in IDEAL_COLUMNS.values())
    return Text(f"mean ± 95% t-interval over seeds, or mean [low, high] where the metric's range (0..modes, "
                f"0..1 for fractions) cut it; {MARK} (bold green) = best or tied with the best"
                + ("; ideal, KL_ideal = a perfect generator's expected modes and reverse KL at the same sample count"
                   if ideal else "")
                + (f"; in every cell: {same}" if same else ""))


def folder_summary(folder: Path, width: int = WIDTH) -> RenderableType:
    """The compact table of a results folder, its legend, and where the full tables are."""
    folder = Path(folder)
    suite = read_suite(folder / "suite.yaml")
    datasets = dataset_records(folder, suite)
    board, metrics = leaderboard(ResultsStore(folder).trials_frame(), suite, datasets)
    table, best = display_table(board, metrics, suite, datasets)
    return Group(Text(f"{suite.name}: {len(suite.cells())} cells", style="bold"),
                 compact_table(table, best, metrics, suite, datasets, width), legend(table, suite),
                 Text(f"every metric and count: {folder / 'leaderboard.md'} (and .csv, .html)"))
