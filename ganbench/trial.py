"""One trial as data in, data out: the unit of work the runner places on Ray."""
from __future__ import annotations

import json
import os
import time
import traceback
from datetime import datetime, timezone
from typing import Any

import torch

from ganbench.config import TrialConfig
from ganbench.environment import worker_environment
from ganbench.train import EvalCallback, resolve_device, train

STATUSES = ("complete", "diverged", "pruned", "failed")


#: when set, every trial execution appends "trial_id<TAB>status" to this file (an audit of
#: what actually ran, e.g. to check that a resumed sweep re-ran nothing it had finished)
EXECUTION_LOG_ENV = "GANBENCH_EXECUTION_LOG"


def identity(cfg: TrialConfig, axes: list[str], trial_id: str | None = None) -> dict[str, Any]:
    """The columns that say which trial a row is: id, cell label, grid axes, seed, full params."""
    cell = " ".join(f"{axis}={getattr(cfg, axis)}" for axis in axes)
    return {
        "trial_id": trial_id or cfg.config_hash(),
        "cell": cell,
        **{axis: getattr(cfg, axis) for axis in axes},
        "seed": cfg.seed,
        "params": json.dumps(cfg.model_dump(mode="json"), sort_keys=True),
        "config_hash": cfg.config_hash(),
    }


def run_trial(cfg: TrialConfig, axes: list[str], num_threads: int = 1, on_eval: EvalCallback | None = None,
              trial_id: str | None = None, dispatched_at: float | None = None) -> dict:
    """Train one config; never raises: a crash becomes a row with status 'failed' and its message.

    ``dispatched_at`` (time.time() when the driver submitted it) gives ``queue_s``, the
    scheduling overhead between dispatch and start. Returns {"row": one trials-table row,
    "curves": [(trial_id, step, metric, value), ...]}.
    """
    # Ray reuses worker processes: pin torch's threads to this trial's CPU share.
    torch.set_num_threads(max(1, num_threads))
    started = datetime.now(timezone.utc)
    queue_s = max(0.0, started.timestamp() - dispatched_at) if dispatched_at else float("nan")
    t0 = time.perf_counter()
    row = identity(cfg, axes, trial_id)
    try:
        result = train(cfg, on_eval=on_eval)
        row.update(status=result.status, message=result.message, steps_done=result.steps_done, **result.metrics)
        curves = [(row["trial_id"], step, name, value) for step, name, value in result.curves]
        snapshots = result.snapshots
    except Exception as err:  # the sweep goes on; the row keeps the reason
        row.update(status="failed", message=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=5)}",
                   steps_done=0, wall_s=time.perf_counter() - t0)
        curves, snapshots = [], []
    row.update(worker_environment(resolve_device(cfg.device)))
    row.update(started_at=started.isoformat(), finished_at=datetime.now(timezone.utc).isoformat(), queue_s=queue_s)
    _log_execution(row)
    return {"row": row, "curves": curves, "snapshots": snapshots}


def _log_execution(row: dict) -> None:
    path = os.environ.get(EXECUTION_LOG_ENV)
    if path:
        with open(path, "a") as log:  # one short line per write: appends do not interleave
            log.write(f"{row['trial_id']}\t{row['status']}\n")
