"""Reports from a results folder alone: it reads suite.yaml, run.json and the tables, never training/ or sweep/.

leaderboard.py  one row per cell, mean ± 95% interval over seeds: CSV, Markdown, HTML (``write_report``);
                board.py the frame, display.py the shown text, notes.py the header and Markdown
plots.py        every plot, in the background (``write_plots``): figures.py what they share, curve_plots.py
                curves/equilibrium/Dirac, final_plots.py k's effect/modes/throughput, sample_plots.py samples
budget.py       a search's budget curves (per trial and per CPU-second) and objective spread
compare.py      two folders, per-cell tests (paired where seeds match, Holm-adjusted); ties.py  ties with the best
contrasts.py    one folder, one axis: paired contrasts of its levels, main effects (compare --by, effects.png)
stats.py        t and BCa intervals, paired/unpaired tests, Holm, seeds for 80% power
headline.py     the columns read first; terminal.py  the compact table after run/report
data.py         what run.json recorded of the datasets; export.py  LaTeX, JSON lines
html.py         the self-contained HTML page; reproduce.py, verdicts.py  paper tables against a run
"""
from ganbench.report.leaderboard import write_report

__all__ = ["write_report"]
