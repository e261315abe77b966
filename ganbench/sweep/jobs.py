"""A Job: one trial to run (or a batch of them trained as one stacked model), as plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ganbench.config import TrialConfig

#: a worker's pruning hook: (step, metrics) -> True to stop the trial
Hook = Callable[[int, dict[str, float]], bool]


@dataclass
class Job:
    """One trial to run: its config, its id, extra columns for its row, and an optional pruning hook."""

    cfg: TrialConfig
    trial_id: str
    label: str  # the cell it belongs to
    columns: dict[str, Any] = field(default_factory=dict)
    hook: Optional[Hook] = None
    profile: bool = False  # trace this trial with torch.profiler (bench.py run --profile)
    members: list["Job"] = field(default_factory=list)  # a batch: these trials trained as one stacked model

    @property
    def trials(self) -> list["Job"]:
        """The trials this job runs: its members (a batch), else itself."""
        return self.members or [self]
