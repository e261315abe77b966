"""A metric that cannot be computed is NaN with its reason, not a failed trial.

An evaluation computes its metrics in groups (FID; KID and its std; ...), each through ``guarded``: a group
that raises gives NaN for each of its metrics and a note naming the reason, and the other groups go on. A
metric that knows why it cannot be computed raises ``MetricUnavailable`` with that reason in words; any other
error is noted by its type and message. Running out of memory is not a metric's failure and still fails the
trial (as do errors outside the metrics: a model's forward pass, the training step).

A trial keeps its notes per metric with the steps they happened at (``MetricNotes``); its row holds them as
one text column, ``metric_notes`` (empty when every metric was computed):

    nn_memorization: test and training sets share images (...) [steps 10, 20]
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

#: errors that are not a metric's own: they propagate and fail the trial
NOT_A_METRIC_FAILURE: tuple[type[BaseException], ...] = (MemoryError, torch.cuda.OutOfMemoryError)


class MetricUnavailable(ArithmeticError):
    """A metric that cannot be computed on these data; its message says why (e.g. a zero denominator)."""


def guarded(notes: dict[str, str], names: Iterable[str], compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``compute()``, or NaN for each of ``names`` (the metrics ``compute`` returns) with the reason in
    ``notes[name]`` when it raises. ``guarded_group`` is for a group whose names are not known beforehand."""
    names = list(names)
    try:
        return compute()
    except NOT_A_METRIC_FAILURE:
        raise
    except Exception as err:
        reason = reason_of(err)
        for name in names:
            notes[name] = reason
        return dict.fromkeys(names, math.nan)


def guarded_group(notes: dict[str, str], group: str, compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``compute()``, or no metrics and the reason noted under ``group`` (a label such as "mode metrics") when
    it raises: for a group whose metric names depend on its inputs."""
    try:
        return compute()
    except NOT_A_METRIC_FAILURE:
        raise
    except Exception as err:
        notes[group] = reason_of(err)
        return {}


def reason_of(err: Exception) -> str:
    """A note's text: a MetricUnavailable's own words, else the error's type and first line."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, MetricUnavailable):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class MetricNotes:
    """One trial's notes over its evaluations: metric -> (the first reason given, the steps it was NaN at)."""

    def __init__(self) -> None:
        self._notes: dict[str, tuple[str, list[int]]] = {}

    def add(self, step: int, notes: dict[str, str]) -> None:
        for name, reason in notes.items():
            self._notes.setdefault(name, (reason, []))[1].append(step)

    def __bool__(self) -> bool:
        return bool(self._notes)

    def reasons(self) -> dict[str, str]:
        return {name: reason for name, (reason, _) in self._notes.items()}

    def text(self) -> str:
        """The row's ``metric_notes``: '<metric>: <reason> [steps ...]', joined by '; ' ('' when none)."""
        return "; ".join(f"{name}: {reason} [{_steps(steps)}]" for name, (reason, steps) in self._notes.items())


def _steps(steps: list[int]) -> str:
    if len(steps) == 1:
        return f"step {steps[0]}"
    if len(steps) <= 3:
        return "steps " + ", ".join(map(str, steps))
    return f"steps {steps[0]}, ..., {steps[-1]} ({len(steps)} evaluations)"
