"""`bench.py run`: check everything, start Ray, lock the results folder, run the unfinished trials, report.

Order matters for "nothing half-made": the quick checks run first (an unreachable cluster fails
there), then the suite's deep checks, the data and the feature networks, then Ray starts, then the
storage is checked, and only then is the results folder made and locked (``sweep.folder``). Each
part's time goes to run.json (``sweep.timings``).
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from rich.console import Console

from ganbench.checks import check_suite
from ganbench.datasets import dataset_record
from ganbench.errors import UserError
from ganbench.plugins import loaded as loaded_plugins
from ganbench.plugins import runtime_env
from ganbench.registry import DATASETS
from ganbench.results import ResultsStore, read_run_info, write_run_info, write_suite
from ganbench.status import Status
from ganbench.suite import Suite, suite_datasets
from ganbench.sweep.environment import driver_columns, driver_environment
from ganbench.sweep.folder import FolderLock, check_out_path, check_same_suite, run_folder, start_over_hint
from ganbench.sweep.progress import SweepProgress
from ganbench.sweep.timings import RunClock, record_timings

if TYPE_CHECKING:
    from ganbench.sweep.jobs import Job
    from ganbench.sweep.output import TrialOutput
    from ganbench.sweep.runner import RayOptions


def run_suite(suite: Suite, out: Path, *, address: str | None = None, max_concurrent: int | None = None,
              fresh: bool = False, storage: str | None = None, formats: tuple[str, ...] = (),
              profile: bool = False, console: Console | None = None, source: str | None = None,
              on_tables: Callable[[Path], None] | None = None) -> Path:
    """Run every unfinished trial of ``suite`` into ``out``; return the leaderboard's path.

    ``source`` names the suite (its file) in error messages. Raises UserError, before anything
    is created, for a suite that cannot run, an unusable --out, --storage or --address.
    ``on_tables(leaderboard path)`` is called once the tables are written, while the plots render.
    A Ray that this run started is left when the trials are done and its processes stop beside the report's
    plots (or at once, when the run fails).
    """
    from ganbench.sweep.runner import (RayOptions, RaySession, check_fits_a_node, handles_freed,  # imports Ray
                                       largest_node_memory)

    clock = RunClock()
    console = console or Console(stderr=True)
    out = Path(out)
    preflight(suite, out, address=address, storage=storage, fresh=fresh)
    opts = RayOptions(address, suite.resources.num_cpus, suite.resources.num_gpus, max_concurrent, suite.max_retries)
    environment, datasets = prepare(suite, address, source, console)  # then Ray: not beside it (RaySession.start)
    with RaySession() as session:
        session.start(address, suite.max_retries, runtime_env())  # the plugins' files, for every worker
        clock.ray_start_s = session.start_s
        check_fits_a_node(opts)
        if address is not None:
            check_suite(suite, source, memory_bytes=largest_node_memory())
        with run_folder(out, suite, fresh):
            t0 = time.perf_counter()
            with handles_freed():  # the plan's: its Optuna actor's handle, the prune hooks, the tasks' refs
                ended = run_trials(suite, out, opts, environment, datasets, storage=storage, profile=profile,
                                   console=console, clock=clock)
            session.disconnect()  # before the report: its plots fork processes, safe only once Ray's threads are gone
            from ganbench.report import write_report  # imported while the trials trained (import_report)

            def tables_written(board: Path) -> None:
                session.stop_in_background()  # the plots' processes are forked by now: Ray stops beside them
                if on_tables is not None:
                    on_tables(board)

            board = write_report(out, formats, on_tables=tables_written, timings=clock.report)
            record_timings(out, clock.timings())
            record_failures(out, ended)
    console.print(f"done in {time.perf_counter() - t0:.1f}s")
    return board


def run_trials(suite: Suite, out: Path, opts: RayOptions, environment: dict, datasets: dict, *, storage: str | None,
               profile: bool, console: Console, clock: RunClock) -> dict[str, dict]:
    """Plan the unfinished trials of ``suite`` (a grid, or a search through its Optuna studies), record the run in
    ``out``'s run.json and suite.yaml, and run them on Ray, each result stored as it arrives. Returns the row each
    trial run here ended with, by trial id.

    Every Ray handle the run makes (the study actor's, the prune hooks', the tasks' refs) lives in this frame
    or below it, so the caller frees them all before stopping Ray (``runner.handles_freed``).
    """
    from ganbench.sweep.plan import GridPlan, SearchPlan
    from ganbench.sweep.runner import capacity, run_jobs

    store = ResultsStore(out)
    run_info = {
        "suite": suite.name, "suite_hash": suite.suite_hash(), "environment": environment,
        "command": " ".join(sys.argv), "started_at": datetime.now(timezone.utc).isoformat(),
        "datasets": datasets,  # what reports need of the data, so they never load it again
    }
    if loaded_plugins():  # each plugin imported for the run: its module, how it was named, its version or hash
        run_info["plugins"] = [plugin.record() for plugin in loaded_plugins()]
    if suite.search is None:
        plan = GridPlan(suite, store.rows, workers=capacity(opts))
    else:
        from ganbench.search.optuna_setup import clear_stale_journal_lock
        from ganbench.sweep.studies import Studies

        url, run_info["optuna_storage"] = resolve_storage(out, storage)
        if "://" not in url:  # under the folder lock, so a journal lock found now is a killed run's
            clear_stale_journal_lock(url)
        plan = SearchPlan(suite, Studies(url, suite), store.rows)
        if plan.retried:
            console.print(f"{plan.retried} trials left running by an earlier driver are marked failed and "
                          f"run again")
    write_suite(out, suite.model_dump(mode="json"), {**run_info, "trials_planned": plan.total})
    console.print(f"[bold]{suite.name}[/]: {len(suite.cells())} cells, {plan.total} trials planned; "
                  f"{plan.already_done} already finished in {out}")
    primary = suite.search.objective.metric if suite.search else \
        datasets[suite_datasets(suite)[0]]["primary_metric"]
    ended: dict[str, dict] = {}
    other_data: set[tuple[str, str]] = set()
    with SweepProgress(plan, primary, console) as progress:
        def record(job: Job, result: TrialOutput) -> None:
            row = {**result.row, "suite": suite.name, "suite_hash": suite.suite_hash(),
                   **driver_columns(environment)}
            warn_other_data(job.cfg.dataset, row, datasets, other_data, console)
            plan.annotate(job, row)
            store.add(row, result.curves, result.snapshots, result.pictures)
            if result.profile is not None:
                paths = store.add_profile(row["trial_id"], *result.profile)
                console.print(f"profile of trial {row['trial_id']}: {', '.join(map(str, paths))}")
            plan.finished(job, row)
            progress.finished(job, row)
            clock.trial_done(row)
            ended[row["trial_id"]] = row

        run_jobs(_first_profiled(plan.next_job) if profile else plan.next_job, suite.axes(), opts,
                 on_start=progress.started, on_result=record, while_waiting=import_report)
    return ended


def warn_other_data(name: str, row: dict, datasets: dict, warned: set, console: Console) -> None:
    """Say so, once per dataset and hash, when a worker read other data than run.json records (a node with
    other files at the same path, or files changed during the run): its row names the hash it read."""
    recorded, read = (datasets.get(name) or {}).get("data_hash"), row.get("data_hash")
    if recorded and read and read != recorded and (name, read) not in warned:
        warned.add((name, read))
        console.print(f"[yellow]warning[/]: trial {row['trial_id']} read dataset {name!r} with content hash {read}, "
                      f"not {recorded} as run.json records ({row.get('data_origin')}); its row names the hash it "
                      f"read", soft_wrap=True)


def record_failures(out: Path, ended: dict[str, dict]) -> None:
    """run.json's ``failed_trials``: the trials of this run that ended failed, id -> first line of its message
    (the whole traceback is in trials.parquet); ``metric_notes``: those with a metric that could not be computed,
    id -> its row's ``metric_notes``; ``trials_run``: how many trials this run ran."""
    failed = {tid: (str(row.get("message") or "").splitlines() or [""])[0]
              for tid, row in ended.items() if row.get("status") == Status.FAILED.value}
    notes = {tid: row["metric_notes"] for tid, row in ended.items() if row.get("metric_notes")}
    write_run_info(out, {**(read_run_info(out) or {}), "trials_run": len(ended), "failed_trials": failed,
                         "metric_notes": notes})


def notes_lines(out: Path) -> list[str]:
    """Closing lines naming this run's trials with a metric that could not be computed (NaN, with the reason in
    the row's ``metric_notes``): such a trial is complete, so these lines do not change the exit code."""
    notes = (read_run_info(out) or {}).get("metric_notes") or {}
    lines = [f"note: trial {tid}: {text}" for tid, text in list(notes.items())[:SHOWN_FAILURES]]
    if len(notes) > SHOWN_FAILURES:
        lines.append(f"note: ... and {len(notes) - SHOWN_FAILURES} more trials")
    if notes:
        many = "trials have" if len(notes) > 1 else "trial has"
        lines.append(f"note: {len(notes)} {many} metrics that could not be computed: NaN, with the reason "
                     f"in {out / 'trials.parquet'}'s column 'metric_notes'")
    return lines


#: trials named one by one in the closing lines of a run with failures; the rest are counted
SHOWN_FAILURES = 5


def failure_lines(out: Path) -> list[str]:
    """The closing lines of a run whose trials failed (none when every trial ran ended otherwise): each failed
    trial's error, then how many failed and where their tracebacks are. Read from run.json (``record_failures``)."""
    info = read_run_info(out) or {}
    failed = info.get("failed_trials") or {}
    if not failed:
        return []
    lines = [f"failed trial {tid}: {first}" for tid, first in list(failed.items())[:SHOWN_FAILURES]]
    if len(failed) > SHOWN_FAILURES:
        lines.append(f"... and {len(failed) - SHOWN_FAILURES} more")
    n, ran = len(failed), info.get("trials_run", len(failed))
    retry = "" if info.get("optuna_storage") else "; rerun the same command to retry them"  # a grid's, not a search's
    lines.append(f"{n} of the {ran} trials this run ran failed: each one's error and whole traceback are in "
                 f"{out / 'trials.parquet'} (rows with status 'failed', column 'message'; run.json's failed_trials "
                 f"lists them){retry}")
    return lines


def import_report() -> None:
    """Import the report (matplotlib, scipy.stats: ~0.9 s on 2 cores) while the first trials train, not after
    the last one; a no-op once imported."""
    import ganbench.report  # noqa: F401


def prepare(suite: Suite, address: str | None, source: str | None, console: Console) -> tuple[dict, dict]:
    """What needs no cluster and may take seconds, run before Ray starts: the deep checks (a local run's;
    a cluster's need its memory), then the environment and dataset records and the feature networks."""
    if address is None:
        check_suite(suite, source)  # sizes against this machine, where the local Ray runs
    environment = driver_environment()
    datasets = {name: dataset_record(name) for name in suite_datasets(suite)}
    warm_feature_nets(suite, console)
    return environment, datasets


def preflight(suite: Suite, out: Path, *, address: str | None, storage: str | None, fresh: bool) -> None:
    """The quick checks, before the deep ones (``prepare``) and Ray's start; it creates nothing."""
    from ganbench.sweep.runner import check_reachable

    check_out_path(out)
    if storage and suite.search is None:
        raise UserError(f"--storage: suite {suite.name!r} has no search: block, so there are no Optuna studies to store")
    if storage:
        from ganbench.search.optuna_setup import check_storage_url

        check_storage_url(storage)
    if out.exists():  # a busy, damaged or foreign folder (checked again under the lock)
        FolderLock(out).check_free()
        if not fresh:
            check_same_suite(suite, out)  # reads run.json, trials.parquet and suite.yaml: a damaged one is named
            if suite.search is not None:
                resolve_storage(out, storage)
    if address is not None:
        check_reachable(address)  # an unreachable head fails now, not after the deep checks


def resolve_storage(out: Path, storage: str | None) -> tuple[str, str]:
    """(URL to open, what run.json records) for a searched suite's studies.

    The default is the folder's own journal file, recorded by name only: a copied or moved folder
    resumes into its own journal, and no path outside the folder is ever followed from run.json
    (older runs recorded an absolute path: it is read as "the journal"). An RDB URL is recorded
    without its password and used on resume only when --storage repeats it.
    """
    from ganbench.search.optuna_setup import JOURNAL_NAME, redact

    journal = str(out.resolve() / JOURNAL_NAME)
    previous = (read_run_info(out) or {}).get("optuna_storage")
    if previous and "://" in previous:
        if not storage:
            raise UserError(f"{out}: its studies are in {previous}; resume with --storage and that URL in full "
                            f"(passwords are not recorded)")
        if redact(storage) != previous:
            raise UserError(f"{out}: its studies are in {previous}, not {redact(storage)}; resume with --storage "
                            f"{previous} (to start over: {start_over_hint(out)})")
        return storage, previous
    if previous:
        if storage:
            raise UserError(f"{out}: its studies are in its own {JOURNAL_NAME}; resume without --storage "
                            f"(to start over in {redact(storage)}: {start_over_hint(out)})")
        return journal, JOURNAL_NAME
    return (storage, redact(storage)) if storage else (journal, JOURNAL_NAME)


def warm_feature_nets(suite: Suite, console: Console) -> None:
    """Train (or find cached) each image dataset's feature network once here, not in every worker."""
    from ganbench.datasets import ImageDataset
    from ganbench.metrics.features import load_feature_net

    for name in suite_datasets(suite):
        data = DATASETS.get(name)()
        if isinstance(data, ImageDataset):
            _, accuracy = load_feature_net(data)
            console.print(f"feature network for {name}: test accuracy {accuracy:.1%}")


def _first_profiled(next_job):
    """Mark the first job of the sweep for torch.profiler (--profile)."""
    state = {"first": True}

    def wrapped():
        job = next_job()
        if job is not None and state.pop("first", False):
            job.profile = True
        return job

    return wrapped
