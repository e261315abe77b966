"""Which cells of a leaderboard are tied with the best: not significantly worse after Holm's correction.

Per metric with a direction and per dataset, the best cell is the one with the best mean. Every other cell is
tested against it: the paired t-test when both ran the same seeds (at least 2), else Welch's.
The p-values of all these tests in one leaderboard (metrics x cells) are Holm-Bonferroni adjusted
together, and a cell is tied when its adjusted p is at least alpha, so that across the whole table
the chance of calling any truly equal cell worse stays below alpha. The tests are two-sided: the
best is picked by its mean from the same data, and a one-sided test would call the others worse
too readily.

A cell with fewer than 2 values cannot be tested (nor can any cell against a best with fewer than 2):
it is tied only when its mean equals the best mean, as in a single-seed table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ganbench.metrics import Metric
from ganbench.report.stats import holm, pair_by_seed, paired_tests, welch

__all__ = ["ALPHA", "Ties", "ties_with_best", "versus_best"]

ALPHA = 0.05


@dataclass(frozen=True)
class Ties:
    """One metric's verdict per cell, in the order the samples came."""

    tied: list[bool]
    """the best cell(s), and every cell not significantly worse"""
    p_vs_best: list[float]
    """Holm-adjusted p of the test against the best; NaN for the best itself and for untested cells"""


def versus_best(samples: list[pd.Series], higher_is_better: bool) -> tuple[list[bool], list[float]]:
    """(is a best cell, raw two-sided p against the best) per cell; ``samples`` are finite values indexed by seed.

    Cells whose mean equals the best mean are all best; the one with the most values is the reference the
    others are tested against. NaN p: the cell is a best one, or a side has fewer than 2 values.
    """
    means = np.array([s.mean() if len(s) else math.nan for s in samples], dtype=np.float64)
    if not np.isfinite(means).any():
        return [False] * len(samples), [math.nan] * len(samples)
    top = np.nanmax(means) if higher_is_better else np.nanmin(means)
    best = [bool(m == top) for m in means]
    reference = samples[max((i for i, b in enumerate(best) if b), key=lambda i: len(samples[i]))]
    pvalues = []
    for sample, is_best in zip(samples, best):
        if is_best or len(sample) < 2 or len(reference) < 2:
            pvalues.append(math.nan)
            continue
        pairs = pair_by_seed(reference, sample, same_seeds=True)
        pvalues.append(paired_tests(*pairs).t if pairs is not None else welch(reference, sample))
    return best, pvalues


def ties_with_best(samples: dict[str, list[pd.Series]], metrics: list[Metric], alpha: float = ALPHA,
                   groups: list | None = None) -> dict[str, Ties]:
    """Ties for every metric in ``metrics``, with one Holm correction over all their tests.

    ``samples[name]``: one Series of finite values indexed by seed per cell, in the table's order.
    ``groups``: a key per cell (its dataset); each group has its own best, because a metric read on
    different data (8 ring modes vs 25 grid modes) does not rank across them. A metric without a
    direction has no best: nothing tied, no p.
    """
    n = len(next(iter(samples.values()), []))
    groups = groups if groups is not None else [None] * n
    members = [[i for i in range(n) if groups[i] == g] for g in dict.fromkeys(groups)]
    verdicts = {}
    for m in metrics:
        best, pvalues = [False] * n, [math.nan] * n
        if m.higher_is_better is not None:
            for idx in members:
                b, p = versus_best([samples[m.name][i] for i in idx], m.higher_is_better)
                for i, bi, pi in zip(idx, b, p):
                    best[i], pvalues[i] = bi, pi
        verdicts[m.name] = (best, pvalues)
    raw = [p for _, pvalues in verdicts.values() for p in pvalues]
    adjusted = iter(holm(raw).tolist())
    out = {}
    for name, (best, pvalues) in verdicts.items():
        p_adj = [next(adjusted) for _ in pvalues]
        out[name] = Ties(tied=[b or p >= alpha for b, p in zip(best, p_adj)], p_vs_best=p_adj)
    return out
