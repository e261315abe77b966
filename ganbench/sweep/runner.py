"""Ray execution: one Ray task per job (a trial or a stacked batch); results stream back to the driver."""
from __future__ import annotations

import contextlib
import gc
import math
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Optional

import ray

from ganbench.config import TrialConfig
from ganbench.errors import UserError
from ganbench.plugins import import_modules
from ganbench.status import Status
from ganbench.sweep.jobs import Hook, Job
from ganbench.sweep.output import TrialOutput
from ganbench.sweep.trial import identity, run_trials


@ray.remote
def _trials_task(cfg_jsons: list[str], axes: list[str], num_threads: int, trial_ids: list[str],
                 hooks: list[Optional[Hook]], dispatched_at: float, profile: bool = False,
                 plugins: tuple[str, ...] = ()) -> list[TrialOutput]:
    """A job's trials (one, or a stacked batch) on one worker: one TrialOutput per trial, placed."""
    import_modules(plugins)  # before validating: the config may name a plugin's loss, model or dataset
    cfgs = [TrialConfig.model_validate_json(c) for c in cfg_jsons]
    outs = run_trials(cfgs, axes, num_threads, trial_ids, hooks, dispatched_at, profile)
    where = placement()
    for out in outs:
        out.row.update(where)
    return outs


def placement() -> dict[str, str]:
    """Where Ray put this task: its node, the GPU ids it was given (a fraction shares an id), and
    CUDA_VISIBLE_DEVICES as the task saw it."""
    return {"ray_node_id": ray.get_runtime_context().get_node_id(),
            "ray_gpu_ids": ",".join(str(i) for i in ray.get_gpu_ids()),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")}


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start an embedded local Ray
    num_cpus: float = 1.0  # per trial
    num_gpus: float = 0.0  # per trial (fractions share a GPU)
    max_concurrent: int | None = None
    max_retries: int = 2  # reruns of a trial whose worker or node died


#: seconds to wait for a Ray head's port before saying it cannot be reached
CONNECT_TIMEOUT_S = 10


def start_ray(address: str | None, max_retries: int = 2, runtime_env: dict | None = None) -> bool:
    """Join a cluster at ``address`` or start a local Ray: dashboard off, every server on 127.0.0.1.

    ``runtime_env`` is the job's (``plugins.runtime_env()``: the plugins' files as ``py_modules``, which Ray
    uploads once and unpacks on every node, so a cluster needs no shared filesystem; Ray takes local paths at
    the job level only). A Ray that is already running keeps its own: start it with that runtime_env.

    Returns True when this call started (or joined) Ray, False when it was already running.
    A head that cannot be reached fails within CONNECT_TIMEOUT_S, as a UserError naming it.
    The local Ray retries a trial killed by its memory monitor at most ``max_retries`` times
    (Ray's own default retries such a task forever); on a cluster, start it with
    RAY_task_oom_retries set likewise.

    Call it from the main thread: a local Ray's servers are started with PR_SET_PDEATHSIG, which
    kills them when the *thread* that started them ends, so Ray started in a worker thread dies with it.
    """
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    if ray.is_initialized():
        return False
    # ray.init installs a SIGTERM handler that dumps a native stack and aborts: keep the caller's
    # (the CLI treats SIGTERM like Ctrl-C: finished trials are saved, the run can resume), and its SIGINT
    # handler likewise (the CLI installs one even where SIGINT was inherited as ignored)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        _init(address, max_retries, runtime_env or None)
    finally:
        for signum, handler in handlers.items():
            if callable(handler):
                signal.signal(signum, handler)
    return True


class RaySession:
    """The Ray of one run: started (or joined) here, stopped on ``stop()`` or on leaving the ``with`` block,
    unless it was running before (a caller's own Ray is left as it is).

    Leaving it takes two parts: ``disconnect()`` ends this process's part (its Ray threads: a fork is safe after
    it), then a local Ray's processes are stopped, one after another as Ray does it (~1 s on 2 cores):
    ``stop_in_background()`` does that beside other work (the report's plots), ``stop()`` waits for it.
    """

    def __init__(self) -> None:
        self.owned = False
        self.start_s = 0.0  # how long starting or joining took
        self._node = None  # a local Ray's processes, left running by disconnect()
        self._stopping: threading.Thread | None = None

    def start(self, address: str | None, max_retries: int, runtime_env: dict | None = None) -> None:
        """Start (or join) Ray, from the main thread (``start_ray`` says why), with nothing running beside it.

        Not beside other work: torch in another thread while ``ray.init`` ran crashed the driver now and then
        (SIGSEGV in CI; faulthandler showed a torch op in that thread as ray.init set up logging).
        """
        t0 = time.perf_counter()
        self.owned = start_ray(address, max_retries, runtime_env)
        self.start_s = time.perf_counter() - t0

    def disconnect(self) -> None:
        """Leave the Ray this session started or joined: every Ray thread of this process ends (free every handle
        first: ``handles_freed``); a local Ray's processes are left for ``stop``."""
        if self.owned:
            self.owned = False
            self._node = _detach_local_node()
            ray.shutdown()

    def stop_in_background(self) -> None:
        """Disconnect, and stop a local Ray's processes in a thread (``stop()`` waits for it): call it only
        once nothing else will fork."""
        self.disconnect()
        if self._node is not None and self._stopping is None:
            self._stopping = threading.Thread(target=_stop_node, args=(self._node,), name="ray-stop")
            self._stopping.start()

    def stop(self) -> None:
        """Disconnect, and stop a local Ray this session started (its processes gone when this returns)."""
        self.disconnect()
        if self._stopping is not None:
            self._stopping.join()
        elif self._node is not None:
            _stop_node(self._node)
        self._node = self._stopping = None

    def __enter__(self) -> "RaySession":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _detach_local_node():
    """Take a local Ray's processes from ``ray.shutdown()``, which would stop them before returning, so they
    can be stopped later (``_stop_node``). None when this process started none (it joined a cluster).

    ``ray._private.worker._global_node`` is Ray's own record of them (2.x); were it gone, ``getattr`` finds
    None and ``ray.shutdown()`` stops them itself, as before.
    """
    from ray._private import worker

    node = getattr(worker, "_global_node", None)
    if node is not None:
        worker._global_node = None
    return node


def _stop_node(node) -> None:
    """What ``ray.shutdown()`` does to a local Ray's processes: SIGTERM each (the raylet first, which stops its
    workers), a second for it to exit, then SIGKILL."""
    node.kill_all_processes(check_alive=False, allow_graceful=True, wait=False)


@contextlib.contextmanager
def handles_freed():
    """Leave the block with every Ray handle it made freed, while Ray still runs.

    An ActorHandle or ObjectRef freed after ``ray.shutdown()`` can crash the driver (SIGSEGV, at random:
    when the garbage collector gets to it). The block's frames are gone when it returns; when it raises,
    its traceback keeps them, so their locals are cleared (the traceback still prints). Cycles are
    collected either way.
    """
    try:
        yield
    except BaseException as err:
        traceback.clear_frames(err.__traceback__)
        raise
    finally:
        gc.collect()


def use_the_clusters_token() -> None:
    """Join with token authentication when ``ray start`` would have turned it on.

    Ray (2.5x) starts a head with token authentication when RAY_AUTH_MODE is unset and a token exists
    (~/.ray/auth_token, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH), but a driver joining it does not apply that rule
    and fails with InvalidAuthToken: this applies it (RAY_AUTH_MODE, when set, is kept as it is).
    """
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available)
    except ImportError:  # a Ray without token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _init(address: str | None, max_retries: int, runtime_env: dict | None = None) -> None:
    if address:
        check_reachable(address)
        use_the_clusters_token()
        try:
            ray.init(address=address, log_to_driver=True, runtime_env=runtime_env)
        except Exception as err:  # ConnectionError, RuntimeError, ValueError: Ray's own words, on one line
            first = (str(err).strip().splitlines() or [""])[0]
            raise UserError(f"--address {address}: cannot join the Ray cluster ({type(err).__name__}: {first})") from None
        return
    os.environ.setdefault("RAY_task_oom_retries", str(max_retries))
    with _loopback_only():  # "local": always a new embedded Ray, never a cluster some `ray start` left running here
        ray.init(address="local", include_dashboard=False, log_to_driver=True, configure_logging=True,
                 logging_level="WARNING", runtime_env=runtime_env)


@contextlib.contextmanager
def _loopback_only():
    """Bind every server of a local Ray to 127.0.0.1, not all interfaces.

    Ray 2.60 resolves a node IP of 127.0.0.1 to the machine's address unless its "no clusters"
    mode is on (its Windows/macOS default); in that mode the GCS, raylet, workers and agents all
    listen on the loopback address. The mode is an environment variable, read by the processes
    ray.init starts and, at import, by this one: both are set for the start, then restored.
    """
    from ray._private import ray_constants

    name, before = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, ray_constants.ENABLE_RAY_CLUSTER
    env_before = os.environ.get(name)
    os.environ[name], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before
        if env_before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = env_before


def check_reachable(address: str) -> None:
    """'auto', HOST:PORT or ray://HOST:PORT; for the last two the port must answer."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:PORT or 'auto'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise UserError(f"cannot reach the Ray head at {host}:{port} ({err.strerror or err}); start it there with "
                        f"`ray start --head --port {port}`, or drop --address for a local Ray") from None


def check_fits_a_node(opts: "RayOptions") -> None:
    """A trial's CPUs and GPUs must all fit on one node of the cluster."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    cpus = max((n.get("CPU", 0) for n in nodes), default=0)
    gpus = max((n.get("GPU", 0) for n in nodes), default=0)
    if opts.num_cpus > cpus:
        raise UserError(f"resources.num_cpus = {opts.num_cpus:g}: no node of the Ray cluster has that many "
                        f"(the largest has {cpus:g} CPUs)")
    if opts.num_gpus > gpus:
        raise UserError(f"resources.num_gpus = {opts.num_gpus:g}: no node of the Ray cluster has that many "
                        f"(the largest has {gpus:g} GPUs)")


def largest_node_memory() -> float:
    """Bytes Ray lets tasks use on its largest node (what one trial can get at most)."""
    return max((n["Resources"].get("memory", 0) for n in ray.nodes() if n.get("Alive")), default=0)


def capacity(opts: RayOptions) -> int:
    """How many trials the cluster can run at once given each trial's request."""
    res = ray.cluster_resources()
    slots = res.get("CPU", 1) / opts.num_cpus
    if opts.num_gpus:
        slots = min(slots, res.get("GPU", 0) / opts.num_gpus)
    if slots < 1:
        raise UserError(f"the Ray cluster ({res}) cannot fit one trial needing {opts.num_cpus} CPU, {opts.num_gpus} GPU")
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
    on_result: Callable[[Job, TrialOutput], None],
    while_waiting: Callable[[], None] | None = None,
) -> None:
    """Keep the cluster full: take jobs from ``next_job`` while there is room, hand each trial's result (a batch's
    members one by one) to ``on_result`` as (that trial's Job, its TrialOutput, the Job's columns in its row).

    ``while_waiting()`` runs each time the cluster is as full as it gets, before waiting for a result: work
    for the driver's otherwise idle time (it should be quick after its first call).

    ``next_job`` returns None when nothing can start now; a result may make new jobs
    available (a search asks for its next trial), so the loop ends only when nothing is in
    flight and ``next_job`` has nothing. A worker or node that dies is retried by Ray
    (``max_retries``); one that still fails becomes a 'failed' row so the sweep goes on.

    Every task imports the driver's plugins first (their files came with the job's runtime environment:
    ``start_ray``).
    """
    from ganbench.plugins import names

    modules = names()
    resources = dict(num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, max_retries=opts.max_retries)
    task = _trials_task.options(**resources)
    threads = max(1, int(opts.num_cpus))
    in_flight: dict[ray.ObjectRef, Job] = {}
    limit = capacity(opts)
    while True:
        while len(in_flight) < limit:
            job = next_job()
            if job is None:
                break
            trials = job.trials
            ref = task.remote([t.cfg.model_dump_json() for t in trials], axes, threads, [t.trial_id for t in trials],
                              [t.hook for t in trials], time.time(), job.profile, modules)
            in_flight[ref] = job
            for trial in trials:
                on_start(trial)
        if not in_flight:
            return
        if while_waiting is not None:
            while_waiting()
        done, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in done:
            trials = in_flight.pop(ref).trials
            try:
                outs: list[TrialOutput] = ray.get(ref)
            except (ray.exceptions.RayError, OSError) as err:
                failed = {"status": Status.FAILED.value, "steps_done": 0, "message": _failure_message(err)}
                outs = [TrialOutput({**identity(t.cfg, axes, t.trial_id), **failed}) for t in trials]
            for trial, out in zip(trials, outs):
                out.row.update(trial.columns)
                on_result(trial, out)
