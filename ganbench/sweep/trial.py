"""Trials as data in, data out (configs in, one TrialOutput per config out): what a Ray task of the runner runs."""
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
from ganbench.sweep.output import TrialOutput
from ganbench.training import EvalCallback, TrainResult, train, train_stacked
from ganbench.training.gan import resolve_device
from ganbench.training.loop import stack_callbacks


#: when set, every trial execution appends "trial_id<TAB>status" to this file (an audit of
#: what actually ran, e.g. to check that a resumed sweep re-ran nothing it had finished)
EXECUTION_LOG_ENV = "GANBENCH_EXECUTION_LOG"


def identity(cfg: TrialConfig, axes: list[str], trial_id: str | None = None) -> dict[str, Any]:
    """The columns that say which trial a row is: id, cell label, grid axes, seed, full params."""
    cell = " ".join(f"{axis}={cfg.value(axis)}" for axis in axes)
    return {
        "trial_id": trial_id or cfg.config_hash(),
        "cell": cell,
        **{axis: cfg.value(axis) for axis in axes},  # a plugin option by its dotted name too
        "seed": cfg.seed,
        "params": json.dumps(cfg.model_dump(mode="json"), sort_keys=True),
        "config_hash": cfg.config_hash(),
    }


def run_trials(cfgs: list[TrialConfig], axes: list[str], num_threads: int = 1, trial_ids: list[str] | None = None,
               on_evals: list[EvalCallback | None] | None = None, dispatched_at: float | None = None,
               profile: bool = False) -> list[TrialOutput]:
    """Train one config, or several same-shaped ones as one stacked model (``execution.batch_trials``);
    one TrialOutput per config, in order. Never raises: a crash fails every trial given, each row keeping
    the error's message and whole traceback.

    ``on_evals`` holds each trial's own evaluation callback (a search's pruning hook), or None.
    ``dispatched_at`` (time.time() when the driver submitted them) gives ``queue_s``, the scheduling
    overhead between dispatch and start. ``profile`` traces a single trial with torch.profiler (its
    output's ``profile``); a stacked batch is not traced.
    """
    # Ray reuses worker processes: pin torch's threads to this task's CPU share.
    torch.set_num_threads(max(1, num_threads))
    hooks = list(on_evals) if on_evals is not None else [None] * len(cfgs)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    trace = None
    try:
        if len(cfgs) > 1:  # the one fork: several configs train as one stacked model
            results = train_stacked(cfgs, stack_callbacks(hooks))
        elif profile:
            result, trace = _profiled(cfgs[0], hooks[0])
            results = [result]
        else:
            results = [train(cfgs[0], on_eval=hooks[0])]
    except Exception as err:  # the sweep goes on; the rows keep the reason
        results = [_failed(err, time.perf_counter() - t0)] * len(cfgs)
    ids = trial_ids or [None] * len(cfgs)
    outs = [_output(cfg, axes, tid, result, started, dispatched_at) for cfg, tid, result in zip(cfgs, ids, results)]
    if trace is not None:
        outs[0].profile = trace
    return outs


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
            dispatched_at: float | None) -> TrialOutput:
    """The trials-table row, curves, snapshots and pictures of one finished (or failed) trial."""
    row = identity(cfg, axes, trial_id)
    row.update(status=Status(result.status).value, message=result.message, steps_done=result.steps_done, **result.metrics)
    row.update(result.info)
    row.update(data_columns(cfg))
    row.update(_where(cfg))
    queue_s = max(0.0, started.timestamp() - dispatched_at) if dispatched_at else float("nan")
    row.update(started_at=started.isoformat(), finished_at=datetime.now(timezone.utc).isoformat(), queue_s=queue_s)
    _log_execution(row)
    curves = [(row["trial_id"], step, name, value) for step, name, value in result.curves]
    return TrialOutput(row, curves, result.snapshots, result.pictures)


#: iterations the profiler skips, warms up on, then records (a short window keeps the trace small)
PROFILE_SCHEDULE = {"wait": 10, "warmup": 5, "active": 20, "repeat": 1}


def _profiled(cfg: TrialConfig, on_eval: EvalCallback | None) -> tuple[TrainResult, tuple[bytes, str] | None]:
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
