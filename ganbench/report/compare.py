"""Two results folders, cell by cell: does B differ from A on a metric, and which is better?

The samples are the per-seed values of each cell's complete, non-search trials: search
trials are different configurations tuned for the objective, and diverged, pruned or failed
trials have no final metric to average (report.py counts them; a comparison ignores them).

Two tests, because they answer different questions:

- Welch's t-test (unequal variances) compares the means over seeds, which is what the
  leaderboards report; seed variances differ between configurations, so no pooled variance.
  It decides ``significant`` (p < alpha). Zero variance on both sides has no t statistic:
  different constants count as p = 0, identical ones as p = 1.
- Mann-Whitney U (two-sided) compares the distributions without assuming normality; Lucic
  et al. 2018 ("Are GANs Created Equal?") used it. Being rank based it is coarse with few
  seeds: its smallest two-sided p is 2 / C(n_a + n_b, n_a), so with 3 seeds a side it is 0.1
  and the test can never reach 0.05. The ``note`` column says so wherever the sample sizes
  cannot reach alpha (fewer than 4 seeds a side at 0.05). Small samples with ties use the
  exact permutation distribution: scipy's default turns to the normal approximation on ties
  and would give 0.047 for three 1s against three 2s, below that bound.

No correction for multiple comparisons: over many cells x metrics about alpha of the
unchanged pairs are still flagged, so read the p-values, not only the ✓.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text
from scipy import stats

from ganbench.metrics import Metric
from ganbench.registry import METRICS
from ganbench.report.stats import pvalue
from ganbench.results import Status, atomic_write, atomic_write_text, read_table
from ganbench.suite import Suite, SuiteError, read_suite

__all__ = ["COLUMNS", "compare_runs", "load_run", "render", "write_comparison"]

COLUMNS = ["cell", "metric", "n_a", "n_b", "mean_a", "mean_b", "diff", "rel_diff",
           "p_welch", "p_mannwhitney", "significant", "better", "note"]
#: Mann-Whitney with ties is exact (all arrangements enumerated) up to this many; 924 = 6 vs 6 takes ~20 ms
EXACT_MAX = 1000


def compare_runs(dir_a: Path, dir_b: Path, metrics: list[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (cell, metric): A's and B's samples, diff = B - A, both tests, the better side.

    Cells come in A's grid order, then B's extra cells; a cell recorded in only one folder is
    kept with note "only in A"/"only in B" and no test. ``metrics`` defaults to every registered
    metric with a direction that has finite values in both folders; an unknown name raises
    UnknownNameError. The folders and suites are kept in ``df.attrs`` for the headers.
    """
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    suite_a, labels_a, trials_a = load_run(dir_a)
    suite_b, labels_b, trials_b = load_run(dir_b)
    if metrics is not None:
        chosen = [METRICS.get(name) for name in metrics]
    else:
        chosen = _default_metrics(trials_a, trials_b)
        if not chosen:
            raise SuiteError(f"{dir_a} vs {dir_b}: no metric with a direction has values in both folders")
    rows = []
    for cell in dict.fromkeys(labels_a + labels_b):
        in_a, in_b = cell in labels_a, cell in labels_b
        for metric in chosen:
            x, notes_a = _sample(trials_a, cell, metric.name, "A") if in_a else (np.array([]), [])
            y, notes_b = _sample(trials_b, cell, metric.name, "B") if in_b else (np.array([]), [])
            row = {"cell": cell, "metric": metric.name, **_test(x, y, metric, alpha, tested=in_a and in_b)}
            only = [] if in_a and in_b else ["only in A" if in_a else "only in B"]
            row["note"] = "; ".join(only + notes_a + notes_b + row.pop("notes"))
            rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(dir_a=str(dir_a), dir_b=str(dir_b), alpha=alpha,
                    suite_a=_describe(suite_a), suite_b=_describe(suite_b))
    return df


def load_run(folder: Path) -> tuple[Suite, list[str], pd.DataFrame]:
    """The folder's suite, its recorded cell labels (grid order first) and its complete non-search trials."""
    if not folder.is_dir():
        raise SuiteError(f"{folder}: no such results folder")
    for name in ("suite.yaml", "trials.parquet"):
        if not (folder / name).is_file():
            raise SuiteError(f"{folder}: not a results folder (no {name}); give a results/<suite>/ folder")
    suite = read_suite(folder / "suite.yaml")
    trials = read_table(folder / "trials.parquet")
    missing = [c for c in ("cell", "status") if c not in trials]
    if missing:
        raise SuiteError(f"{folder / 'trials.parquet'}: missing column(s) {', '.join(missing)}")
    recorded = list(dict.fromkeys(trials["cell"]))
    grid = [suite.cell_label(cell) for cell in suite.cells()]
    labels = [c for c in grid if c in recorded] + [c for c in recorded if c not in grid]
    # rows written before search existed have no phase: they are grid trials
    is_search = trials["phase"].eq("search") if "phase" in trials else pd.Series(False, index=trials.index)
    return suite, labels, trials[(trials["status"] == Status.COMPLETE) & ~is_search]


def _default_metrics(a: pd.DataFrame, b: pd.DataFrame) -> list[Metric]:
    def has_values(frame: pd.DataFrame, name: str) -> bool:
        return name in frame and np.isfinite(pd.to_numeric(frame[name], errors="coerce").to_numpy(float)).any()

    chosen = [METRICS.get(name) for name in METRICS.in_order()]
    return [m for m in chosen if m.higher_is_better is not None and has_values(a, m.name) and has_values(b, m.name)]


def _sample(trials: pd.DataFrame, cell: str, metric: str, side: str) -> tuple[np.ndarray, list[str]]:
    """Finite values of one cell's metric, and notes on what is missing."""
    group = trials[trials["cell"] == cell]
    if metric not in group:
        return np.array([]), [f"{side}: {metric} not recorded"]
    values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    if len(group) == 0:
        return finite, [f"{side}: no complete trials"]
    if len(finite) < len(values):
        return finite, [f"{side}: {len(values) - len(finite)} of {len(values)} complete trials have no value"]
    return finite, []


def _test(x: np.ndarray, y: np.ndarray, metric: Metric, alpha: float, tested: bool) -> dict:
    n_a, n_b = len(x), len(y)
    mean_a = float(x.mean()) if n_a else math.nan
    mean_b = float(y.mean()) if n_b else math.nan
    diff = mean_b - mean_a
    out = {"n_a": n_a, "n_b": n_b, "mean_a": mean_a, "mean_b": mean_b, "diff": diff,
           "rel_diff": diff / abs(mean_a) if mean_a != 0 else math.nan,
           "p_welch": math.nan, "p_mannwhitney": math.nan, "significant": False, "better": "", "notes": []}
    if not tested:
        return out
    if n_a < 2 or n_b < 2:
        out["notes"].append("fewer than 2 values on a side: no test")
        return out
    out["p_welch"] = _welch(x, y)
    out["p_mannwhitney"] = _mann_whitney(x, y)
    min_p = 2 / math.comb(n_a + n_b, n_a)
    if min_p >= alpha:
        out["notes"].append(f"Mann-Whitney cannot reach p < {alpha:g} with {n_a} vs {n_b} seeds (min p {min_p:.2g})")
    out["significant"] = bool(out["p_welch"] < alpha)
    if out["significant"] and metric.higher_is_better is not None:
        out["better"] = "B" if metric.better(mean_b, mean_a) else "A"
    return out


def _welch(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # no spread: t is undefined (nan or inf), the answer is not
        return 1.0 if x[0] == y[0] else 0.0
    return pvalue(stats.ttest_ind, x, y, equal_var=False)


def _mann_whitney(x: np.ndarray, y: np.ndarray) -> float:
    ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    method = "auto"  # scipy: exact without ties for n <= 8, normal approximation otherwise
    if ties and math.comb(len(x) + len(y), len(x)) <= EXACT_MAX:
        method = stats.PermutationMethod(n_resamples=EXACT_MAX)  # >= all arrangements: exact, deterministic
    return float(stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue)


def _describe(suite: Suite) -> str:
    return (f"suite {suite.name} (hash {suite.suite_hash()}), seeds {suite.seeds}, "
            f"budget {suite.budget.steps} steps")


# --- output --------------------------------------------------------------------------


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """The comparison as text cells, shared by the terminal and Markdown tables."""
    arrows = {True: " ↑", False: " ↓", None: ""}

    def num(v: float) -> str:
        return f"{v:.4g}" if math.isfinite(v) else "-"

    return pd.DataFrame({
        "cell": _short_labels(df["cell"]),
        "metric": [m + arrows[METRICS.get(m).higher_is_better] for m in df["metric"]],
        "n A/B": [f"{a}/{b}" for a, b in zip(df["n_a"], df["n_b"])],
        "mean A": df["mean_a"].map(num),
        "mean B": df["mean_b"].map(num),
        "B - A": [f"{d:+.4g} ({r:+.1%})" if math.isfinite(r) else num(d) for d, r in zip(df["diff"], df["rel_diff"])],
        "p Welch": df["p_welch"].map(lambda p: f"{p:.3g}" if math.isfinite(p) else "-"),
        "p M-W": df["p_mannwhitney"].map(lambda p: f"{p:.3g}" if math.isfinite(p) else "-"),
        "sig": df["significant"].map(lambda s: "✓" if s else ""),
        "better": df["better"],
        "note": df["note"],
    })


def _short_labels(cells: pd.Series) -> pd.Series:
    """Drop the axis=value parts every cell shares: they say nothing in a comparison."""
    parts = [str(c).split() for c in cells]
    common = set.intersection(*map(set, parts)) if parts else set()
    return pd.Series([" ".join(p for p in ps if p not in common) or " ".join(ps) for ps in parts], index=cells.index)


def _caption(df: pd.DataFrame) -> str:
    alpha = df.attrs.get("alpha", 0.05)
    return (f"values: complete, non-search trials, one per seed; ✓ = Welch p < {alpha:g}; better by the "
            "metric's direction (↑/↓); Mann-Whitney U two-sided beside it; no multiple-comparison correction")


def render(df: pd.DataFrame) -> Table:
    """A rich table for the terminal; significant rows in bold, their better side in green."""
    title = f"A = {df.attrs.get('dir_a', 'A')}   B = {df.attrs.get('dir_b', 'B')}"
    table = Table(title=title, caption=_caption(df), title_justify="left", caption_justify="left")
    text = _display(df)
    for col in text.columns:
        table.add_column(col, justify="left" if col in ("cell", "metric", "note") else "right",
                         style="dim" if col == "note" else None)
    for (_, row), significant in zip(text.iterrows(), df["significant"]):
        # Text, not markup strings: a grid value such as [0.5, 0.999] must print as written
        cells = [Text(str(v), style="green" if col == "better" else "") for col, v in row.items()]
        table.add_row(*cells, style="bold" if significant else None)
    return table


def to_markdown(df: pd.DataFrame) -> str:
    attrs = df.attrs
    lines = [
        "# Comparison",
        "",
        f"- A: `{attrs.get('dir_a', '?')}`: {attrs.get('suite_a', '?')}",
        f"- B: `{attrs.get('dir_b', '?')}`: {attrs.get('suite_b', '?')}",
        f"- {_caption(df)}",
        "- Mann-Whitney's smallest two-sided p is 2 / C(n_a + n_b, n_a): 0.1 with 3 seeds a side",
        "",
        _display(df).to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)


def write_comparison(df: pd.DataFrame, out_dir: Path, name: str) -> list[Path]:
    """<name>.csv (full precision) and <name>.md (formatted) in out_dir, each written atomically."""
    out_dir = Path(out_dir)
    csv, md = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    atomic_write(csv, lambda tmp: df.to_csv(tmp, index=False))
    atomic_write_text(md, to_markdown(df))
    return [csv, md]
