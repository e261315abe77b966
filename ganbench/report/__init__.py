"""Reports from a results folder alone: it reads suite.yaml, run.json and the tables, never training/ or sweep/.

leaderboard.py  one row per cell, mean ± 95% interval over seeds: CSV, Markdown, HTML (``write_report``)
plots.py        curves, the equilibrium, k's effect, modes, samples, throughput
budget.py       a search's budget curves and objective spread; compare.py  two folders, per-cell tests
data.py         what run.json recorded of the datasets; stats.py  intervals; export.py  LaTeX, JSON lines
html.py         the self-contained HTML page
"""
from ganbench.report.leaderboard import write_report

__all__ = ["write_report"]
