"""The driver's and the workers' handle on the Optuna studies: one StudyServer served by a Ray actor.

Every call to the actor is here, so the plan reads as plain Python (``studies.ask(label)``) and
the workers' pruning hook is one small picklable object.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ganbench.search.pruners import reported_metrics
from ganbench.search.server import Asked, StudyServer
from ganbench.suite import Suite


@dataclass(frozen=True)
class PruneHook:
    """Where a worker reports intermediate objective values: the study-server actor, the cell, the trial."""

    server: Any  # ray.actor.ActorHandle of StudyServer
    label: str
    number: int
    metric: str
    #: other metrics the pruner reads, sent with each evaluation when the trial reports them (collapse)
    extras: tuple[str, ...] = ()

    def report_args(self, step: int, metrics: dict[str, float]) -> tuple:
        """The arguments of ``StudyServer.report`` for one evaluation."""
        extras = {name: float(metrics[name]) for name in self.extras if name in metrics}
        return self.label, self.number, step, metrics.get(self.metric, math.nan), extras

    def __call__(self, step: int, metrics: dict[str, float]) -> bool:
        return ray.get(self.server.report.remote(*self.report_args(step, metrics)))


def _pruner_inputs(suite: Suite) -> dict[str, tuple[str, ...]]:
    """Per cell, the metrics the collapse pruner reads besides the objective (they depend on the cell's loss)."""
    return {suite.cell_label(cell): reported_metrics(suite.config(cell, suite.search.seed).loss)
            for cell in suite.cells()}


class Studies:
    """Every cell's study, through the actor (blocking calls: each is a short storage operation)."""

    def __init__(self, url: str, suite: Suite):
        assert suite.search is not None
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        # pinned to the driver's node, where the journal file is
        actor = ray.remote(StudyServer).options(num_cpus=0, scheduling_strategy=here)
        labels = [suite.cell_label(c) for c in suite.cells()]
        self.server = actor.remote(url, suite.name, labels, suite.search.model_dump(mode="json"),
                                   suite.budget.steps, suite.budget.eval_every)
        self.metric = suite.search.objective.metric
        self.extras = _pruner_inputs(suite) if suite.search.pruner == "collapse" else {}

    def recover(self, recorded: dict[tuple[str, int], dict]) -> int:
        return ray.get(self.server.recover.remote(recorded))

    def counted(self, label: str) -> int:
        return ray.get(self.server.counted.remote(label))

    def ask(self, label: str) -> Asked:
        return ray.get(self.server.ask.remote(label))

    def tell(self, label: str, number: int, status: str, value: float, trial_id: str) -> None:
        ray.get(self.server.tell.remote(label, number, status, value, trial_id))

    def best(self, label: str) -> tuple[int, dict[str, Any], float] | None:
        return ray.get(self.server.best.remote(label))

    def pruned_by(self, label: str, number: int) -> str | None:
        return ray.get(self.server.pruned_by.remote(label, number))

    def prune_hook(self, label: str, number: int) -> PruneHook:
        return PruneHook(self.server, label, number, self.metric, self.extras.get(label, ()))
