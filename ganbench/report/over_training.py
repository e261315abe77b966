"""Verdicts over training: every value and claim of a table judged again at each evaluation step, no rerun.

A verdict read at one budget may flip at another. From curves.parquet (trial, step, metric, value) this
builds, per evaluation step, the same one-row-per-trial frame the final verdicts read and judges it
with the same rules (``judge.judge``). A metric that curves.parquet does not record per step (e.g. a
config's Jacobian spectral radius) takes its final value at every step. A run with more than
``MAX_STEPS`` evaluations is judged at that many, evenly spaced, the last included. ``stable_from`` is the first
step from which an item's verdict no longer changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ganbench.references import Table
from ganbench.report.judge import judge
from ganbench.results import read_table
from ganbench.suite import Suite

__all__ = ["OverTraining", "over_training"]

#: evaluation steps judged at most (evenly spaced over the run, the last included)
MAX_STEPS = 25


@dataclass
class OverTraining:
    #: one row per item (value row x metric, or claim), one column per evaluation step: its verdict there
    verdicts: pd.DataFrame
    #: item -> the first step from which its verdict stays what it is at the last step
    stable_from: pd.Series


def _item_keys(frame: pd.DataFrame) -> pd.Index:
    return pd.Index([f"{r.item} · {r.metric}" if r.kind == "value" else f"claim: {r.paper}"
                     for r in frame.itertuples()], name="item")


def per_step_trials(trials: pd.DataFrame, curves: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """step -> one row per trial (cell, seed and metric columns) with the values recorded at that step."""
    curves = curves[curves["trial_id"].isin(trials["trial_id"])]
    wide = curves.pivot_table(index=["step", "trial_id"], columns="metric", values="value", aggfunc="last")
    keep = [c for c in trials.columns if c not in wide.columns]
    out = {}
    for step, frame in wide.groupby(level="step"):
        frame = frame.droplevel("step").reset_index()
        out[int(step)] = trials[keep].merge(frame, on="trial_id", how="inner")
    return out


def over_training(table: Table, suite: Suite, trials: pd.DataFrame, curves_path: Path,
                  alpha: float = 0.05) -> OverTraining | None:
    """The table judged at every evaluation step of the run (None when the folder has no curves)."""
    if trials.empty or not Path(curves_path).is_file():
        return None
    steps = per_step_trials(trials, read_table(Path(curves_path)))
    if not steps:
        return None
    columns = {}
    ordered = sorted(steps)
    # at most MAX_STEPS columns, evenly spaced, the last always kept: a 500-step Dirac run evaluated every step
    # would otherwise be judged 500 times (~50 s) into a table nobody can read
    keep = sorted({ordered[round(i * (len(ordered) - 1) / (MAX_STEPS - 1))] for i in range(MAX_STEPS)}) \
        if len(ordered) > MAX_STEPS else ordered
    for step, frame in ((s, steps[s]) for s in keep):
        judged = judge(table, suite, frame, alpha)
        columns[step] = pd.Series(judged["verdict"].to_numpy(), index=_item_keys(judged))
    verdicts = pd.DataFrame(columns)
    return OverTraining(verdicts, verdicts.apply(_stable_from, axis=1))


def _stable_from(row: pd.Series) -> int:
    final = row.iloc[-1]
    changed = [step for step, verdict in row.items() if verdict != final]
    later = [step for step in row.index if not changed or step > max(changed)]
    return int(later[0])


OVER_TRAINING_PLOT = "verdicts_over_training.png"
#: verdict -> (colour, the order on the legend)
_COLOURS = {"agrees": "#2e7d32", "holds": "#2e7d32", "differs": "#c62828", "fails": "#c62828",
            "inconclusive": "#f9a825", "inconclusive (low quality)": "#ef6c00"}


def plot_over_training(over: OverTraining, path: Path, title: str) -> Path:
    """Items x evaluation steps, each square coloured by its verdict there (grey: not judged)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ganbench.report.plots import plt, save_figure

    words = list(dict.fromkeys(_COLOURS))
    codes = over.verdicts.apply(lambda col: col.map(lambda v: words.index(v) if v in words else len(words)))
    height = 0.8 + 0.28 * len(codes)
    fig, ax = plt.subplots(figsize=(min(4 + 0.35 * codes.shape[1], 16), height))
    ax.imshow(codes.to_numpy(), aspect="auto", interpolation="nearest", vmin=0, vmax=len(words),
              cmap=ListedColormap([_COLOURS[w] for w in words] + ["#bdbdbd"]))
    ax.set_yticks(range(len(codes)), labels=codes.index, fontsize=7)
    ticks = range(0, codes.shape[1], max(1, codes.shape[1] // 10))
    ax.set_xticks(ticks, labels=[str(codes.columns[i]) for i in ticks], fontsize=7)
    ax.set_xlabel("evaluation step")
    ax.set_title(f"{title}: verdicts over training", fontsize=9)
    shown = {w: _COLOURS[w] for w in words if (over.verdicts == w).to_numpy().any()}
    ax.legend(handles=[Patch(color=c, label=w) for w, c in shown.items()], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path)
