"""Plots from a results folder alone, never retraining: learning curves, the equilibrium
D = 1/2, the effect of k, mode coverage, samples as training goes, throughput; for image data the
image metrics over training and, per cell, real images beside generated ones and the strip over training.

This module draws them all (``PLOTS``, ``write_plots``; ``BackgroundPlots`` in forked processes); the figures
live by job in report.curve_plots (what was logged over training), report.final_plots (each cell's final
metrics), report.sample_plots (what the generators made) and report.figures (what they share: the frames,
labels, colours, style, saving), whose names stay importable from here.

Statistics are over the seeded runs (grid or confirmation phase, status complete); Optuna's
search-phase trials are left out, as in the leaderboard.
"""
from __future__ import annotations

import multiprocessing as mp
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

from ganbench.report.contrasts import EFFECTS_PLOT, effects_figure
from ganbench.report.curve_plots import (CURVE_METRICS, IMAGE_CURVES, plot_curves, plot_dirac, plot_equilibrium,
                                         plot_image_metrics)
from ganbench.report.figures import (ABBREV, DPI, PLOTS_DIR, STYLE, Frames, load_frames, plt, save_figure,
                                     short_labels)
from ganbench.report.final_plots import K, objective_metric, plot_k_effect, plot_modes, plot_throughput
from ganbench.report.sample_plots import IMAGE_PANELS, SAMPLE_COLUMNS, plot_image_samples, plot_samples

__all__ = [
    "ABBREV", "CURVE_METRICS", "DPI", "EFFECTS_PLOT", "IMAGE_CURVES", "IMAGE_PANELS", "K", "PLOTS", "PLOTS_DIR",
    "PLOT_WORKERS", "SAMPLE_COLUMNS", "STYLE", "BackgroundPlots", "Frames", "load_frames", "objective_metric",
    "plot_curves", "plot_dirac", "plot_equilibrium", "plot_image_metrics", "plot_image_samples", "plot_k_effect",
    "plot_modes", "plot_samples", "plot_throughput", "plt", "save_figure", "short_labels", "write_plots",
]

# --- all of them ------------------------------------------------------------------------

#: every figure, by file name, in the order the HTML page shows them; each returns None, drawing nothing, without data
PLOTS: dict[str, Callable[[Frames, Path], Path | None]] = {
    **{f"curves_{m}.png": (lambda f, path, m=m: plot_curves(f, m, path)) for m in CURVE_METRICS},
    "equilibrium.png": plot_equilibrium, "k_effect.png": plot_k_effect, "modes.png": plot_modes,
    "samples.png": plot_samples, "image_metrics.png": plot_image_metrics, "image_samples.png": plot_image_samples,
    "throughput.png": plot_throughput, "dirac.png": plot_dirac,
    # report.contrasts: each axis's main effect on the headline metrics
    EFFECTS_PLOT: lambda f, path: None if (fig := effects_figure(f)) is None else save_figure(fig, path),
}
#: processes that render the plots while the caller writes its tables (matplotlib holds the GIL: threads would not help)
PLOT_WORKERS = 2


def write_plots(folder: Path, names: Sequence[str] | None = None) -> list[Path]:
    """Write every plot (or those of ``names``, keys of PLOTS) whose data the folder holds into folder/plots/;
    return the paths written."""
    f = load_frames(folder)
    out = Path(folder) / PLOTS_DIR
    written = []
    with plt.rc_context(STYLE):
        for name in PLOTS if names is None else names:
            path = PLOTS[name](f, out / name)
            if path is not None:
                written.append(path)
    return written


class BackgroundPlots:
    """``write_plots`` in ``workers`` forked processes, started on creation; ``paths()`` waits for them.

    ``workers`` defaults to PLOT_WORKERS. A fork starts at once (no second import of matplotlib, pandas, torch)
    but is safe only from a process with one thread: with others running (a Ray driver's), or with ``workers=0``,
    the plots are drawn here, in ``paths()``. ``elapsed_s`` is the wall time the plots took, once ``paths()`` returns.
    """

    def __init__(self, folder: Path, workers: int | None = None) -> None:
        workers = PLOT_WORKERS if workers is None else workers
        self.folder = Path(folder)
        self.elapsed_s = 0.0
        self._started = time.monotonic()  # system-wide: the workers' clocks agree with it
        self._pool: ProcessPoolExecutor | None = None
        if workers >= 1 and threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
            self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
            names = list(PLOTS)
            self._shares = [self._pool.submit(_timed_plots, self.folder, names[i::workers]) for i in range(workers)]
        self.forked = self._pool is not None

    def paths(self) -> list[Path]:
        if self._pool is None:
            self._started = time.monotonic()
            written, finished = _timed_plots(self.folder, list(PLOTS))
            self.elapsed_s = finished - self._started
            return written
        try:
            shares = [share.result() for share in self._shares]
        finally:
            self.close()
        self.elapsed_s = max(finished for _, finished in shares) - self._started
        order = list(PLOTS)
        return sorted((path for written, _ in shares for path in written), key=lambda path: order.index(path.name))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "BackgroundPlots":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _timed_plots(folder: Path, names: list[str]) -> tuple[list[Path], float]:
    """write_plots, and the time.monotonic() when it finished (in a worker: when that worker's share was done)."""
    return write_plots(folder, names), time.monotonic()
