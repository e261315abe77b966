"""A results folder against its paper: reproduce.md/.csv/.html beside the leaderboard.

Per row of the paper's table and metric: the paper's value ± spread (n), ours mean ± 95% interval
(n seeds), the difference and a verdict; per claim: holds / fails / inconclusive with its test and
p-value (rules in ``verdicts``); and every way the run deviated from the paper's protocol: the
table's settings the run's suite.yaml does not match (budget, seeds, data substitutes, ...) and the
differences the reference lists for even the protocol suite.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Group
from rich.table import Table as RichTable
from rich.text import Text

from ganbench.config import same_value
from ganbench.references import Paper, Table, table_for_suite
from ganbench.report.compare import load_run
from ganbench.report.html import CSS, inline_code
from ganbench.report.stats import mean_ci95
from ganbench.report.judge import COLUMNS, NOT_RUN, judge, show_value
from ganbench.report.over_training import OVER_TRAINING_PLOT, OverTraining, over_training, plot_over_training
from ganbench.report.verdicts import INCONCLUSIVE, LOW_QUALITY
from ganbench.results import atomic_write, atomic_write_text
from ganbench.suite import Suite, read_suite

__all__ = ["COLUMNS", "Reproduction", "deviations", "reproduce_folder", "write_reproduction"]



@dataclass
class Reproduction:
    paper: Paper
    table: Table
    suite: Suite
    folder: Path
    frame: pd.DataFrame
    deviations: list[str] = field(default_factory=list)
    #: verdicts recomputed at every evaluation step (item x step), empty without curves
    over: OverTraining | None = None


def _lookup(dump: dict, dotted: str) -> Any:
    node: Any = dump
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


class _Missing:
    def __repr__(self) -> str:
        return "not set"


_MISSING = _Missing()


#: the protocol suites, shipped beside the package (a source checkout or an editable install)
PROTOCOL_SUITES = Path(__file__).resolve().parents[2] / "suites" / "papers"


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    """A suite dump as dotted keys (budget.steps, params.lr_g, grid.dataset); lists stay values."""
    if not isinstance(node, dict):
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def deviations(table: Table, suite: Suite, protocol: Suite | None = None) -> list[str]:
    """How the run's suite departs from the paper's protocol: each of the paper's settings that differs, then
    each other value changed from the protocol suite (``--set`` overrides: budget, seeds, ...), then the
    differences the reference lists for every run."""
    dump = suite.model_dump(mode="json")
    out = []
    for key, expected in table.settings.items():
        actual = len(suite.seeds) if key == "n_seeds" else _lookup(dump, key)
        if actual is _MISSING or not same_value(actual, expected):
            name = "seeds (runs per row)" if key == "n_seeds" else key
            out.append(f"{name}: {show_value(expected)} in the paper, {show_value(actual)} here")
    if protocol is not None:
        ours, theirs = _flat(dump), _flat(protocol.model_dump(mode="json"))
        covered = set(table.settings) | ({"seeds"} if "n_seeds" in table.settings else set())
        for key in sorted(set(ours) | set(theirs)):
            if key in covered or key in ("name", "description"):
                continue
            a, b = theirs.get(key, _MISSING), ours.get(key, _MISSING)
            if a is _MISSING or b is _MISSING or not same_value(a, b):
                out.append(f"{key}: {show_value(a)} in the protocol suite, {show_value(b)} here")
    declared = []  # the reference's own: true of every run, listed with the differences
    for setting in table.authors:
        if setting.deviation:
            declared.append(f"always: {setting.name}: {show_value(setting.value)} in the authors' code "
                            f"({setting.source}); here: {setting.deviation}")
        elif setting.key is not None and setting.key not in table.settings:
            actual = len(suite.seeds) if setting.key == "n_seeds" else _lookup(dump, setting.key)
            if actual is _MISSING or not same_value(actual, setting.value):
                out.append(f"{setting.key}: {show_value(setting.value)} in the authors' code ({setting.source}), "
                           f"{show_value(actual)} here")
    return out + declared + [f"always: {text}" for text in table.differences]


def authors_table(table: Table, suite: Suite) -> pd.DataFrame:
    """The authors' settings, each with its source and what this run has."""
    dump = suite.model_dump(mode="json")
    here = []
    for s in table.authors:
        if s.deviation:
            here.append(f"deviation: {s.deviation}")
        elif s.key is None:
            here.append(f"built in: {s.builtin}")
        else:
            actual = len(suite.seeds) if s.key == "n_seeds" else _lookup(dump, s.key)
            same = actual is not _MISSING and same_value(actual, s.value)
            here.append(f"`{s.key}` = {show_value(actual)}" + ("" if same else " (differs)"))
    return pd.DataFrame({"setting": [s.name for s in table.authors],
                         "authors": [show_value(s.value) for s in table.authors],
                         "source": [s.source for s in table.authors], "this run": here})


def protocol_suite(name: str) -> Suite | None:
    """The shipped protocol suite of that name, read as data (None where this install has no suites/papers)."""
    path = PROTOCOL_SUITES / f"{name}.yaml"
    return read_suite(path) if path.is_file() else None


def reproduce_folder(folder: Path, alpha: float = 0.05) -> Reproduction:
    """Compare a finished (or partial) results folder with the paper table its suite reproduces.

    Raises ReferenceError (a UserError) when the suite has no reference data.
    """
    folder = Path(folder)
    suite, _, trials = load_run(folder)
    paper, table = table_for_suite(suite.name)
    frame = judge(table, suite, trials, alpha)
    over = over_training(table, suite, trials, folder / "curves.parquet", alpha)
    return Reproduction(paper, table, suite, folder, frame, deviations(table, suite, protocol_suite(suite.name)),
                        over)


# --- output --------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _ours_text(r: pd.Series) -> str:
    if not r["ours_n"]:
        return "-"
    half = f" ± {_num(r['ours_ci95'])}" if math.isfinite(r["ours_ci95"]) else ""
    return f"{_num(r['ours_mean'])}{half} (n = {int(r['ours_n'])})"


def _interval(r: pd.Series) -> str:
    if not (math.isfinite(r["diff_low"]) and math.isfinite(r["diff_high"])):
        return "-"
    margin = f" (± {_num(r['margin'])})" if math.isfinite(r["margin"]) else " (no margin)"
    return f"[{_num(r['diff_low'])}, {_num(r['diff_high'])}]{margin}"


def value_table(rep: Reproduction) -> pd.DataFrame:
    v = rep.frame[rep.frame["kind"] == "value"]
    return pd.DataFrame({
        "row": v["item"], "metric": v["metric"], "paper": v["paper"], "ours (mean ± 95% CI)": [_ours_text(r) for _, r in v.iterrows()],
        "ours - paper": v["diff"].map(_num), "90% interval (margin)": [_interval(r) for _, r in v.iterrows()],
        "detectable at 80%": v["min_detectable"].map(_num), "test": v["test"], "p": v["p_value"].map(_num),
        "verdict": v["verdict"], "note": v["note"]})


def claim_table(rep: Reproduction) -> pd.DataFrame:
    c = rep.frame[rep.frame["kind"] == "claim"]
    return pd.DataFrame({"claim": c["item"], "metric": c["metric"], "cells": c["cell"], "test": c["test"],
                         "p": c["p_value"].map(_num), "p (Holm)": c["p_adjusted"].map(_num), "verdict": c["verdict"],
                         "note": c["note"]})


def over_training_table(rep: Reproduction) -> pd.DataFrame | None:
    """Item x step verdicts (first letters) and the step from which each stays fixed."""
    if rep.over is None:
        return None
    short = rep.over.verdicts.apply(lambda col: col.map(_abbreviation))
    short.columns = [str(step) for step in short.columns]
    short.insert(0, "fixed from step", rep.over.stable_from)
    return short.reset_index()


def _abbreviation(verdict: str) -> str:
    return {LOW_QUALITY: "L", NOT_RUN: "-", "-": "-"}.get(verdict, verdict[:1].upper())


def _counts(series: pd.Series) -> str:
    counts = series.value_counts()
    return ", ".join(f"{n} {v}" for v, n in counts.items()) or "none"


def header(rep: Reproduction) -> list[str]:
    s = rep.suite
    seeds = len(s.seeds)
    return [
        f"paper: {rep.paper.citation}" + (f" ({rep.paper.url})" if rep.paper.url else ""),
        f"table: {rep.table.title}",
        f"run: suite `{s.name}` (hash `{s.suite_hash()}`), {len(s.cells())} cells x {seeds} seeds, "
        f"{s.budget.steps} steps (results folder `{rep.folder.name}/`)",
        "verdicts (alpha 0.05): a value `agrees` only when equivalence is shown (the 90% interval of ours - paper inside "
        "the metric's margin: TOST), `differs` when the difference is significant and outside the margin, else "
        "`inconclusive` (with the difference this run could detect at 80% power); a one-run paper value is judged "
        "through a prediction interval. A claim `holds` when its one-sided test (exact permutation or sign test for "
        "discrete or tied values, Welch t otherwise) is significant after Holm's correction over the table's claims, "
        "`fails` when the opposite one is; a coverage claim below the table's quality floor is "
        "`inconclusive (low quality)`",
        f"values: {_counts(value_table(rep)['verdict'])}; claims: {_counts(claim_table(rep)['verdict'])}",
    ]


def to_markdown(rep: Reproduction) -> str:
    lines = [f"# Reproduction: {rep.paper.key}, {rep.table.id}", ""]
    lines += [f"- {item}" for item in header(rep)] + [""]
    if rep.table.rows:
        lines += ["## The paper's rows", "", value_table(rep).to_markdown(index=False), ""]
    if rep.table.claims:
        lines += ["## The paper's claims", "", claim_table(rep).to_markdown(index=False), ""]
    over = over_training_table(rep)
    if over is not None:
        lines += ["## Verdicts over training", "",
                  "Each verdict recomputed from curves.parquet at every evaluation step (A agrees, D differs, "
                  "H holds, F fails, I inconclusive, L inconclusive (low quality)); `fixed from step`: the first "
                  "step from which it no longer changes.", "", over.to_markdown(index=False), ""]
        if (rep.folder / "plots" / OVER_TRAINING_PLOT).is_file():
            lines += [f"![verdicts over training](plots/{OVER_TRAINING_PLOT})", ""]
    lines += ["## Deviations from the paper's protocol", ""]
    lines += [f"- {d}" for d in rep.deviations] or ["- none"]
    lines += ["", "## The paper's protocol", "", rep.table.protocol, ""]
    if rep.table.authors:
        lines += ["## The authors' settings", "", authors_table(rep.table, rep.suite).to_markdown(index=False), ""]
    return "\n".join(lines)


def to_html(rep: Reproduction) -> str:
    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, classes="board", border=0, escape=True)

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Reproduction: {html.escape(rep.table.id)}</title><style>{CSS}</style></head><body>",
             f"<h1>Reproduction: {html.escape(rep.paper.key)}, {html.escape(rep.table.id)}</h1>",
             '<ul class="header">' + "".join(f"<li>{inline_code(h)}</li>" for h in header(rep)) + "</ul>"]
    if rep.table.rows:
        parts += ["<h2>The paper's rows</h2>", table(value_table(rep))]
    if rep.table.claims:
        parts += ["<h2>The paper's claims</h2>", table(claim_table(rep))]
    over = over_training_table(rep)
    if over is not None:
        parts += ["<h2>Verdicts over training</h2>", table(over)]
        if (rep.folder / "plots" / OVER_TRAINING_PLOT).is_file():
            parts.append(f'<img src="plots/{OVER_TRAINING_PLOT}" alt="verdicts over training">')
    parts += ["<h2>Deviations from the paper's protocol</h2>",
              "<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in rep.deviations or ["none"]) + "</ul>",
              "<h2>The paper's protocol</h2>", f"<p>{html.escape(rep.table.protocol)}</p>"]
    if rep.table.authors:
        parts += ["<h2>The authors' settings</h2>", table(authors_table(rep.table, rep.suite))]
    parts += ["</body></html>", ""]
    return "\n".join(parts)


def write_reproduction(rep: Reproduction) -> list[Path]:
    """reproduce.csv (full precision), .md and .html in the results folder, each written atomically."""
    csv, md, page = (rep.folder / f"reproduce.{ext}" for ext in ("csv", "md", "html"))
    written = []
    if rep.over is not None:
        written.append(plot_over_training(rep.over, rep.folder / "plots" / OVER_TRAINING_PLOT,
                                          f"{rep.paper.key} {rep.table.id}"))
    atomic_write(csv, lambda tmp: rep.frame.to_csv(tmp, index=False))
    atomic_write_text(md, to_markdown(rep))
    atomic_write_text(page, to_html(rep))
    return [md, csv, page] + written


_STYLE = {"agrees": "green", "holds": "green", "differs": "red", "fails": "red", INCONCLUSIVE: "yellow",
          LOW_QUALITY: "yellow"}


def render(rep: Reproduction) -> Group:
    """The compact terminal version: row x metric and claims, with their verdicts; deviations counted."""
    parts: list = [Text(f"{rep.paper.key} {rep.table.id}: {rep.table.title}", style="bold")]
    if rep.table.rows:
        t = RichTable(title_justify="left", box=None, pad_edge=False)
        for col in ("row", "metric", "paper", "ours", "verdict"):
            t.add_column(col)
        v = value_table(rep)
        for _, r in v.iterrows():
            t.add_row(Text(str(r["row"])), Text(str(r["metric"])), Text(str(r["paper"])),
                      Text(str(r["ours (mean ± 95% CI)"])), Text(str(r["verdict"]), style=_STYLE.get(r["verdict"], "")))
        parts.append(t)
    if rep.table.claims:
        t = RichTable(box=None, pad_edge=False)
        for col in ("claim", "p", "verdict"):
            t.add_column(col)
        for _, r in claim_table(rep).iterrows():
            t.add_row(Text(str(r["claim"])), Text(str(r["p"])), Text(str(r["verdict"]), style=_STYLE.get(r["verdict"], "")))
        parts.append(t)
    parts.append(Text(f"{len(rep.deviations)} deviation(s) from the paper's protocol (listed in reproduce.md)"))
    return Group(*parts)
