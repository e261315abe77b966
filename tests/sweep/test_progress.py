"""The live view's "best": the best single trial; in a search the studies' best, never a confirmation run's."""
from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from ganbench.status import Status
from ganbench.sweep.progress import SweepProgress


def view(search: bool) -> SweepProgress:
    plan = SimpleNamespace(total=3, already_done=0, per_cell=3, search=object() if search else None)
    return SweepProgress(plan, "reverse_kl", Console(file=io.StringIO(), width=200))


def finish(progress: SweepProgress, value: float, phase: str, status: str = Status.COMPLETE) -> None:
    job = SimpleNamespace(label="loss=minimax")
    progress.started(job)
    progress.finished(job, {"status": status, "reverse_kl": value, "cell": job.label, "seed": 0, "phase": phase,
                            "wall_s": 1.0, **({"search_trial": 0} if phase == "search" else {})})


def test_a_searchs_best_is_the_studies_best_and_confirmation_runs_leave_it():
    progress = view(search=True)
    finish(progress, 0.5, "search")
    finish(progress, 0.9, "search", Status.PRUNED)
    finish(progress, 0.1, "confirm")  # better, but on another seed: no study's trial
    assert progress.best[0] == 0.5 and progress.cell_best["loss=minimax"] == 0.5
    assert "study best reverse_kl 0.5" in progress._status(progress.counts, progress.best[0])


def test_a_grids_best_is_its_best_trial():
    progress = view(search=False)
    finish(progress, 0.5, "grid")
    finish(progress, 0.2, "grid")
    assert progress.best[0] == 0.2
    assert "| best reverse_kl 0.2" in progress._status(progress.counts, progress.best[0])
