"""Judging a table: every row value and claim of a paper's table against per-trial values (rules in ``verdicts``).

``judge`` takes one row per trial with metric columns, so the same rules run on the final metrics
(trials.parquet) and on the values at any evaluation step (curves.parquet, ``over_training``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ganbench.config import same_value
from ganbench.references import Claim, Table
from ganbench.report.stats import mean_ci95
from ganbench.report.verdicts import (FAILS, HOLDS, INCONCLUSIVE, LOW_QUALITY, Verdict, adjust_claims, compare_claim,
                                      threshold_claim, value_verdict)
from ganbench.suite import Suite

__all__ = ["COLUMNS", "NOT_RUN", "cell_of", "judge", "show_value"]

COLUMNS = ["kind", "item", "cell", "metric", "paper", "paper_value", "paper_spread", "paper_spread_kind", "paper_n",
           "ours_mean", "ours_ci95", "ours_n", "diff", "test", "p_value", "verdict", "note",
           "margin", "diff_low", "diff_high", "min_detectable", "p_adjusted"]
NOT_RUN = "not run"


def _matches(cell: dict[str, Any], pattern: dict[str, Any]) -> bool:
    return all(key in cell and same_value(cell[key], value) for key, value in pattern.items())


def cell_of(suite: Suite, pattern: dict[str, Any]) -> tuple[str | None, str]:
    """The label of the one cell matching ``pattern``, or (None, why not)."""
    found = [suite.cell_label(c) for c in suite.cells() if _matches(c, pattern)]
    shown = " ".join(f"{k}={show_value(v)}" for k, v in pattern.items())
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, f"no cell of suite {suite.name} has {shown}"
    return None, f"{len(found)} cells of suite {suite.name} have {shown}: the reference must pick one"


def _values(trials: pd.DataFrame, label: str | None, metric: str) -> np.ndarray:
    if label is None or metric not in trials:
        return np.array([])
    group = trials[trials["cell"] == label]
    return pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=np.float64)


def _ours(x: np.ndarray) -> dict:
    mean, half, n = mean_ci95(x)
    return {"ours_mean": mean, "ours_ci95": half, "ours_n": n}


def _verdict_columns(verdict: Verdict | None) -> dict:
    if verdict is None:
        return {"test": "-", "p_value": math.nan, "p_adjusted": math.nan, "margin": math.nan, "diff_low": math.nan,
                "diff_high": math.nan, "min_detectable": math.nan}
    return {"test": verdict.test, "p_value": verdict.p, "p_adjusted": verdict.p_adjusted, "margin": verdict.margin,
            "diff_low": verdict.diff_low, "diff_high": verdict.diff_high, "min_detectable": verdict.min_detectable}


def _value_rows(table: Table, suite: Suite, trials: pd.DataFrame, alpha: float) -> list[dict]:
    rows = []
    for row in table.rows:
        label, why = cell_of(suite, row.cell)
        for metric, reported in (row.values or {None: None}).items():
            base = {"kind": "value", "item": row.label, "cell": label or "", "metric": metric or "",
                    "paper": reported.text() if reported else "-",
                    "paper_value": reported.value if reported else math.nan,
                    "paper_spread": reported.spread if reported and reported.spread is not None else math.nan,
                    "paper_spread_kind": reported.spread_kind if reported else "",
                    "paper_n": reported.n if reported and reported.n else math.nan}
            if reported is None or label is None:
                rows.append({**base, **_ours(np.array([])), "diff": math.nan, **_verdict_columns(None),
                             "verdict": NOT_RUN if label is None else "-", "note": "; ".join(filter(None, [why, row.note]))})
                continue
            x = _values(trials, label, metric)
            margin = table.margins.get(metric)
            verdict = value_verdict(reported, x, margin.value if margin else None, alpha)
            ours = _ours(x)
            rows.append({**base, **ours, "diff": ours["ours_mean"] - reported.value, **_verdict_columns(verdict),
                         "verdict": verdict.verdict, "note": "; ".join(filter(None, [verdict.note, row.note]))})
    return rows


def _low_quality(table: Table, claim: Claim, suite: Suite, trials: pd.DataFrame) -> str:
    """Why a coverage claim is not judged (its cells below the table's quality floor), or ''."""
    floor = table.quality_floor
    if floor is None or claim.metric not in floor.applies_to:
        return ""
    patterns = [claim.a, claim.b] if claim.kind == "comparison" else [claim.cell]
    low = []
    for pattern in patterns:
        label, _ = cell_of(suite, pattern)
        quality = mean_ci95(_values(trials, label, floor.metric))[0]
        if label is not None and not quality >= floor.floor:
            low.append(f"{label}: {floor.metric} {quality:.3g}")
    return f"below the quality floor {floor.floor:g} ({'; '.join(low)})" if low else ""


def _claim_rows(table: Table, suite: Suite, trials: pd.DataFrame, alpha: float) -> list[dict]:
    rows, verdicts = [], []
    for claim in table.claims:
        if claim.kind == "comparison":
            (la, wa), (lb, wb) = cell_of(suite, claim.a), cell_of(suite, claim.b)
            cells = f"A: {la or '?'} | B: {lb or '?'}"
            if la is None or lb is None:
                verdict, why = None, "; ".join(filter(None, [wa, wb]))
            else:
                xa, xb = _values(trials, la, claim.metric), _values(trials, lb, claim.metric)
                verdict, why = compare_claim(xa, xb, claim.direction, alpha), ""
                ma, mb = mean_ci95(xa)[0], mean_ci95(xb)[0]
                cells += f" (means {ma:.4g} vs {mb:.4g})"
        else:
            label, why = cell_of(suite, claim.cell)
            cells = label or "?"
            if label is None:
                verdict = None
            else:
                x = _values(trials, label, claim.metric)
                verdict = threshold_claim(x, claim.below, claim.above, alpha, claim.deterministic)
                bound = f"< {claim.below:g}" if claim.below is not None else f"> {claim.above:g}"
                cells += f" (mean {mean_ci95(x)[0]:.4g}, claim {bound})"
        rows.append({"kind": "claim", "item": claim.statement, "cell": cells, "metric": claim.metric,
                     "paper": claim.id, "note": why})
        verdicts.append(verdict)
    for claim, row, verdict in zip(table.claims, rows, adjust_claims(verdicts, alpha)):
        word = verdict.verdict if verdict else NOT_RUN
        low = _low_quality(table, claim, suite, trials) if verdict else ""
        if low and word in (HOLDS, FAILS, INCONCLUSIVE):
            word = LOW_QUALITY
        row.update(_verdict_columns(verdict), verdict=word,
                   note="; ".join(filter(None, [row["note"], low, verdict.note if verdict else ""])))
    return rows


def judge(table: Table, suite: Suite, trials: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Every row value and claim of ``table`` judged on ``trials`` (one row per trial, metric columns)."""
    return pd.DataFrame(_value_rows(table, suite, trials, alpha) + _claim_rows(table, suite, trials, alpha),
                        columns=COLUMNS)


def show_value(value: Any) -> str:
    """A suite value as a reader writes it: 0.0001 as 1e-04, lists in brackets."""
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)
