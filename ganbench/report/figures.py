"""What every plot shares: the folder's frames loaded once (``Frames``), legend labels and colours, one style,
and saving a figure atomically. Importing it selects matplotlib's Agg backend (files only).

Statistics are over the seeded runs (grid or confirmation phase, status complete); Optuna's
search-phase trials are left out, as in the leaderboard.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on workers or CI
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ganbench.registry import METRICS  # noqa: E402
from ganbench.report.data import dataset_records  # noqa: E402
from ganbench.results import CURVE_COLUMNS, ResultsStore, Status, atomic_write  # noqa: E402
from ganbench.suite import Suite, read_suite  # noqa: E402

PLOTS_DIR = "plots"
DPI = 120
#: one look for every figure (applied with rc_context, so importing this module changes nothing)
STYLE = {
    "figure.facecolor": "white", "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
    "axes.spines.right": False, "figure.constrained_layout.use": True, "font.size": 9, "axes.titlesize": 10,
    "legend.fontsize": 8, "legend.frameon": False,
}
#: short names for long axes in legends
ABBREV = {"d_steps_per_g_step": "k", "g_steps_per_d_step": "m"}


@dataclass
class Frames:
    """Everything the plots read, loaded once."""

    folder: Path
    suite: Suite
    trials: pd.DataFrame  # every row of trials.parquet
    seeded: pd.DataFrame  # the runs to aggregate over seeds: not search phase, status complete
    curves: pd.DataFrame  # curves of the seeded runs, with their cell label
    labels: dict[str, str]  # cell label -> short label for legends
    colors: dict[str, tuple]  # cell label -> one colour in every figure
    datasets: dict[str, dict]  # dataset name -> what run.json recorded of it (report.data)

    def cells(self) -> list[str]:
        """Cell labels with at least one seeded run, in grid order."""
        present = set(self.seeded["cell"])
        return [c for c in self.labels if c in present]


def load_frames(folder: Path) -> Frames:
    folder = Path(folder)
    suite = read_suite(folder / "suite.yaml")
    store = ResultsStore(folder)
    trials, curves = store.trials_frame(), store.curves_frame()
    if trials.empty:
        trials = pd.DataFrame(columns=["trial_id", "cell", "status", "seed"])
    trials = trials.copy()
    if "phase" not in trials:  # folders from before the search phase existed
        trials["phase"] = "grid"
    if "dataset" not in trials:  # a single dataset may sit in params instead of the grid
        trials["dataset"] = suite.params.get("dataset")
    seeded = trials[(trials["phase"] != "search") & (trials["status"] == Status.COMPLETE)]
    curves = curves.merge(seeded[["trial_id", "cell"]], on="trial_id") if len(curves) else \
        pd.DataFrame(columns=CURVE_COLUMNS + ["cell"])
    cells = [suite.cell_label(c) for c in suite.cells()]
    return Frames(folder, suite, trials, seeded, curves, short_labels(suite), palette(cells),
                  dataset_records(folder, suite))


def short_labels(suite: Suite) -> dict[str, str]:
    """Legend labels without the axes that have one value: 'loss=hinge d_steps_per_g_step=2 ...' -> 'loss=hinge k=2'.

    In a list of grids most cells carry filled-in values ('r1=0.0' where a grid did not set r1): an axis
    part is shown only where it differs from the value most cells have, unless no value holds a majority.
    """
    cells = suite.cells()
    varying = [a for a in suite.axes() if len(suite.axis_values(a)) > 1]
    usual: dict[str, Any] = {}
    if len(suite.grids()) > 1:
        for axis in varying:
            values = [repr(c[axis]) for c in cells]
            common = max(set(values), key=values.count)
            if values.count(common) * 2 > len(values):
                usual[axis] = common
    out = {}
    for cell in cells:
        parts = [f"{ABBREV.get(a, a)}={cell[a]}" for a in varying if usual.get(a) != repr(cell[a])]
        out[suite.cell_label(cell)] = " ".join(parts) or suite.cell_label(cell)
    return out


def palette(cells: list[str]) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10" if len(cells) <= 10 else "tab20" if len(cells) <= 20 else "viridis")
    n = max(len(cells) - 1, 1)
    return {c: cmap(i if len(cells) <= 20 else i / n) for i, c in enumerate(cells)}


def save_figure(fig, path: Path) -> Path:
    # atomic: a report server reading plots/ never sees half a PNG
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    finally:
        plt.close(fig)  # pyplot keeps every open figure alive: a long report would leak memory
    return path


def finite(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").dropna()


def metric_label(name: str) -> str:
    unit = METRICS.get(name).unit if name in METRICS.names() else ""
    return f"{name} ({unit})" if unit else name


def add_legend(ax, n: int) -> None:
    # many cells: the legend goes beside the axes so it never hides the lines
    if n > 6:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend()
