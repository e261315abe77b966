"""The few columns a reader looks at first: the grid axes that vary, the seed count, and 1-4 headline metrics.

The terminal table after `bench.py run` / `report` shows only these; the HTML leaderboard shows them first and
hides the rest behind a toggle; leaderboard.md/.csv keep everything. Which metrics is decided here and only here.
"""
from __future__ import annotations

import pandas as pd

from ganbench.metrics import Metric
from ganbench.report.ideal import IDEAL_COLUMNS
from ganbench.suite import Suite

#: per dataset primary metric, the measures worth a first look beside it (those measured are kept, in this order):
#: mode mixtures: how many modes, how clean, how evenly covered (and FID when the modes are images, stacked digits);
#: images: FID, KID, and precision/recall for fidelity vs diversity; Dirac-GAN: distance to the equilibrium and the
#: steps taken to reach it; translation (CycleGAN): the translation error and the cycle error.
COMPANIONS: dict[str, tuple[str, ...]] = {
    "modes_covered": ("high_quality_frac", "reverse_kl", "reverse_kl_hq", "fid"),
    "fid": ("kid", "precision", "recall"),
    "dirac_distance": ("steps_to_threshold",),
    "translation_error": ("cycle_error",),
}
MAX_METRICS = 4
SEED_COLUMN = "n_seeds"


def headline_metrics(measured: list[str], suite: Suite, datasets: dict[str, dict]) -> list[str]:
    """At most MAX_METRICS names from ``measured`` (best first): a search's objective, each dataset's primary
    metric, then their COMPANIONS; an unknown primary falls back to the first two measured."""
    objective = [suite.search.objective.metric] if suite.search is not None else []
    primaries = [r["primary_metric"] for r in datasets.values() if r.get("primary_metric")]
    companions = [c for p in primaries for c in COMPANIONS.get(p, ())]
    chosen = [m for m in dict.fromkeys(objective + primaries + companions) if m in measured]
    return (chosen or measured[:2])[:MAX_METRICS]


def metric_column(table: pd.DataFrame, name: str) -> str | None:
    """The display column of a metric ("fid ↓" for fid): the column's first word is the metric's name."""
    return next((c for c in table.columns if str(c).split(" ")[0] == name), None)


def varying_axes(table: pd.DataFrame, suite: Suite) -> list[str]:
    """Axes with more than one value over the cells; a constant axis says nothing about the ranking."""
    return [a for a in suite.axes() if a in table and table[a].nunique(dropna=False) > 1]


def constant_axes(table: pd.DataFrame, suite: Suite) -> dict[str, str]:
    """axis -> its one value, for a note above the table."""
    return {a: str(table[a].iloc[0]) for a in suite.axes() if a in table and a not in varying_axes(table, suite)}


def headline_columns(table: pd.DataFrame, metrics: list[Metric], suite: Suite, datasets: dict[str, dict]) -> list[str]:
    """Columns of ``leaderboard.display_table`` to show first: varying axes, n_seeds, headline metrics, each
    followed by its sampling-limited ideal where the table has one (stacked digits: ``report.ideal``)."""
    measured = [m.name for m in metrics if metric_column(table, m.name) is not None]
    chosen = []
    for name in headline_metrics(measured, suite, datasets):
        chosen.append(metric_column(table, name))
        if IDEAL_COLUMNS.get(name) in table:
            chosen.append(IDEAL_COLUMNS[name])
    return varying_axes(table, suite) + [SEED_COLUMN] + [c for c in chosen if c is not None]


def primary_first(table: pd.DataFrame, suite: Suite, primary: list[str]) -> list[str]:
    """Every column of ``table`` for the HTML page: all axes in grid order (a constant one still names the cell,
    hidden there), the other primary columns, then the rest in table order."""
    axes = [a for a in suite.axes() if a in table]
    return axes + [c for c in primary if c not in axes] + [c for c in table.columns if c not in axes + primary]


def constants_line(table: pd.DataFrame, suite: Suite) -> list[str]:
    """A header item naming the constant axes (hidden in the HTML table), or nothing."""
    same = constant_axes(table, suite)
    return [f"in every cell: {', '.join(f'{a} `{v}`' for a, v in same.items())}"] if same else []
