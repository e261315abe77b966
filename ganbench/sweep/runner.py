"""Ray execution: every trial is a Ray task; the driver streams results into the results folder."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

import ray

from ganbench.config import TrialConfig
from ganbench.results import Status
from ganbench.sweep.jobs import Hook, Job
from ganbench.sweep.trial import identity, run_trial, run_trial_batch


@ray.remote
def _trial_task(cfg_json: str, axes: list[str], num_threads: int, trial_id: str, hook: Optional[Hook],
                dispatched_at: float, profile: bool = False) -> dict:
    cfg = TrialConfig.model_validate_json(cfg_json)
    out = run_trial(cfg, axes, num_threads, on_eval=hook, trial_id=trial_id, dispatched_at=dispatched_at,
                    profile=profile)
    out["row"]["ray_node_id"] = ray.get_runtime_context().get_node_id()
    return out


@ray.remote
def _batch_task(cfg_jsons: list[str], axes: list[str], num_threads: int, trial_ids: list[str],
                hooks: list[Optional[Hook]], dispatched_at: float) -> list[dict]:
    cfgs = [TrialConfig.model_validate_json(c) for c in cfg_jsons]
    outs = run_trial_batch(cfgs, axes, num_threads, trial_ids, dispatched_at, hooks)
    node = ray.get_runtime_context().get_node_id()
    for out in outs:
        out["row"]["ray_node_id"] = node
    return outs


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start an embedded local Ray
    num_cpus: float = 1.0  # per trial
    num_gpus: float = 0.0  # per trial (fractions share a GPU)
    max_concurrent: int | None = None
    max_retries: int = 2  # reruns of a trial whose worker or node died


def start_ray(address: str | None) -> None:
    """Join a cluster at ``address`` or start a local Ray with the dashboard off."""
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(include_dashboard=False, log_to_driver=True, configure_logging=True, logging_level="WARNING")


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


def _failure_message(err: BaseException) -> str:
    """The root cause of a Ray failure (a task error wraps the worker's exception)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"


def run_jobs(
    next_job: Callable[[], Optional[Job]],
    axes: list[str],
    opts: RayOptions,
    on_start: Callable[[Job], None],
    on_result: Callable[[Job, dict], None],
) -> None:
    """Keep the cluster full: take jobs from ``next_job`` while there is room, hand each result to ``on_result``.

    ``next_job`` returns None when nothing can start now; a result may make new jobs
    available (a search asks for its next trial), so the loop ends only when nothing is in
    flight and ``next_job`` has nothing. A worker or node that dies is retried by Ray
    (``max_retries``); one that still fails becomes a 'failed' row so the sweep goes on.
    """
    resources = dict(num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, max_retries=opts.max_retries)
    task, batch_task = _trial_task.options(**resources), _batch_task.options(**resources)
    threads = max(1, int(opts.num_cpus))
    in_flight: dict[ray.ObjectRef, Job] = {}
    limit = capacity(opts)
    while True:
        while len(in_flight) < limit:
            job = next_job()
            if job is None:
                break
            if job.members:
                ref = batch_task.remote([m.cfg.model_dump_json() for m in job.members], axes, threads,
                                        [m.trial_id for m in job.members], [m.hook for m in job.members],
                                        time.time())
            else:
                ref = task.remote(job.cfg.model_dump_json(), axes, threads, job.trial_id, job.hook, time.time(),
                                  job.profile)
            in_flight[ref] = job
            for member in job.members or [job]:
                on_start(member)
        if not in_flight:
            return
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            job = in_flight.pop(ref)
            members = job.members or [job]
            try:
                outs = ray.get(ref)
                outs = outs if job.members else [outs]
            except (ray.exceptions.RayError, OSError) as err:
                outs = [{"row": {**identity(m.cfg, axes, m.trial_id), "status": Status.FAILED.value, "steps_done": 0,
                                 "message": _failure_message(err)}, "curves": []} for m in members]
            for member, out in zip(members, outs):
                out["row"].update(member.columns)
                on_result(member, out)
