"""Ray execution: every trial is a Ray task; the driver streams results into the results folder."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

import ray

from ganbench.config import TrialConfig
from ganbench.trial import identity, run_trial


@ray.remote
def _trial_task(cfg_json: str, axes: list[str], num_threads: int) -> dict:
    return run_trial(TrialConfig.model_validate_json(cfg_json), axes, num_threads)


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start an embedded local Ray
    num_cpus: float = 1.0  # per trial
    num_gpus: float = 0.0  # per trial (fractions share a GPU)
    max_concurrent: int | None = None


def start_ray(address: str | None) -> None:
    """Join a cluster at ``address`` or start a local Ray with the dashboard off."""
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(include_dashboard=False, log_to_driver=True, configure_logging=True, logging_level="WARNING")


def _failure_message(err: BaseException) -> str:
    """The root cause of a Ray failure (a task error wraps the worker's exception)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"


def capacity(opts: RayOptions) -> int:
    """How many trials the cluster can run at once given each trial's request."""
    res = ray.cluster_resources()
    slots = res.get("CPU", 1) / opts.num_cpus
    if opts.num_gpus:
        slots = min(slots, res.get("GPU", 0) / opts.num_gpus)
    if slots < 1:
        raise RuntimeError(f"the Ray cluster ({res}) cannot fit one trial needing {opts.num_cpus} CPU, {opts.num_gpus} GPU")
    limit = int(math.floor(slots))
    return min(limit, opts.max_concurrent) if opts.max_concurrent else limit


def run_trials(
    configs: list[TrialConfig],
    axes: list[str],
    opts: RayOptions,
    on_start: Callable[[int], None],
    on_result: Callable[[dict], None],
) -> None:
    """Run ``configs`` as Ray tasks, at most ``capacity`` at a time, calling on_result as each ends.

    A worker that dies is retried by Ray (``max_retries``); one that still fails becomes a
    'failed' row so the sweep goes on.
    """
    task = _trial_task.options(num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, max_retries=2)
    threads = max(1, int(opts.num_cpus))
    pending = list(reversed(configs))
    in_flight: dict[ray.ObjectRef, TrialConfig] = {}
    limit = capacity(opts)
    while pending or in_flight:
        while pending and len(in_flight) < limit:
            cfg = pending.pop()
            in_flight[task.remote(cfg.model_dump_json(), axes, threads)] = cfg
            on_start(1)
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            cfg = in_flight.pop(ref)
            try:
                out = ray.get(ref)
            except (ray.exceptions.RayError, OSError) as err:
                row = {**identity(cfg, axes), "status": "failed", "steps_done": 0, "message": _failure_message(err)}
                out = {"row": row, "curves": []}
            on_result(out)
