"""How a trial ended, in a module of its own: a Ray worker reads it without the results layer's pandas."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """How a trial ended: the ``status`` column of trials.parquet (stored as its value)."""

    COMPLETE = "complete"  # ran its whole budget
    DIVERGED = "diverged"  # a loss became NaN/inf
    PRUNED = "pruned"  # stopped early by the search's pruner
    FAILED = "failed"  # raised, or its worker died past the retries

    def __str__(self) -> str:
        return self.value

    # equal to its value (a str), so it must hash like it: sets and dicts then mix members and strings
    __hash__ = str.__hash__
