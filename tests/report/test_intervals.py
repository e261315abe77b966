"""Intervals that respect their metric's range: the clipped t-interval, and every published leaderboard as printed."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganbench.metrics import metric
from ganbench.report.data import dataset_records
from ganbench.report.leaderboard import DISPLAY_METRICS
from ganbench.report.stats import bounded_ci95, mean_ci95
from ganbench.suite import read_suite

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = sorted(p.parent.name for p in (ROOT / "results").glob("*/leaderboard.csv"))


def test_the_t_interval_is_cut_to_the_range_and_left_alone_inside_it():
    modes = [8, 8, 2]  # the t-interval runs from about -2.3 to 14.3 "of 8 modes"
    mean, hw, _ = mean_ci95(modes)
    assert mean - hw < 0 and mean + hw > 8
    cut = bounded_ci95(modes, 0, 8)
    assert (cut.mean, cut.low, cut.high, cut.n, cut.clipped) == (6.0, 0.0, 8.0, 3, True)
    inside = bounded_ci95([0.4, 0.5, 0.6], 0, 1)
    assert not inside.clipped and inside.low == pytest.approx(0.5 - mean_ci95([0.4, 0.5, 0.6])[1])
    assert tuple(bounded_ci95([8, 8, 8], 0, 8))[:3] == (8.0, 8.0, 8.0)  # zero spread: the point
    one = bounded_ci95([3.0], 0, 8)
    assert one.mean == 3.0 and math.isnan(one.low) and math.isnan(one.high)  # one seed: no interval claimed
    assert math.isnan(bounded_ci95([]).mean)


def test_a_bound_the_data_cross_never_excludes_them():
    kl = [math.log(8) + 1e-7, math.log(8) + 1e-7, 0.1]  # float rounding of a collapsed run's log(n_modes)
    cut = bounded_ci95(kl, 0, math.log(8))
    assert cut.high >= max(kl) and cut.low == 0


def test_metrics_declare_their_ranges_and_those_that_depend_on_the_data_read_the_record():
    assert metric("modes_covered").bounds({"n_modes": 25}) == (0, 25)
    assert metric("modes_covered").bounds({}) == (0, math.inf)  # the record lacks the count: only >= 0 is known
    assert metric("reverse_kl").bounds({"n_modes": 8}) == (0, math.log(8))
    for name in ("high_quality_frac", "precision", "recall", "coverage", "feature_net_acc"):
        assert metric(name).bounds() == (0, 1), name
    assert metric("density").bounds() == (0, math.inf)
    assert metric("fid").bounds() == (0, math.inf)
    assert metric("kid").bounds() == (-math.inf, math.inf)  # unbiased: negative at small n
    assert metric("value").bounds() == (-math.inf, 0)


def _printed_ends(text: str) -> tuple[float, float] | None:
    """(low, high) of a printed 'mean ± hw' or 'mean [low, high]' (bold marks dropped); None for a bare mean."""
    text = text.strip().strip("*")
    if " [" in text:
        low, high = text.split(" [")[1].rstrip("]").split(", ")
        return float(low), float(high)
    if " ± " in text:
        mean, hw = (float(t) for t in text.split(" ± "))
        return mean - hw, mean + hw
    return None


def _markdown_table(path: Path) -> pd.DataFrame:
    """The first table of a Markdown file (the leaderboard; an effects table may follow it)."""
    text = path.read_text().splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("|"))
    end = next((i for i in range(start, len(text)) if not text[i].startswith("|")), len(text))
    lines = text[start:end]
    split = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return pd.DataFrame(split[2:], columns=split[0])


@pytest.mark.parametrize("name", PUBLISHED)
def test_no_published_interval_leaves_its_metrics_range(name):
    folder = ROOT / "results" / name
    suite = read_suite(folder / "suite.yaml")
    datasets = dataset_records(folder, suite)
    board = pd.read_csv(folder / "leaderboard.csv")
    shown = _markdown_table(folder / "leaderboard.md")
    assert len(shown) == len(board)
    names = board["dataset"] if "dataset" in board else [suite.params.get("dataset")] * len(board)
    checked = 0
    for column in shown.columns:
        base = column.split(" ")[0]
        if base not in DISPLAY_METRICS or f"{base}_mean" not in board:
            continue
        m = metric(base)
        for i, dataset in enumerate(names):
            lower, upper = m.bounds(datasets.get(dataset) or {})
            low, high = board.at[i, f"{base}_low"], board.at[i, f"{base}_high"]
            if np.isfinite(low):
                assert lower <= low <= board.at[i, f"{base}_mean"] <= high <= upper, (name, base, i)
            if (ends := _printed_ends(shown.at[i, column])) is not None:
                assert lower <= ends[0] <= ends[1] <= upper, (name, column, i, shown.at[i, column])
                checked += 1
    counts = board[[c for c in board.columns if c.endswith("_n") and c[:-2] in DISPLAY_METRICS]]
    assert checked or (counts < 2).all().all(), f"{name}: no interval read, though some cell has 2 or more seeds"
