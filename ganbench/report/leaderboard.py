"""Leaderboards from a results folder alone: one row per cell, mean and 95% interval over seeds.

``write_report`` writes them all (leaderboard.csv, .md, .html, optionally .tex and .jsonl) and the plots; the
work lives by job in report.board (the frame: a row per cell), report.display (its shown text) and report.notes
(the header notes and leaderboard.md), whose names stay importable from here.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ganbench.report.board import (CLIPPED, COUNT_COLUMNS, KIND_ORDER, LINKED_PICTURES, METRIC_STATS, NO_INTERVAL,
                                   PICTURE_COLUMNS, SEARCH_COLUMNS, T_INTERVAL, first_picture, leaderboard,
                                   metric_columns, range_text, search_summary, seed_values, tie_families)
from ganbench.report.budget import write_budget_views
from ganbench.report.contrasts import write_effects
from ganbench.report.data import dataset_records
from ganbench.report.display import DISPLAY_METRICS, cell_bounds, display_table, interval_kinds, shown_as_range
from ganbench.report.export import to_jsonl, to_latex
from ganbench.report.headline import constants_line, headline_columns, primary_first
from ganbench.report.html import to_html
from ganbench.report.notes import header_items, image_protocol, to_markdown
from ganbench.results import ResultsStore, atomic_write, atomic_write_text, read_run_info
from ganbench.suite import read_suite

__all__ = [
    "CLIPPED", "COUNT_COLUMNS", "DISPLAY_METRICS", "KIND_ORDER", "LINKED_PICTURES", "METRIC_STATS", "NO_INTERVAL",
    "PICTURE_COLUMNS", "SEARCH_COLUMNS", "T_INTERVAL", "cell_bounds", "display_table", "first_picture",
    "header_items", "image_protocol", "interval_kinds", "leaderboard", "metric_columns", "range_text",
    "search_summary", "seed_values", "shown_as_range", "tie_families", "to_markdown", "write_report",
]


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
