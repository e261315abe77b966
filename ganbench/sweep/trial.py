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
from ganbench.status import Status
from ganbench.sweep.environment import worker_environment
from ganbench.training import EvalCallback, TrainResult, train, train_stacked
from ganbench.training.gan import resolve_device
from ganbench.training.loop import stack_callbacks


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
              trial_id: str | None = None, dispatched_at: float | None = None, profile: bool = False) -> dict:
    """Train one config; never raises: a crash becomes a row with status 'failed' and its message.

    ``dispatched_at`` (time.time() when the driver submitted it) gives ``queue_s``, the
    scheduling overhead between dispatch and start. Returns {"row": one trials-table row,
    "curves": [(trial_id, step, metric, value), ...]}.
    """
    # Ray reuses worker processes: pin torch's threads to this trial's CPU share.
    torch.set_num_threads(max(1, num_threads))
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    trace = None
    try:
        if profile:
            result, trace = _profiled(cfg, on_eval)
        else:
            result = train(cfg, on_eval=on_eval)
    except Exception as err:  # the sweep goes on; the row keeps the reason
        result = _failed(err, time.perf_counter() - t0)
    out = _output(cfg, axes, trial_id, result, started, dispatched_at)
    if trace is not None:
        out["profile"] = trace
    return out


def run_trial_batch(cfgs: list[TrialConfig], axes: list[str], num_threads: int = 1,
                    trial_ids: list[str] | None = None, dispatched_at: float | None = None,
                    on_evals: list[EvalCallback | None] | None = None) -> list[dict]:
    """Train same-shaped trials as one stacked model (``execution.batch_trials``); one output per trial.

    ``on_evals`` holds each trial's own evaluation callback (a search's pruning hook), or None.
    Never raises: a crash fails every trial of the batch, each row keeping the message.
    """
    torch.set_num_threads(max(1, num_threads))
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    try:
        results = train_stacked(cfgs, stack_callbacks(on_evals or [None] * len(cfgs)))
    except Exception as err:
        results = [_failed(err, time.perf_counter() - t0)] * len(cfgs)
    ids = trial_ids or [None] * len(cfgs)
    return [_output(cfg, axes, tid, result, started, dispatched_at) for cfg, tid, result in zip(cfgs, ids, results)]


def _failed(err: Exception, wall_s: float) -> TrainResult:
    """The message's first line names the error; the rest is its whole traceback, every frame from this module
    down to the raise and every chained cause (a limit here once cut it at training/evaluate.py)."""
    message = f"{type(err).__name__}: {err}\n{''.join(traceback.format_exception(err))}"
    return TrainResult(Status.FAILED, {"wall_s": wall_s}, message=message)


def _where(cfg: TrialConfig) -> dict[str, str]:
    """The row's environment columns. ``device: cuda`` on a worker without CUDA failed the trial (its message and
    traceback say so): its row says it ran nowhere, and the row is still written here, not lost to a Ray error."""
    try:
        return worker_environment(resolve_device(cfg.device))
    except RuntimeError:
        return {**worker_environment(torch.device("cpu")), "run_device": "none"}


def data_columns(cfg: TrialConfig) -> dict[str, Any]:
    """``data_origin`` and ``data_hash`` of the trial's dataset as this worker loaded it (``datasets.dataset_identity``);
    for data that does not load here, the origin says why and the hash is None."""
    from ganbench.datasets import dataset_identity

    try:
        return dataset_identity(cfg.dataset)
    except Exception as err:  # a row is written either way; a failed trial's message says more
        return {"data_origin": f"not loaded ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})",
                "data_hash": None}


def _output(cfg: TrialConfig, axes: list[str], trial_id: str | None, result: TrainResult, started: datetime,
            dispatched_at: float | None) -> dict:
    """The trials-table row, curves and snapshots of one finished (or failed) trial."""
    row = identity(cfg, axes, trial_id)
    row.update(status=Status(result.status).value, message=result.message, steps_done=result.steps_done, **result.metrics)
    row.update(result.info)
    row.update(data_columns(cfg))
    row.update(_where(cfg))
    queue_s = max(0.0, started.timestamp() - dispatched_at) if dispatched_at else float("nan")
    row.update(started_at=started.isoformat(), finished_at=datetime.now(timezone.utc).isoformat(), queue_s=queue_s)
    _log_execution(row)
    curves = [(row["trial_id"], step, name, value) for step, name, value in result.curves]
    return {"row": row, "curves": curves, "snapshots": result.snapshots, "pictures": result.pictures}


#: iterations the profiler skips, warms up on, then records (a short window keeps the trace small)
PROFILE_SCHEDULE = {"wait": 10, "warmup": 5, "active": 20, "repeat": 1}


def _profiled(cfg: TrialConfig, on_eval: EvalCallback | None):
    """Train under torch.profiler; return the result and (gzipped Chrome trace, summary table)."""
    import gzip
    import tempfile

    from torch.profiler import ProfilerActivity, profile, schedule

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        with profile(activities=activities, schedule=schedule(**PROFILE_SCHEDULE),
                     on_trace_ready=lambda p: p.export_chrome_trace(path)) as prof:
            result = train(cfg, on_eval=on_eval, profiler=prof)
        if not os.path.exists(path):  # fewer iterations than the schedule's window
            return result, None
        with open(path, "rb") as f:
            trace = gzip.compress(f.read())
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30)
    return result, (trace, table)


def _log_execution(row: dict) -> None:
    path = os.environ.get(EXECUTION_LOG_ENV)
    if path:
        with open(path, "a") as log:  # one short line per write: appends do not interleave
            log.write(f"{row['trial_id']}\t{row['status']}\n")
