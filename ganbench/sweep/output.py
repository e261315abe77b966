"""What a trial hands back, from its Ray task through the runner to the driver: one TrialOutput per trial."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import numpy as np

#: one row of the curves table: (trial_id, step, metric, value)
CurvePoint = tuple[str, int, str, float]


@dataclass
class TrialOutput:
    """One finished (or failed) trial, in the shapes ``ResultsStore.add(row, curves, snapshots, pictures)`` takes.

    The worker fills it (``trial.run_trials``), the runner adds where Ray placed it and the job's columns to
    ``row``, and the driver adds the suite's columns, then stores it.
    """

    row: dict[str, Any]
    """the trials-table row: identity, status, message (a failure's whole traceback), metrics, throughput,
    measurement info, data and environment columns, timing, placement"""
    curves: list[CurvePoint] = field(default_factory=list)
    """every evaluation's metrics, as curves-table rows"""
    snapshots: list[tuple[int, "np.ndarray"]] = field(default_factory=list)
    """for toy data: (step, generated points) per evaluation, to samples/<trial_id>.npz"""
    pictures: dict[str, "np.ndarray"] = field(default_factory=dict)
    """for image data: named uint8 pictures at the end, to samples/<trial_id>-<name>.png"""
    profile: Optional[tuple[bytes, str]] = None
    """a profiled trial's (gzipped Chrome trace, summary table) (``bench.py run --profile``), else None"""
