"""Two results folders, cell by cell: does B differ from A on a metric, and which is better?

The samples are the per-seed values of each cell's complete, non-search trials: search
trials are different configurations tuned for the objective, and diverged, pruned or failed
trials have no final metric to average (report.py counts them; a comparison ignores them).

Which test (the ``test`` column says):

- Paired, when both cells ran the same seeds (at least 2): trials that share a seed share their
  initial draws, so the per-seed differences B - A remove the seed-to-seed variation both sides
  have in common. Seeds that only partly overlap are not paired (the note says so): pairing part
  of the values would test another sample than the means shown. The paired t-test decides
  (``p_paired_t``); the Wilcoxon signed-rank test (``p_wilcoxon``, exact for small n) stands beside it without assuming normality; its smallest
  two-sided p is 2 / 2^n, so it needs 6 pairs to reach 0.05 (the note says so below that).
- Otherwise Welch's t-test (unequal variances) decides: seed variances differ between
  configurations, so no pooled variance. Zero variance on both sides has no t statistic:
  different constants count as p = 0, identical ones as p = 1 (a constant paired difference too).
  Mann-Whitney U (two-sided; Lucic et al. 2018, "Are GANs Created Equal?", used it) stands beside
  it. Being rank based it is coarse with few seeds: its smallest two-sided p is
  2 / C(n_a + n_b, n_a), 0.1 with 3 seeds a side (the note says so wherever it cannot reach
  alpha). Small samples with ties use the exact permutation distribution: scipy's default turns
  to the normal approximation on ties and would give 0.047 for three 1s against three 2s.

``p_welch`` and ``p_mannwhitney`` are filled for every tested row, paired or not (Welch stays
valid with paired seeds, only weaker); ``p_value`` is the p of the deciding t-test.

Multiple comparisons: ``p_holm`` is ``p_value`` Holm-Bonferroni adjusted over every tested row of
the comparison (cells x metrics) in its ``holm_family``, and ``significant`` means p_holm < alpha, so the
chance of any false ✓ among the family's rows stays below alpha. Throughput metrics (``Metric.kind ==
"throughput"``: wall and queue time, steps/s, memory) are corrected apart (family "throughput") by default,
so that they do not dilute the correction of what a comparison is read for; ``include_throughput`` or naming
them in ``metrics`` puts them in the one family "primary". ``flag`` is "inconclusive" for a difference that is
not significant and smaller than the seed-to-seed spread (the pooled sd of A and B): more seeds,
not this table, would decide it; ``n_seeds_for_80pct_power`` says how many (per side, or pairs).
``diff_ci95_low/high`` is the BCa bootstrap 95% interval of B - A (of the paired differences when
paired).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table
from rich.text import Text
from scipy import stats

from ganbench.metrics import Metric
from ganbench.registry import METRICS
from ganbench.report.stats import (bootstrap_ci, bootstrap_diff_ci, holm, pair_by_seed, paired_tests, pooled_sd,
                                   seeds_for_power, welch, wilcoxon_min_p)
from ganbench.results import Status, atomic_write, atomic_write_text, read_table
from ganbench.suite import Suite, SuiteError, read_suite

__all__ = ["COLUMNS", "compare_runs", "fit_labels", "load_run", "render", "write_comparison"]

#: the old columns keep their names and order; the paired tests, the correction and the power sit between them
COLUMNS = ["cell", "metric", "n_a", "n_b", "n_pairs", "mean_a", "mean_b", "diff", "rel_diff",
           "diff_ci95_low", "diff_ci95_high", "test", "p_welch", "p_mannwhitney", "p_paired_t", "p_wilcoxon",
           "p_value", "p_holm", "holm_family", "significant", "better", "flag", "n_seeds_for_80pct_power", "note"]
PAIRED, UNPAIRED = "paired t / Wilcoxon ({} pairs)", "Welch / Mann-Whitney"
INCONCLUSIVE = "inconclusive"
#: Mann-Whitney with ties is exact (all arrangements enumerated) up to this many; 924 = 6 vs 6 takes ~20 ms
EXACT_MAX = 1000


def compare_runs(dir_a: Path, dir_b: Path, metrics: list[str] | None = None, alpha: float = 0.05,
                 include_throughput: bool = False) -> pd.DataFrame:
    """One row per (cell, metric): A's and B's samples, diff = B - A, the tests, Holm's correction, the better side.

    Cells come in A's grid order, then B's extra cells; a cell recorded in only one folder is
    kept with note "only in A"/"only in B" and no test; folders without a cell in common are a SuiteError
    naming the axes and values that differ. ``metrics`` defaults to every registered metric with a direction
    that has finite values in both folders, the throughput ones corrected apart unless ``include_throughput``;
    an unknown name raises UnknownNameError. The folders, suites and the number of tests are kept in
    ``df.attrs`` for the headers.
    """
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    suite_a, labels_a, trials_a = load_run(dir_a)
    suite_b, labels_b, trials_b = load_run(dir_b)
    if not set(labels_a) & set(labels_b):
        raise SuiteError(no_common_cell(dir_a, suite_a, labels_a, dir_b, suite_b, labels_b))
    apart = metrics is None and not include_throughput  # named metrics are asked for: all in one family
    if metrics is not None:
        chosen = [METRICS.get(name) for name in metrics]
    else:
        chosen = _default_metrics(trials_a, trials_b)
        if not chosen:
            raise SuiteError(f"{dir_a} vs {dir_b}: no metric with a direction has values in both folders")
    seeded = "seed" in trials_a and "seed" in trials_b  # rows without seeds cannot be paired
    rows = []
    for cell in dict.fromkeys(labels_a + labels_b):
        in_a, in_b = cell in labels_a, cell in labels_b
        for metric in chosen:
            x, notes_a = _sample(trials_a, cell, metric.name, "A") if in_a else (pd.Series(dtype=float), [])
            y, notes_b = _sample(trials_b, cell, metric.name, "B") if in_b else (pd.Series(dtype=float), [])
            row = {"cell": cell, "metric": metric.name,
                   **_test(x, y, alpha, tested=in_a and in_b, seeded=seeded)}
            only = [] if in_a and in_b else ["only in A" if in_a else "only in B"]
            row["note"] = "; ".join(only + notes_a + notes_b + row.pop("notes"))
            rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "spread"])
    speed = frame["metric"].map(lambda m: apart and METRICS.get(m).kind == "throughput")
    frame["holm_family"] = np.where(speed, "throughput", "primary")
    df = _correct(frame, chosen, alpha)
    tested = df["p_value"].notna()
    df.attrs.update(dir_a=str(dir_a), dir_b=str(dir_b), alpha=alpha,
                    n_tests=int((tested & (df["holm_family"] == "primary")).sum()),
                    n_throughput=int((tested & (df["holm_family"] == "throughput")).sum()),
                    suite_a=_describe(suite_a), suite_b=_describe(suite_b))
    return df


def no_common_cell(dir_a: Path, suite_a: Suite, labels_a: list[str], dir_b: Path, suite_b: Suite,
                   labels_b: list[str]) -> str:
    """Why two folders have no cell to pair: the axes one has and the other not, the values that differ."""
    empty = [f"{d} has no complete grid trial" for d, labels in ((dir_a, labels_a), (dir_b, labels_b)) if not labels]
    axes_a, axes_b = suite_a.axes(), suite_b.axes()
    differ = [f"axis {a} only in {dir_a if a in axes_a else dir_b}"
              for a in dict.fromkeys(axes_a + axes_b) if (a in axes_a) != (a in axes_b)]
    for axis in (a for a in axes_a if a in axes_b):
        va, vb = suite_a.axis_values(axis), suite_b.axis_values(axis)
        if not any(v in vb for v in va):
            differ.append(f"{axis}: {', '.join(map(str, va))} in {dir_a} vs {', '.join(map(str, vb))} in {dir_b}")
    why = "; ".join(empty + differ) or "every axis shares values, but no recorded cell is in both"
    return (f"{dir_a} and {dir_b} have no cell in common ({why}): cells pair only where every axis agrees. To "
            f"contrast the levels of one axis, run them in one suite and use `bench.py compare DIR --by AXIS`")


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


def _sample(trials: pd.DataFrame, cell: str, metric: str, side: str) -> tuple[pd.Series, list[str]]:
    """Finite values of one cell's metric, indexed by seed where recorded, and notes on what is missing."""
    group = trials[trials["cell"] == cell]
    if metric not in group:
        return pd.Series(dtype=float), [f"{side}: {metric} not recorded"]
    values = pd.to_numeric(group[metric], errors="coerce").astype(np.float64)
    if "seed" in group:
        values.index = group["seed"].to_numpy()
    finite = values[np.isfinite(values)]
    if len(group) == 0:
        return finite, [f"{side}: no complete trials"]
    if len(finite) < len(values):
        return finite, [f"{side}: {len(values) - len(finite)} of {len(values)} complete trials have no value"]
    return finite, []


def _test(a: pd.Series, b: pd.Series, alpha: float, tested: bool, seeded: bool) -> dict:
    """Every column of one row but the correction's; ``spread`` (the pooled sd) for the flag, ``notes`` for the note."""
    x, y = a.to_numpy(), b.to_numpy()
    n_a, n_b = len(x), len(y)
    mean_a = float(x.mean()) if n_a else math.nan
    mean_b = float(y.mean()) if n_b else math.nan
    diff = mean_b - mean_a
    out = {"n_a": n_a, "n_b": n_b, "n_pairs": 0, "mean_a": mean_a, "mean_b": mean_b, "diff": diff,
           "rel_diff": diff / abs(mean_a) if mean_a != 0 else math.nan,
           "diff_ci95_low": math.nan, "diff_ci95_high": math.nan, "test": "",
           "p_welch": math.nan, "p_mannwhitney": math.nan, "p_paired_t": math.nan, "p_wilcoxon": math.nan,
           "p_value": math.nan, "n_seeds_for_80pct_power": math.nan, "spread": math.nan, "notes": []}
    if not tested:
        return out
    if n_a < 2 or n_b < 2:
        out["notes"].append("fewer than 2 values on a side: no test")
        return out
    out.update(p_welch=welch(x, y), p_mannwhitney=_mann_whitney(x, y), spread=pooled_sd(x, y))
    pairs = pair_by_seed(a, b, same_seeds=True) if seeded else None
    if pairs is None:
        common = len(set(a.index) & set(b.index)) if seeded else 0
        if common:
            out["notes"].append(f"not paired: the seeds differ ({n_a} in A, {n_b} in B, {common} in both)")
        low, high = bootstrap_diff_ci(x, y, paired=False)
        out.update(test=UNPAIRED, p_value=out["p_welch"], diff_ci95_low=low, diff_ci95_high=high,
                   n_seeds_for_80pct_power=seeds_for_power(diff, out["spread"], paired=False, alpha=alpha))
        min_p = 2 / math.comb(n_a + n_b, n_a)
        if min_p >= alpha:
            out["notes"].append(f"Mann-Whitney cannot reach p < {alpha:g} with {n_a} vs {n_b} seeds "
                                f"(min p {min_p:.2g})")
        return out
    d = pairs[1] - pairs[0]
    p = paired_tests(*pairs)
    low, high = bootstrap_ci(d)
    out.update(test=PAIRED.format(len(d)), n_pairs=len(d), p_paired_t=p.t, p_wilcoxon=p.wilcoxon, p_value=p.t,
               diff_ci95_low=low, diff_ci95_high=high,
               n_seeds_for_80pct_power=seeds_for_power(d.mean(), d.std(ddof=1), paired=True, alpha=alpha))
    if wilcoxon_min_p(len(d)) >= alpha:
        out["notes"].append(f"Wilcoxon cannot reach p < {alpha:g} with {len(d)} pairs "
                            f"(min p {wilcoxon_min_p(len(d)):.2g})")
    return out


def _correct(df: pd.DataFrame, metrics: list[Metric], alpha: float) -> pd.DataFrame:
    """Holm over the tested rows of each family, then what follows from it: significant, better, flag."""
    df["p_holm"] = math.nan
    for family in df["holm_family"].unique():
        at = df["holm_family"] == family
        df.loc[at, "p_holm"] = holm(df.loc[at, "p_value"])
    df["significant"] = (df["p_holm"] < alpha).to_numpy()
    direction = {m.name: m for m in metrics}
    df["better"] = [("B" if direction[m].better(b, a) else "A") if sig and direction[m].higher_is_better is not None
                    else "" for m, a, b, sig in zip(df["metric"], df["mean_a"], df["mean_b"], df["significant"])]
    # a difference inside the seed-to-seed spread that the test cannot tell apart: more seeds would decide
    small = df["diff"].abs() < df["spread"]
    df["flag"] = np.where(df["p_value"].notna() & ~df["significant"] & small, INCONCLUSIVE, "")
    return df[COLUMNS]


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


#: the terminal keeps to these (the Markdown has every display column, the CSV every number)
#: (the means are one step away: B - A and its percentage of A; the notes become numbered footnotes)
TERMINAL_COLUMNS = ["cell", "metric", "n A/B", "B - A", "test", "p Holm", "better", "flag", "seeds@80%", "note"]


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """The comparison as text cells, shared by the terminal and Markdown tables."""
    arrows = {True: " ↑", False: " ↓", None: ""}

    def num(v: float) -> str:
        return f"{v:.4g}" if math.isfinite(v) else "-"

    def prob(p: float) -> str:
        return f"{p:.3g}" if math.isfinite(p) else "-"

    def seeds(n: float) -> str:
        return f"{n:.0f}" if math.isfinite(n) else "∞" if n == math.inf else "-"

    paired = df["n_pairs"] > 0
    return pd.DataFrame({
        "cell": _short_labels(df["cell"]),
        "metric": [m + arrows[METRICS.get(m).higher_is_better] for m in df["metric"]],
        "n A/B": [f"{a}/{b}" for a, b in zip(df["n_a"], df["n_b"])],
        "mean A": df["mean_a"].map(num),
        "mean B": df["mean_b"].map(num),
        "B - A": [f"{d:+.3g} ({r:+.0%})" if math.isfinite(r) else num(d) for d, r in zip(df["diff"], df["rel_diff"])],
        "95% CI B - A": [f"[{lo:+.3g}, {hi:+.3g}]" if math.isfinite(lo) else "-"
                         for lo, hi in zip(df["diff_ci95_low"], df["diff_ci95_high"])],
        "test": [f"paired {n}" if n else "Welch" if t else "-" for n, t in zip(df["n_pairs"], df["test"])],
        "p": df["p_value"].map(prob),
        "p rank": df["p_wilcoxon"].where(paired, df["p_mannwhitney"]).map(prob),
        "p Holm": df["p_holm"].map(prob),
        "sig": df["significant"].map(lambda s: "✓" if s else ""),
        "better": df["better"],
        "flag": df["flag"],
        "seeds@80%": df["n_seeds_for_80pct_power"].map(seeds),
        "note": df["note"],
    })


def _short_labels(cells: pd.Series) -> pd.Series:
    """Drop the axis=value parts every cell shares: they say nothing in a comparison."""
    parts = [str(c).split() for c in cells]
    common = set.intersection(*map(set, parts)) if parts else set()
    return pd.Series([" ".join(p for p in ps if p not in common) or " ".join(ps) for ps in parts], index=cells.index)


def _caption(df: pd.DataFrame) -> str:
    alpha = df.attrs.get("alpha", 0.05)
    n_tests = df.attrs.get("n_tests", int(df["p_value"].notna().sum()))
    apart = df.attrs.get("n_throughput", 0)
    throughput = f" (throughput metrics apart, over {apart})" if apart else ""
    return (f"values: complete, non-search trials, one per seed; test: paired t when both ran the same seeds, "
            f"else Welch; p Holm: its p, Holm-Bonferroni over {n_tests} tests{throughput}; significant (✓, bold) = "
            f"p Holm < {alpha:g}, better by the metric's direction (↑/↓); inconclusive: not significant and |B - A| below "
            "the seed-to-seed sd; seeds@80%: seeds (pairs) per side to find B - A with 80% power")


#: a label longer than this is shown by a short id in the table, in full in a legend under it
LABEL_INLINE = 16


def fit_labels(labels: list[str], prefix: str, keep: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(what the table shows, legend lines): the labels themselves when each fits LABEL_INLINE characters, else
    ids <prefix>1, <prefix>2, ... (one per distinct label, ``keep`` labels shown as they are) and a legend line
    "<id> = <label>" for each, so that no terminal width ever cuts a label."""
    if all(len(label) <= LABEL_INLINE or label in keep for label in labels):
        return list(labels), []
    distinct = [label for label in dict.fromkeys(labels) if label not in keep]
    ids = {label: f"{prefix}{i}" for i, label in enumerate(distinct, start=1)}
    return [ids.get(label, label) for label in labels], [f"{ids[label]} = {label}" for label in distinct]


def render(df: pd.DataFrame) -> Table:
    """A rich table for the terminal that fits 80 columns and more: TERMINAL_COLUMNS, long cell labels as ids with
    a legend (``fit_labels``), every column folded rather than cut; each distinct note once under the table,
    referred to by number; significant rows in bold, their better side in green."""
    title = f"A = {df.attrs.get('dir_a', 'A')}   B = {df.attrs.get('dir_b', 'B')}"
    notes = {note: str(i) for i, note in enumerate(dict.fromkeys(n for n in df["note"] if n), start=1)}
    text = _display(df)[TERMINAL_COLUMNS].assign(note=[notes.get(n, "") for n in df["note"]])
    text["cell"], legend = fit_labels(list(text["cell"]), prefix="c")
    caption = Text("\n".join([_caption(df), *legend, *(f"[{i}] {note}" for note, i in notes.items())]))
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 1, 0, 0), pad_edge=False)
    for col in text.columns:
        # the metric names stay whole; the rest wrap at spaces, folding only what has none
        table.add_column(col, justify="left" if col in ("cell", "metric", "test", "flag") else "right",
                         overflow="fold", no_wrap=col == "metric", min_width=len(col) if col == "note" else None)
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
        "- p: the deciding t-test (paired t, or Welch); p rank: Wilcoxon signed-rank beside the paired t, "
        "Mann-Whitney U beside Welch; 95% CI B - A: BCa bootstrap (of the per-seed differences when paired)",
        "- the rank tests' smallest two-sided p: 2 / 2^n with n pairs (6 pairs to reach 0.05), "
        "2 / C(n_a + n_b, n_a) unpaired (0.1 with 3 seeds a side)",
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
