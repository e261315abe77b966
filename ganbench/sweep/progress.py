"""The live view of a sweep (rich): one line per cell with its trials done/pruned/failed and
best value, and an overall bar with the ETA and the best so far.

"best" is the best single complete trial. In a search it is the studies' best (what Optuna's ``best_value``
reports: search trials only, labelled ``study best``); confirmation runs, on other seeds, never change it."""
from __future__ import annotations

import math
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ganbench.metrics import metric
from ganbench.status import Status


class SweepProgress:
    """Counts outcomes per cell and overall, and tracks the best value of the primary metric (a search's: of its
    search trials, the studies' best)."""

    def __init__(self, plan, primary: str, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.primary = metric(primary)
        self.counts: Counter = Counter()
        self.cell_counts: dict[str, Counter] = {}
        self.cell_best: dict[str, float] = {}
        self.running = 0
        self.best: tuple[float, str] | None = None
        self.best_name = "study best" if getattr(plan, "search", None) is not None else "best"
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=self.console, transient=False,
        )
        self.overall = self.progress.add_task("[bold]all trials", total=plan.total, completed=plan.already_done,
                                              status="")
        self.cells: dict[str, int] = {}
        self.per_cell = plan.per_cell

    def __enter__(self) -> "SweepProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def started(self, job) -> None:
        self.running += 1
        if job.label not in self.cells:
            self.cells[job.label] = self.progress.add_task(job.label, total=self.per_cell, status="")
            self.cell_counts[job.label] = Counter()
        self._refresh(job.label)

    def finished(self, job, row: dict) -> None:
        self.running -= 1
        status = row["status"]
        self.counts[status] += 1
        self.cell_counts[job.label][status] += 1
        value = row.get(self.primary.name, math.nan)
        label = f"{row['cell']} seed={row['seed']}" + (f" #{row['search_trial']}" if "search_trial" in row else "")
        counts = row.get("phase") != "confirm"  # a confirmation run is no study's trial
        if counts and status == Status.COMPLETE and isinstance(value, float) and math.isfinite(value):
            if self.best is None or self.primary.better(value, self.best[0]):
                self.best = (value, label)
            if job.label not in self.cell_best or self.primary.better(value, self.cell_best[job.label]):
                self.cell_best[job.label] = value
        shown = f"{self.primary.name}={value:.4g}" if isinstance(value, float) else ""
        style = {Status.COMPLETE: "green", Status.DIVERGED: "yellow", Status.PRUNED: "cyan"}.get(status, "red")
        note = f" ({row['message'].splitlines()[0]})" if status != Status.COMPLETE and row.get("message") else ""
        phase = f"[dim]{row['phase']}[/] " if row.get("phase") not in (None, "grid") else ""
        self.console.print(f"[{style}]{status:>8}[/] {phase}{label} {shown} {row.get('wall_s', 0):.1f}s{note}")
        self.progress.advance(self.overall)
        self.progress.advance(self.cells[job.label])
        self._refresh(job.label)

    def _refresh(self, label: str) -> None:
        self.progress.update(self.overall, status=self._status(self.counts, self.best and self.best[0]) +
                             (f" ({self.best[1]})" if self.best else ""))
        c = self.cell_counts[label]
        self.progress.update(self.cells[label], status=self._status(c, self.cell_best.get(label)))

    def _status(self, c: Counter, best: float | None) -> str:
        text = f"done {c[Status.COMPLETE]}"
        for name in (Status.PRUNED, Status.DIVERGED, Status.FAILED):
            if c[name]:
                text += f" {name} {c[name]}"
        if c is self.counts:
            text = f"running {self.running} | " + text
        if best is not None:
            text += f" | {self.best_name} {self.primary.name} {best:.4g}"
        return text
