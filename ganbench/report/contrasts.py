"""Contrasts within one run: does one grid axis matter, level against level, the other axes and the seed held fixed?

``bench.py compare DIR --by AXIS``. For each pair of the axis's levels (A = the earlier in the grid, B = the later)
and each combination of the other varying axes (a *stratum*, e.g. ``loss=hinge`` when the axis is
``d_steps_per_g_step``), a trial at A and one at B that share the stratum and the seed form a pair: the same seed
fixes the same initial draws, so B - A per pair removes the seed-to-seed variation the two have in common. Per
metric:

- one row per stratum: the mean of the paired differences B - A, its BCa bootstrap 95% interval, the paired
  t-test (``p_paired_t``, which decides) and the Wilcoxon signed-rank test beside it (smallest p 2 / 2^n);
- the **main effect** (``within`` = MAIN): the differences of every stratum pooled, paired per (stratum, seed),
  with the same interval and tests: B - A averaged over the other axes' levels as the grid crosses them.

Multiple comparisons: ``p_holm`` is Holm-Bonferroni over every row of the comparison in the ``holm_family``
"primary" (every level pair x stratum and main effect x metric); ``significant`` = p_holm < alpha. Throughput
metrics (``Metric.kind == "throughput"``: wall time, queue time, steps/s, memory) are reported by default for the
main effect only, corrected apart (family "throughput") so they do not dilute the correction of what the run is
read for; ``include_throughput`` or naming them in ``metrics`` puts them in the primary family with every stratum.

The same main effects, for every axis with at least 2 levels and the headline metrics, make the leaderboard's
"effects" table and plot (``write_effects``). Values are the complete, non-search trials, as in the leaderboard.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ganbench.metrics import Metric
from ganbench.registry import METRICS
from ganbench.report.compare import fit_labels, load_run
from ganbench.report.data import dataset_records
from ganbench.report.headline import headline_metrics
from ganbench.report.stats import bootstrap_diff_ci, holm, pair_by_seed, paired_tests, wilcoxon_min_p
from ganbench.results import Status, atomic_write, atomic_write_text
from ganbench.suite import Suite, SuiteError

__all__ = ["CONTRAST_COLUMNS", "MAIN", "contrasts", "effects", "effects_figure", "render_contrasts",
           "write_contrasts", "write_effects"]

CONTRAST_COLUMNS = ["axis", "level_a", "level_b", "within", "metric", "holm_family", "n_pairs", "mean_a", "mean_b",
                    "diff", "diff_ci95_low", "diff_ci95_high", "p_paired_t", "p_wilcoxon", "p_holm", "significant",
                    "better", "note"]
#: the ``within`` of a main effect row: every stratum pooled
MAIN = "all (main effect)"
PRIMARY, THROUGHPUT = "primary", "throughput"
EFFECTS_PLOT = "effects.png"


# --- the statistics -------------------------------------------------------------------------


def contrasts(folder: Path, axis: str, metrics: list[str] | None = None, include_throughput: bool = False,
              alpha: float = 0.05) -> pd.DataFrame:
    """CONTRAST_COLUMNS, one row per (pair of levels, stratum or MAIN, metric), for one folder's ``axis``.

    ``metrics`` defaults to the headline metrics (``report.headline``) plus, as main effects corrected apart,
    the throughput metrics with a direction; named metrics are all tested in full and corrected together.
    An axis that is not in the grid or has one level, or a folder without seeds, is a SuiteError.
    """
    folder = Path(folder)
    suite, _, trials = load_run(folder)
    varying = [a for a in suite.axes() if len(suite.axis_values(a)) > 1]
    if axis not in suite.axes():
        raise SuiteError(f"--by {axis}: not an axis of {folder}'s grid; its axes with 2 or more levels: "
                         f"{', '.join(varying) or 'none'}")
    if axis not in varying:
        raise SuiteError(f"--by {axis}: {folder} ran one level of it ({suite.axis_values(axis)[0]!r}): nothing to "
                         f"contrast; axes with 2 or more levels: {', '.join(varying) or 'none'}")
    if "seed" not in trials:
        raise SuiteError(f"{folder / 'trials.parquet'}: no seed column: trials cannot be paired")
    full, apart = _chosen(folder, suite, trials, metrics, include_throughput)
    if not full and not apart:
        raise SuiteError(f"{folder}: no metric with a direction has values in the complete trials")
    rows = _axis_rows(suite, trials, axis, full, main_only=False, family=PRIMARY)
    rows += _axis_rows(suite, trials, axis, apart, main_only=True, family=THROUGHPUT)
    df = _correct(pd.DataFrame(rows, columns=CONTRAST_COLUMNS), alpha)
    df.attrs.update(folder=str(folder), axis=axis, levels=[str(v) for v in suite.axis_values(axis)], alpha=alpha,
                    others=[a for a in varying if a != axis], suite=f"suite {suite.name} (hash "
                    f"{suite.suite_hash()}), seeds {suite.seeds}, budget {suite.budget.steps} steps",
                    n_tests=_n_tests(df, PRIMARY), n_throughput=_n_tests(df, THROUGHPUT))
    return df


def effects(trials: pd.DataFrame, suite: Suite, metrics: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """The main effect of every axis with at least 2 levels (each pair of its levels) on ``metrics``, from
    a leaderboard's trials (every phase and status; the complete non-search ones are used); Holm over all."""
    phase = trials["phase"] if "phase" in trials else pd.Series("grid", index=trials.index)
    done = trials[(trials["status"] == Status.COMPLETE) & (phase != "search")]
    chosen = [METRICS.get(m) for m in metrics]
    rows = []
    if "seed" in done:
        for axis in suite.axes():
            if len(suite.axis_values(axis)) > 1:
                rows += _axis_rows(suite, done, axis, chosen, main_only=True, family=PRIMARY)
    df = _correct(pd.DataFrame(rows, columns=CONTRAST_COLUMNS), alpha)
    df.attrs.update(alpha=alpha, n_tests=_n_tests(df, PRIMARY))
    return df


def _chosen(folder: Path, suite: Suite, trials: pd.DataFrame, metrics: list[str] | None,
            include_throughput: bool) -> tuple[list[Metric], list[Metric]]:
    """(metrics tested in full in the primary family, throughput metrics reported as main effects apart)."""
    if metrics is not None:
        return [METRICS.get(m) for m in dict.fromkeys(metrics)], []
    measured = [n for n in METRICS.in_order() if _has_values(trials, n)]
    head = [METRICS.get(n) for n in headline_metrics(measured, suite, dataset_records(folder, suite))]
    head = [m for m in head if m.higher_is_better is not None]
    speed = [METRICS.get(n) for n in measured
             if METRICS.get(n).kind == "throughput" and METRICS.get(n).higher_is_better is not None]
    return (head + speed, []) if include_throughput else (head, speed)


def _has_values(frame: pd.DataFrame, name: str) -> bool:
    return name in frame and np.isfinite(pd.to_numeric(frame[name], errors="coerce").to_numpy(float)).any()


def _axis_rows(suite: Suite, trials: pd.DataFrame, axis: str, metrics: list[Metric], main_only: bool,
               family: str) -> list[dict]:
    """Rows (uncorrected) for every pair of ``axis``'s levels: each stratum unless ``main_only``, then MAIN."""
    levels = suite.axis_values(axis)
    others = [a for a in suite.axes() if a != axis and len(suite.axis_values(a)) > 1]
    recorded = set(trials["cell"])
    # (stratum, level index) -> cell label; strata in grid order
    cells: dict[tuple[str, int], str] = {}
    for cell in suite.cells():
        label = suite.cell_label(cell)
        if label in recorded:
            stratum = " ".join(f"{a}={cell[a]}" for a in others)
            cells.setdefault((stratum, _index(levels, cell[axis])), label)
    strata = list(dict.fromkeys(s for s, _ in cells))
    by_cell = {label: group for label, group in trials.groupby("cell", sort=False)}
    rows = []
    for i in range(len(levels)):
        for j in range(i + 1, len(levels)):
            both = [s for s in strata if (s, i) in cells and (s, j) in cells]
            for metric in metrics:
                pooled_a, pooled_b, notes = [], [], []
                per_stratum = []
                for s in both:
                    a, b = (_values(by_cell[cells[(s, k)]], metric.name) for k in (i, j))
                    pairs = pair_by_seed(a, b, min_pairs=1)
                    why = [] if pairs is not None else \
                        ["a seed repeats in a cell: not paired"] if not (a.index.is_unique and b.index.is_unique) \
                        else [f"no seed with a value at both levels ({len(a)} at A, {len(b)} at B)"]
                    x, y = pairs if pairs is not None else (np.empty(0), np.empty(0))
                    if len(x) and (len(a) > len(x) or len(b) > len(x)):
                        why.append(f"{len(a) + len(b) - 2 * len(x)} value(s) without a partner seed left out")
                    per_stratum.append((s, x, y, why))
                    pooled_a.append(x)
                    pooled_b.append(y)
                    notes += [f"{s}: {w}" for w in why] if s else why
                base = {"axis": axis, "level_a": str(levels[i]), "level_b": str(levels[j]), "metric": metric.name,
                        "holm_family": family}
                if others and not main_only:
                    for s, x, y, why in per_stratum:
                        rows.append({**base, "within": s, **_paired(x, y, why)})
                if not both:
                    notes.append("no combination of the other axes ran both levels")
                x = np.concatenate(pooled_a) if pooled_a else np.empty(0)
                y = np.concatenate(pooled_b) if pooled_b else np.empty(0)
                rows.append({**base, "within": MAIN, **_paired(x, y, notes)})
    return rows


def _index(levels: list, value) -> int:
    return next(k for k, v in enumerate(levels) if v == value)


def _values(group: pd.DataFrame, metric: str) -> pd.Series:
    """One cell's finite values of ``metric``, indexed by seed."""
    if metric not in group:
        return pd.Series(dtype=float)
    values = pd.to_numeric(group[metric], errors="coerce").astype(np.float64).set_axis(group["seed"].to_numpy())
    return values[np.isfinite(values)]


def _paired(x: np.ndarray, y: np.ndarray, notes: list[str]) -> dict:
    """The numbers of one row from the paired values (x[k] at A, y[k] at B share a stratum and a seed)."""
    n = len(x)
    out = {"n_pairs": n, "mean_a": float(x.mean()) if n else math.nan, "mean_b": float(y.mean()) if n else math.nan,
           "diff": float((y - x).mean()) if n else math.nan, "diff_ci95_low": math.nan, "diff_ci95_high": math.nan,
           "p_paired_t": math.nan, "p_wilcoxon": math.nan, "note": list(notes)}
    if n < 2:
        out["note"].append(f"{n} pair{'s' * (n != 1)}: no test")
    else:
        p = paired_tests(x, y)
        low, high = bootstrap_diff_ci(x, y, paired=True)
        out.update(p_paired_t=p.t, p_wilcoxon=p.wilcoxon, diff_ci95_low=low, diff_ci95_high=high)
    out["note"] = "; ".join(out["note"])
    return out


def _correct(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Holm within each family, then significant and the better level by the metric's direction."""
    df["p_holm"] = math.nan
    for family in df["holm_family"].unique():
        at = df["holm_family"] == family
        df.loc[at, "p_holm"] = holm(df.loc[at, "p_paired_t"])
    df["significant"] = (df["p_holm"] < alpha).to_numpy(bool)
    df["better"] = [(b if METRICS.get(m).better(mb, ma) else a) if sig else ""
                    for m, a, b, ma, mb, sig in zip(df["metric"], df["level_a"], df["level_b"], df["mean_a"],
                                                    df["mean_b"], df["significant"])]
    return df[CONTRAST_COLUMNS]


def _n_tests(df: pd.DataFrame, family: str) -> int:
    return int((df["p_paired_t"].notna() & (df["holm_family"] == family)).sum())


# --- output ---------------------------------------------------------------------------------


def _num(v: float, digits: int = 3) -> str:
    return f"{v:+.{digits}g}" if math.isfinite(v) else "-"


def _prob(p: float) -> str:
    return f"{p:.3g}" if math.isfinite(p) else "-"


def _caption(df: pd.DataFrame) -> str:
    alpha, n, apart = df.attrs.get("alpha", 0.05), df.attrs.get("n_tests", 0), df.attrs.get("n_throughput", 0)
    throughput = (f"; throughput metrics (main effects, below the line): Holm apart, over {apart} tests, not in "
                  f"the {n} (--include-throughput: with them)" if apart else "")
    return (f"pairs: trials at A and B with the same other-axis values and the same seed; B - A: mean of the paired "
            f"differences, 95% CI: BCa bootstrap; p Holm: the paired t-test's p, Holm-Bonferroni over {n} tests"
            f"{throughput}; significant (✓, bold) = p Holm < {alpha:g}; better by the metric's direction (↑/↓); "
            "main effect: every stratum's pairs pooled")


def _display(df: pd.DataFrame, within: list[str]) -> pd.DataFrame:
    arrows = {True: " ↑", False: " ↓", None: ""}
    return pd.DataFrame({
        "within": within,
        "metric": [m + arrows[METRICS.get(m).higher_is_better] for m in df["metric"]],
        "pairs": df["n_pairs"].astype(str).to_list(),
        "B - A": df["diff"].map(_num).to_list(),
        "95% CI": [f"[{_num(lo, 2)}, {_num(hi, 2)}]" if math.isfinite(lo) else "-"
                   for lo, hi in zip(df["diff_ci95_low"], df["diff_ci95_high"])],
        "p t": df["p_paired_t"].map(_prob).to_list(),
        "p Wilcoxon": df["p_wilcoxon"].map(_prob).to_list(),
        "p Holm": df["p_holm"].map(_prob).to_list(),
        "sig": ["✓" if s else "" for s in df["significant"]],
        "better": df["better"].to_list(),
        "note": df["note"].to_list(),
    })


TERMINAL_COLUMNS = ["metric / within", "pairs", "B - A", "95% CI", "p Holm", "better", "note"]
#: the main effect's row in the terminal, under its metric
MAIN_SHORT = "main effect"


def _short_within(df: pd.DataFrame) -> list[str]:
    """A stratum by its values alone ("hinge" for "loss=hinge"): the title names the axes."""
    return [MAIN_SHORT if w == MAIN else " ".join(part.split("=", 1)[1] for part in w.split()) for w in df["within"]]


def render_contrasts(df: pd.DataFrame) -> Group:
    """One rich table per pair of levels, fitting 80 columns: a heading row per metric, a row per stratum and
    the main effect under it; long stratum labels become ids with a legend, and what still does not fit wraps
    (at spaces, else folded), never cut. Notes are numbered footnotes; the caption comes last."""
    axis, others = df.attrs.get("axis", "?"), df.attrs.get("others", [])
    shown, legend = fit_labels(_short_within(df), prefix="w", keep=(MAIN_SHORT,))
    notes = {note: str(i) for i, note in enumerate(dict.fromkeys(n for n in df["note"] if n), start=1)}
    text = _display(df, shown).assign(note=[notes.get(n, "") for n in df["note"]])
    within = f"paired within {', '.join(others)} and the seed" if others else "paired by seed"
    columns = TERMINAL_COLUMNS if notes else TERMINAL_COLUMNS[:-1]
    parts: list = [Text(f"{df.attrs.get('folder', '')}: contrasts of {axis}, {within}")]
    for (a, b), idx in df.groupby(["level_a", "level_b"], sort=False).groups.items():
        table = Table(title=f"{axis}: B = {b} vs A = {a}", title_justify="left", box=box.SIMPLE_HEAD,
                      padding=(0, 1, 0, 0), pad_edge=False)
        for col in columns:
            table.add_column(col, justify="left" if col in (columns[0], "better") else "right",
                             overflow="fold", no_wrap=col == columns[0])
        family = PRIMARY
        for metric, rows in df.loc[idx].groupby("metric", sort=False).groups.items():
            if df.loc[rows[0], "holm_family"] != family:
                family = df.loc[rows[0], "holm_family"]
                table.add_section()
            table.add_row(Text(text.loc[rows[0], "metric"], style="italic"))
            for k in rows:
                cells = [Text("  " + text.loc[k, "within"])] + [
                    Text(str(text.loc[k, c]), style="green" if c == "better" else "") for c in columns[1:]]
                table.add_row(*cells, style="bold" if df.loc[k, "significant"] else None)
        parts.append(table)
    parts.append(Text("\n".join([_caption(df), *legend, *(f"[{i}] {note}" for note, i in notes.items())])))
    return Group(*parts)


def to_markdown(df: pd.DataFrame) -> str:
    attrs = df.attrs
    shown = _display(df, list(df["within"]))
    return "\n".join([
        f"# Contrasts of {attrs.get('axis', '?')}",
        "",
        f"- folder: `{attrs.get('folder', '?')}`: {attrs.get('suite', '?')}",
        f"- levels: {', '.join(attrs.get('levels', []))}; A is the earlier of each pair in the grid, B the later; "
        f"paired within {', '.join(attrs.get('others', [])) or 'nothing else'} and the seed",
        f"- {_caption(df)}",
        "- p t: paired t-test (decides); p Wilcoxon: signed-rank beside it, smallest two-sided p 2 / 2^n "
        "(6 pairs to reach 0.05)",
        "",
        shown.assign(contrast=[f"{b} vs {a}" for a, b in zip(df["level_a"], df["level_b"])])
        [["contrast", *shown.columns]].to_markdown(index=False, disable_numparse=True),
        "",
    ])


def write_contrasts(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """compare-by-<axis>.csv (full precision) and .md in out_dir, each written atomically."""
    out_dir = Path(out_dir)
    name = f"compare-by-{df.attrs['axis']}"
    csv, md = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    atomic_write(csv, lambda tmp: df.to_csv(tmp, index=False))
    atomic_write_text(md, to_markdown(df))
    return [csv, md]


# --- the leaderboard's effects ----------------------------------------------------------------


def effect_metrics(trials: pd.DataFrame, suite: Suite, datasets: dict[str, dict]) -> list[str]:
    """The leaderboard's headline metrics (``report.headline``) with a direction, measured in the seeded trials."""
    seeded = trials[trials["phase"] != "search"] if "phase" in trials else trials
    measured = [n for n in METRICS.in_order() if _has_values(seeded, n)]
    return [m for m in headline_metrics(measured, suite, datasets) if METRICS.get(m).higher_is_better is not None]


def write_effects(folder: Path, trials: pd.DataFrame, suite: Suite, datasets: dict[str, dict]) -> str:
    """effects.csv and effects.md in ``folder``: the main effects of every axis with >= 2 levels on the headline
    metrics; returns the Markdown section for the leaderboard ("" and no files when no axis has 2 levels). The
    plot is ``effects_figure``."""
    df = effects(trials, suite, effect_metrics(trials, suite, datasets))
    if df.empty:
        return ""
    section = effects_markdown(df)
    atomic_write(Path(folder) / "effects.csv", lambda tmp: df.to_csv(tmp, index=False))
    atomic_write_text(Path(folder) / "effects.md", section)
    return section


def effects_markdown(df: pd.DataFrame) -> str:
    table = pd.DataFrame({
        "axis": df["axis"], "B vs A": [f"{b} vs {a}" for a, b in zip(df["level_a"], df["level_b"])],
        **{c: v for c, v in _display(df, list(df["within"])).items() if c in ("metric", "pairs", "B - A", "95% CI",
                                                                            "p Holm", "sig", "better")},
    })
    return "\n".join([
        "## Effects",
        "",
        f"- main effect of each axis with 2 or more levels: B - A averaged over the paired trials at every combination "
        f"of the other axes (same other-axis values, same seed); 95% CI: BCa bootstrap; p Holm: paired t-test, "
        f"Holm-Bonferroni over the {df.attrs.get('n_tests', 0)} tests of this table; ✓ = p Holm < "
        f"{df.attrs.get('alpha', 0.05):g}; per stratum: `bench.py compare DIR --by AXIS`",
        "",
        table.to_markdown(index=False, disable_numparse=True),
        "",
    ])


def effects_figure(f):
    """The figure of plots/effects.png from ``plots.Frames`` (which saves it): a panel per headline metric, each
    axis's main effects (B - A) with their 95% interval against 0; None without an axis of 2 levels."""
    import matplotlib.pyplot as plt

    df = effects(f.trials, f.suite, effect_metrics(f.trials, f.suite, f.datasets))
    df = df[df["n_pairs"] > 0]
    if df.empty:
        return None
    shown = list(dict.fromkeys(df["metric"]))
    labels = list(dict.fromkeys(f"{ax}: {b} vs {a}" for ax, a, b in zip(df["axis"], df["level_a"], df["level_b"])))
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 0.9 + 0.32 * len(labels)), squeeze=False,
                             sharey=True)
    for ax, metric in zip(axes[0], shown):
        rows = df[df["metric"] == metric]
        ys = [labels.index(f"{r.axis}: {r.level_b} vs {r.level_a}") for r in rows.itertuples()]
        colors = ["tab:green" if s else "tab:gray" for s in rows["significant"]]
        ax.hlines(ys, rows["diff_ci95_low"].fillna(rows["diff"]), rows["diff_ci95_high"].fillna(rows["diff"]),
                  colors=colors, linewidth=1.5)
        ax.scatter(rows["diff"], ys, c=colors, zorder=3, s=16)
        ax.axvline(0, color="black", linewidth=0.8)
        arrow = {True: " ↑", False: " ↓"}[METRICS.get(metric).higher_is_better]
        ax.set_title(f"{metric}{arrow}")
        ax.set_xlabel("B - A")
    axes[0][0].set_yticks(range(len(labels)), labels)
    axes[0][0].invert_yaxis()
    fig.suptitle("Main effects (paired B - A, 95% BCa interval; green: significant after Holm)", fontsize=10)
    return fig
