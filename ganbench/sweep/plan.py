"""What to run next: the fixed grid of a plain suite, or each cell's Optuna study then its confirmation runs.

A plan hands the runner one Job at a time (``next_job``) and learns each outcome
(``finished``); the runner keeps the cluster full without knowing which kind it drives.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from typing import TYPE_CHECKING, Any, Optional

from ganbench.registry import LOSSES
from ganbench.results import Status, finished_ids
from ganbench.search.schema import study_name
from ganbench.suite import Suite
from ganbench.sweep.jobs import Job
from ganbench.training.loop import samples_per_iteration
from ganbench.training.stacked import batch_key

if TYPE_CHECKING:
    from ganbench.sweep.studies import Studies


class GridPlan:
    """Every (cell, seed) of the grid once; finished trials are skipped."""

    def __init__(self, suite: Suite, rows: list[dict], workers: int = 1):
        finished = finished_ids(rows)
        self.suite = suite
        self.per_cell = len(suite.seeds)
        self.total = len(suite.cells()) * self.per_cell
        configs = [(cell, suite.config(cell, seed)) for cell in suite.cells() for seed in suite.seeds]
        jobs = [Job(cfg, cfg.config_hash(), suite.cell_label(cell), {"phase": "grid"}) for cell, cfg in configs]
        todo = [j for j in jobs if j.trial_id not in finished]
        self.already_done = self.total - len(todo)
        # longest first (LPT): a long batch or a k = 5 trial started last would leave the other workers idle
        self.todo = sorted(_batches(todo, suite.execution.batch_trials, workers), key=_work, reverse=True)
        self.todo.reverse()

    def next_job(self) -> Optional[Job]:
        return self.todo.pop() if self.todo else None

    def annotate(self, job: Job, row: dict) -> None:
        pass

    def finished(self, job: Job, row: dict) -> None:
        pass


def _batches(jobs: list[Job], size: int, workers: int = 1) -> list[Job]:
    """Up to ``size`` jobs that share their stacked shapes and loop (``batch_key``) as one batch job
    (stacked training), in the order they came; size 1: as they are. Jobs of different cells batch
    together when only per-trial arithmetic tells them apart (loss, learning rates, betas, R1/R2
    weights, seed); each member keeps its own cell, row and pruning hook.

    A group is cut into near-equal batches, and into at least ``workers`` of them when it has that
    many jobs: one batch of every trial of a shape would keep one worker busy while the others idle.
    """
    if size == 1:
        return jobs
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        groups.setdefault(batch_key(job.cfg), []).append(job)
    out: list[Job] = []
    for group in groups.values():
        parts = min(len(group), max(math.ceil(len(group) / size), workers))
        bounds = [round(i * len(group) / parts) for i in range(parts + 1)]
        for lo, hi in zip(bounds, bounds[1:]):
            chunk = group[lo:hi]
            out.append(chunk[0] if len(chunk) == 1 else Job(chunk[0].cfg, "+".join(j.trial_id for j in chunk),
                                                            chunk[0].label, members=chunk))
    return out


def _work(job: Job) -> int:
    """A job's training work in examples drawn (steps x examples per iteration x trials): a proxy for its
    time that needs no model built; the sort is stable, so jobs of equal work keep the grid's order."""
    cfg = job.cfg
    return cfg.steps * samples_per_iteration(cfg, LOSSES.get(cfg.loss)) * max(1, len(job.members))


def search_trial_id(study: str, number: int, config_hash: str) -> str:
    """Two study trials may sample the same config; each keeps its own row."""
    return hashlib.sha256(f"{study}#{number}#{config_hash}".encode()).hexdigest()[:16]


class SearchPlan:
    """Each cell's study asks for ``n_trials`` trials (round-robin over cells), then its best
    parameters are re-run on every suite seed (phase 'confirm').

    With ``execution.batch_trials`` M > 1 a cell asks up to M trials at once and those that share
    their stacked shapes train as one batch (a searched k splits them by k), as do its confirmation runs
    (a search's trials wait on their study's answers, so a search batches within a cell).
    """

    def __init__(self, suite: Suite, studies: "Studies", rows: list[dict]):
        assert suite.search is not None
        self.suite, self.studies, self.search = suite, studies, suite.search
        self.cells = {suite.cell_label(cell): cell for cell in suite.cells()}
        recorded = {(r["cell"], int(r["search_trial"])): r for r in rows
                    if r.get("phase") == "search" and r["status"] in set(Status)}
        self.retried = studies.recover(recorded)
        self.finished_ids = finished_ids(rows)
        self.counted = {label: studies.counted(label) for label in self.cells}
        self.running: Counter = Counter()
        self.confirm: list[Job] = []
        self.asked: list[Job] = []  # asked together, waiting for a free slot (batches of another shape)
        self.batch = suite.execution.batch_trials
        self.confirmed: set[str] = set()
        self._order = itertools.cycle(list(self.cells))
        self.per_cell = self.search.n_trials + len(suite.seeds)
        self.total = self.per_cell * len(self.cells)
        self.already_done = sum(min(n, self.search.n_trials) for n in self.counted.values())
        for label in self.cells:
            self._maybe_confirm(label)

    def next_job(self) -> Optional[Job]:
        if self.confirm:
            return self.confirm.pop()
        if self.asked:
            return self.asked.pop()
        for _ in range(len(self.cells)):
            label = next(self._order)
            free = self.search.n_trials - self.counted[label] - self.running[label]
            if free > 0:
                jobs = _batches([self._ask(label) for _ in range(min(free, self.batch))], self.batch)
                self.asked.extend(reversed(jobs[1:]))
                return jobs[0]
        return None

    def annotate(self, job: Job, row: dict) -> None:
        """Add the objective value to a row before it is stored."""
        if job.columns.get("phase") == "search":
            value = row.get(self.search.objective.metric, math.nan)
            row["objective"] = float(value) if isinstance(value, (int, float)) else math.nan
            if row.get("status") == Status.PRUNED:
                # which rule stopped it (median, saturated, collapsed, ...): the pruner study reads this column
                why = self.studies.pruned_by(job.label, job.columns["search_trial"])
                row["pruned_by"] = why or ""
                if why:
                    row["message"] = f"{row.get('message') or 'pruned'}: {why}"

    def finished(self, job: Job, row: dict) -> None:
        """Tell the study (after the row is stored: a crash in between is settled by ``recover``)."""
        if job.columns.get("phase") != "search":
            return
        self.studies.tell(job.label, job.columns["search_trial"], row["status"], row["objective"], job.trial_id)
        self.running[job.label] -= 1
        self.counted[job.label] += 1
        self._maybe_confirm(job.label)

    def _ask(self, label: str) -> Job:
        asked = self.studies.ask(label)
        cfg = self.suite.config(self.cells[label], self.search.seed, asked.params)
        study = study_name(self.suite.name, label)
        self.running[label] += 1
        columns = {"phase": "search", "study": study, "search_trial": asked.number, **_searched(asked.params)}
        hook = None if self.search.pruner == "none" else self.studies.prune_hook(label, asked.number)
        return Job(cfg, search_trial_id(study, asked.number, cfg.config_hash()), label, columns, hook)

    def _maybe_confirm(self, label: str) -> None:
        """Once a cell's study has used its budget, queue its best parameters on every suite seed."""
        if label in self.confirmed or self.counted[label] < self.search.n_trials or self.running[label]:
            return
        self.confirmed.add(label)
        best = self.studies.best(label)
        if best is None:  # every trial failed, diverged or was pruned: nothing to confirm
            return
        number, params, _ = best
        jobs = []
        for seed in self.suite.seeds:
            cfg = self.suite.config(self.cells[label], seed, params)
            if cfg.config_hash() in self.finished_ids:
                self.already_done += 1
                continue
            jobs.append(Job(cfg, cfg.config_hash(), label,
                            {"phase": "confirm", "search_trial": number, **_searched(params)}))
        self.confirm.extend(reversed(_batches(jobs, self.batch)))


def _searched(params: dict[str, Any]) -> dict[str, Any]:
    """Searched values as their own columns (prefixed so they never clash with a metric)."""
    return {f"search.{k}": v for k, v in params.items()}
