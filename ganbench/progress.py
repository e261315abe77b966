"""The live view of a sweep: trials done/running/failed and the best so far (rich)."""
from __future__ import annotations

import math

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ganbench.metrics import metric


class SweepProgress:
    """Counts trial outcomes and tracks the best value of the primary metric."""

    def __init__(self, total: int, already_done: int, primary: str, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.primary = metric(primary)
        self.counts = {"complete": 0, "diverged": 0, "pruned": 0, "failed": 0}
        self.running = 0
        self.best: tuple[float, str] | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
            console=self.console, transient=False,
        )
        self.task = self.progress.add_task("trials", total=total, completed=already_done, status="")

    def __enter__(self) -> "SweepProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def started(self, n: int = 1) -> None:
        self.running += n
        self._refresh()

    def finished(self, row: dict) -> None:
        self.running -= 1
        status = row["status"]
        self.counts[status] = self.counts.get(status, 0) + 1
        value = row.get(self.primary.name, math.nan)
        label = f"{row['cell']} seed={row['seed']}"
        if status == "complete" and isinstance(value, float) and math.isfinite(value):
            if self.best is None or self.primary.better(value, self.best[0]):
                self.best = (value, label)
        shown = f"{self.primary.name}={value:.4g}" if isinstance(value, float) else ""
        style = {"complete": "green", "diverged": "yellow", "pruned": "cyan"}.get(status, "red")
        note = f" ({row['message'].splitlines()[0]})" if status != "complete" and row.get("message") else ""
        self.console.print(f"[{style}]{status:>8}[/] {label} {shown} {row.get('wall_s', 0):.1f}s{note}")
        self.progress.advance(self.task)
        self._refresh()

    def _refresh(self) -> None:
        c = self.counts
        text = f"running {self.running} | done {c['complete']} diverged {c['diverged']} failed {c['failed']}"
        if c["pruned"]:
            text += f" pruned {c['pruned']}"
        if self.best:
            text += f" | best {self.primary.name} {self.best[0]:.4g} ({self.best[1]})"
        self.progress.update(self.task, status=text)
