"""The collapse-aware pruner: stop a GAN trial that has diverged, whose D has saturated, or whose
mode coverage has collapsed, before asking whether its objective is merely worse than the median.

Optuna trials carry intermediate values of one objective only, so the other metrics these rules read
(``d_real_mean``, ``d_fake_mean``, ``modes_covered``) reach the trial as one user attribute per
evaluation, ``collapse@<step>`` = {metric: value}, written by the study server before it asks
``should_prune``. A pruned trial records why in the user attribute ``pruned_by``.
"""
from __future__ import annotations

import math
from typing import Optional

import optuna
from optuna.trial import FrozenTrial

from ganbench.registry import LOSSES

#: user attribute naming the rule that stopped a pruned trial
PRUNED_BY = "pruned_by"
#: prefix of the per-evaluation user attributes holding the extra metrics
EVAL_ATTR = "collapse@"
#: what the saturation rule reads; only meaningful where D's outputs are probabilities
SATURATION_METRICS = ("d_real_mean", "d_fake_mean")
#: what the collapse rule reads; only datasets with modes report it
MODES_METRIC = "modes_covered"


def reported_metrics(loss_name: str) -> tuple[str, ...]:
    """The metrics a trial of this loss sends with each evaluation.

    D(x) and D(G(z)) are probabilities only for the probabilistic losses (minimax, non-saturating;
    ``GANLoss.prob``); for the others (WGAN, hinge, LSGAN, the relativistic pairs) they are raw critic
    outputs, where 1 and 0 mean nothing in particular, so those trials are never judged saturated.
    """
    probabilistic = LOSSES.get(loss_name).probabilistic
    return ((*SATURATION_METRICS, MODES_METRIC) if probabilistic else (MODES_METRIC,))


def evaluations(trial: FrozenTrial) -> list[dict[str, float]]:
    """The trial's extra metrics, one dict per evaluation, in step order."""
    steps = sorted(int(key[len(EVAL_ATTR):]) for key in trial.user_attrs if key.startswith(EVAL_ATTR))
    return [trial.user_attrs[f"{EVAL_ATTR}{step}"] for step in steps]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class CollapsePruner(optuna.pruners.BasePruner):
    """Stops a trial at an evaluation by the first rule that holds, in this order:

    1. ``diverged``: the objective or an extra metric is not finite. Nothing learned after a NaN is usable.
    2. ``saturated``: D(x) >= ``d_real_min`` and D(G(z)) <= ``d_fake_max`` for the last ``saturation_evals``
       evaluations. D separates perfectly, so G's gradient through D vanishes (Goodfellow et al. 2014;
       Arjovsky & Bottou 2017) and the trial rarely recovers; several evaluations in a row, so one
       transient spike does not stop it.
    3. ``collapsed``: modes_covered <= ``collapse_fraction`` x the trial's best so far, once it has at
       least ``min_evals`` evaluations. G has abandoned modes it had found (mode collapse); a trial that
       never covered any mode is left to rule 4.
    4. ``median``: Optuna's MedianPruner on the objective (``n_startup_trials`` finished trials first,
       never before ``n_warmup_steps``): what ``pruner: median`` does.
    """

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0, saturation_evals: int = 3,
                 d_real_min: float = 0.99, d_fake_max: float = 0.01, collapse_fraction: float = 0.5,
                 min_evals: int = 2):
        self.median = optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
        self.saturation_evals = saturation_evals
        self.d_real_min, self.d_fake_max = d_real_min, d_fake_max
        self.collapse_fraction = collapse_fraction
        self.min_evals = min_evals

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        reason = self.reason(trial) or ("median" if self.median.prune(study, trial) else None)
        if reason is not None:
            study._storage.set_trial_user_attr(trial._trial_id, PRUNED_BY, reason)
        return reason is not None

    def reason(self, trial: FrozenTrial) -> Optional[str]:
        """The GAN-specific rule (1-3) that stops the trial now, or None."""
        evals = evaluations(trial)
        values = [trial.intermediate_values[trial.last_step]] if trial.last_step is not None else []
        if not all(map(_finite, values + list(evals[-1].values() if evals else []))):
            return "diverged"
        if len(evals) >= self.saturation_evals and self._saturated(evals[-self.saturation_evals:]):
            return "saturated"
        modes = [e[MODES_METRIC] for e in evals if MODES_METRIC in e]
        if len(modes) >= self.min_evals and max(modes) > 0 and modes[-1] <= self.collapse_fraction * max(modes):
            return "collapsed"
        return None

    def _saturated(self, evals: list[dict[str, float]]) -> bool:
        return all(
            all(k in e for k in SATURATION_METRICS)
            and e["d_real_mean"] >= self.d_real_min and e["d_fake_mean"] <= self.d_fake_max
            for e in evals)
