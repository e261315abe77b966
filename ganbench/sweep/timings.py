"""How long each fixed part of a `bench.py run` took: kept in run.json under ``timings``, printed by --timings.

ray_start_s       starting (or joining) Ray, after the suite's checks and data
first_dispatch_s  from the start of the run until the first trial started on a worker (null: none ran)
train_s           from that start until the last result came back
report_s          the tables: leaderboard.csv/.md/.html (and .tex/.jsonl), a search's budget views
plots_s           the plots, rendered while the tables are written (so report_s + plots_s may exceed their wall)
total_s           the whole run, from its start to the last file written
"""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from ganbench.results import read_run_info, write_run_info

KEYS = ("ray_start_s", "first_dispatch_s", "train_s", "report_s", "plots_s", "total_s")


class RunClock:
    """Marks taken during one run; ``timings()`` turns them into the run.json record."""

    def __init__(self) -> None:
        self.started = time.time()  # wall clock: workers' started_at (another process) compares with it
        self.ray_start_s = 0.0
        self.first_start: float | None = None  # time.time() when the first trial started on a worker
        self.last_result: float | None = None
        self.report: dict[str, float] = {}  # report_s and plots_s, filled by write_report

    def trial_done(self, row: dict) -> None:
        """Note a result: its worker's start time (a row of a lost worker has none) and its arrival."""
        self.last_result = time.time()
        if row.get("started_at"):
            started = datetime.fromisoformat(row["started_at"]).timestamp()
            self.first_start = started if self.first_start is None else min(self.first_start, started)

    def timings(self) -> dict[str, float | None]:
        first = self.first_start
        return {
            "ray_start_s": self.ray_start_s,
            # a worker's clock a little ahead of the driver's must not make a negative wait
            "first_dispatch_s": None if first is None else max(0.0, first - self.started),
            "train_s": 0.0 if first is None or self.last_result is None else max(0.0, self.last_result - first),
            "report_s": self.report.get("report_s", 0.0),
            "plots_s": self.report.get("plots_s", 0.0),
            "total_s": time.time() - self.started,
        }


def record_timings(folder: Path, timings: dict) -> None:
    """Add ``timings`` to the folder's run.json, every other key kept."""
    write_run_info(folder, {**(read_run_info(folder) or {}), "timings": timings})


def timings_line(timings: dict) -> str:
    """One line: 'timings: ray_start 4.5 s, first_dispatch 7.9 s, ...'."""
    parts = [f"{key.removesuffix('_s')} {'-' if timings.get(key) is None else f'{timings[key]:.1f} s'}" for key in KEYS]
    return "timings: " + ", ".join(parts)
