"""Every cell's Optuna study, behind one object that a Ray actor serves.

The driver asks it for trials and tells it outcomes; Ray workers report intermediate values
to it and learn whether to stop (pruning). Because it runs as an actor on the driver's node,
a journal file there is enough storage even when the workers are on other machines.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import optuna

from ganbench.status import Status
from ganbench.search.optuna_setup import make_pruner, make_sampler, open_storage, trial_seed
from ganbench.search.pruners import EVAL_ATTR, PRUNED_BY
from ganbench.search.schema import Search, study_name

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: study state for each ganbench trial status
STATE = {
    Status.COMPLETE: optuna.trial.TrialState.COMPLETE,
    Status.PRUNED: optuna.trial.TrialState.PRUNED,
    Status.DIVERGED: optuna.trial.TrialState.FAIL,
    Status.FAILED: optuna.trial.TrialState.FAIL,
}
#: user attribute set on trials that a dead driver left RUNNING; they do not count toward the budget
INTERRUPTED = "interrupted"
#: user attribute of a trial queued to rerun an interrupted one
RETRY_OF = "retry_of"


def name_the_objective(study: optuna.Study, metric: str) -> None:
    """Label the study's one value with the objective's metric (optuna-dashboard and `optuna trials` show it
    instead of "Objective 0"); written once, not on every resume."""
    if study.metric_names != [metric]:
        with warnings.catch_warnings():  # experimental in Optuna (since 3.2), stable in use
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([metric])


@dataclass(frozen=True)
class Asked:
    number: int
    params: dict[str, Any]  # the sampled values, keyed as in the suite's search space


class StudyServer:
    """Owns one study per cell; every method is a short, serialised storage operation."""

    def __init__(self, storage: str, suite_name: str, cell_labels: list[str], search: dict, steps: int, eval_every: int):
        self.search = Search.model_validate(search)
        self.storage = open_storage(storage)
        pruner = make_pruner(self.search, steps, eval_every)
        direction = self.search.objective.resolved_direction()
        self.studies = {
            label: optuna.create_study(storage=self.storage, study_name=study_name(suite_name, label),
                                       direction=direction, pruner=pruner, load_if_exists=True,
                                       sampler=make_sampler(self.search, self.search.seed))
            for label in cell_labels
        }
        for study in self.studies.values():
            name_the_objective(study, self.search.objective.metric)

    # --- the driver's side ------------------------------------------------------------

    def recover(self, recorded: dict[tuple[str, int], dict]) -> int:
        """Settle trials a dead driver left RUNNING; return how many will be run again.

        A trial whose result reached the trials table (``recorded``: (cell, number) -> row) is
        told that result; any other is marked FAIL + interrupted and its parameters queued
        so the next ask runs them again.
        """
        retried = 0
        for label, study in self.studies.items():
            for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                row = recorded.get((label, trial.number))
                if row is not None:
                    self._tell(study, trial.number, row["status"], row.get("objective", math.nan))
                    continue
                study._storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
                study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number}, skip_if_exists=False)
                retried += 1
        return retried

    def counted(self, label: str) -> int:
        """Trials of this cell that used up budget: finished, pruned, diverged or failed, not interrupted."""
        return sum(1 for t in self.studies[label].get_trials(deepcopy=False)
                   if t.state.is_finished() and not t.user_attrs.get(INTERRUPTED))

    def ask(self, label: str) -> Asked:
        study = self.studies[label]
        # Seed by how many trials were *sampled* before (retries are enqueued, not sampled), so a
        # resumed sweep draws what an uninterrupted one would have drawn.
        sampled = sum(1 for t in study.get_trials(deepcopy=False) if RETRY_OF not in t.user_attrs)
        study.sampler = make_sampler(self.search, trial_seed(self.search, sampled))
        trial = study.ask()
        for name, param in self.search.space.items():
            if name in trial.params:
                continue
            if param.type == "categorical":
                trial.suggest_categorical(name, param.choices)
            elif param.type == "int":
                trial.suggest_int(name, int(param.low), int(param.high), step=int(param.step or 1), log=param.log)
            else:
                trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)
        return Asked(trial.number, dict(trial.params))

    def tell(self, label: str, number: int, status: str, value: float, trial_id: str) -> None:
        study = self.studies[label]
        trial = study.get_trials(deepcopy=False)[number]
        study._storage.set_trial_user_attr(trial._trial_id, "trial_id", trial_id)
        study._storage.set_trial_user_attr(trial._trial_id, "status", status)
        if trial.user_attrs.get(PRUNED_BY) and status != Status.PRUNED:
            # the last evaluation may say stop, which the training loop ignores (stopping there saves nothing)
            study._storage.set_trial_user_attr(trial._trial_id, PRUNED_BY, None)
        self._tell(study, number, status, value)

    def pruned_by(self, label: str, number: int) -> str | None:
        """Why the pruner stopped this trial ("median", "saturated", ...), or None."""
        return self.studies[label].get_trials(deepcopy=False)[number].user_attrs.get(PRUNED_BY)

    def best(self, label: str) -> tuple[int, dict[str, Any], float] | None:
        """(number, params, value) of the best complete trial, or None when none completed."""
        study = self.studies[label]
        if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
            return None
        best = study.best_trial
        return best.number, dict(best.params), float(best.value)

    def history(self, label: str) -> list[dict[str, Any]]:
        """Every trial of the cell's study in order: number, state, value, params, interrupted."""
        return [
            {"number": t.number, "state": t.state.name, "value": t.value if t.value is not None else math.nan,
             "params": dict(t.params), "interrupted": bool(t.user_attrs.get(INTERRUPTED)),
             "last_step": t.last_step, "pruned_by": t.user_attrs.get(PRUNED_BY)}
            for t in self.studies[label].get_trials(deepcopy=False)
        ]

    # --- the workers' side ------------------------------------------------------------

    def report(self, label: str, number: int, step: int, value: float, extras: dict[str, float] | None = None) -> bool:
        """Record an intermediate objective value (and the other metrics a pruner reads, ``extras``,
        as the user attribute ``collapse@<step>``); True when the pruner says stop."""
        study = self.studies[label]
        if not math.isfinite(value):
            return False  # the trial itself will end as diverged
        trial_id = study.get_trials(deepcopy=False)[number]._trial_id
        if extras:
            study._storage.set_trial_user_attr(trial_id, f"{EVAL_ATTR}{step}", {k: float(v) for k, v in extras.items()})
        trial = optuna.trial.Trial(study, trial_id)
        trial.report(value, step)
        stop = trial.should_prune()
        if stop and not study._storage.get_trial(trial_id).user_attrs.get(PRUNED_BY):
            study._storage.set_trial_user_attr(trial_id, PRUNED_BY, self.search.pruner)  # median, hyperband
        return stop

    @staticmethod
    def _tell(study: optuna.Study, number: int, status: str, value: float) -> None:
        state = STATE[Status(status)]
        if state == optuna.trial.TrialState.COMPLETE and not math.isfinite(value):
            state = optuna.trial.TrialState.FAIL  # a complete trial without an objective value
        if state == optuna.trial.TrialState.COMPLETE:
            study.tell(number, value)
        else:
            study.tell(number, state=state)
