"""`bench.py run`: plan the trials of a suite, skip the finished ones, run the rest on Ray, report."""
from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from ganbench.checks import check_suite
from ganbench.datasets import dataset_record
from ganbench.registry import DATASETS
from ganbench.report import write_report
from ganbench.results import ResultsStore, read_run_info, write_suite
from ganbench.suite import Suite, SuiteError, suite_datasets
from ganbench.sweep.environment import driver_columns, driver_environment
from ganbench.sweep.progress import SweepProgress


def prepare_folder(suite: Suite, out: Path, fresh: bool) -> None:
    """Refuse to mix two different suites in one folder; with ``fresh``, move the old run aside."""
    info = read_run_info(out)
    if info is None:
        return
    if fresh:
        aside = out.with_name(f"{out.name}.old-{datetime.now():%Y%m%d-%H%M%S}")
        shutil.move(str(out), str(aside))
        Console(stderr=True).print(f"moved the previous run aside to {aside}")
    elif info.get("suite_hash") != suite.suite_hash():
        raise SuiteError(
            f"{out}: holds a run of a different suite (hash {info.get('suite_hash')}, this one {suite.suite_hash()}); "
            f"rerun with --out DIR for a new folder, or --fresh to move the old run aside"
        )


def run_suite(suite: Suite, out: Path, *, address: str | None = None, max_concurrent: int | None = None,
              fresh: bool = False, storage: str | None = None, formats: tuple[str, ...] = (),
              profile: bool = False, console: Console | None = None, source: str | None = None) -> Path:
    """Run every unfinished trial of ``suite`` into ``out``; return the leaderboard's path.

    The suite's deep checks (models fit data, options supported) run first: nothing is written before.
    ``source`` names the suite in their messages (its file).
    """
    from ganbench.sweep.plan import GridPlan, SearchPlan  # Ray imports only when running
    from ganbench.sweep.runner import RayOptions, run_jobs, start_ray

    console = console or Console(stderr=True)
    check_suite(suite, source)
    prepare_folder(suite, out, fresh)
    store = ResultsStore(out)
    out.mkdir(parents=True, exist_ok=True)
    environment = driver_environment()
    datasets = {name: dataset_record(name) for name in suite_datasets(suite)}
    run_info = {
        "suite": suite.name, "suite_hash": suite.suite_hash(), "environment": environment,
        "command": " ".join(sys.argv), "started_at": datetime.now(timezone.utc).isoformat(),
        "datasets": datasets,  # what reports need of the data, so they never load it again
    }
    start_ray(address)
    if suite.search is None:
        plan = GridPlan(suite, store.rows)
    else:
        from ganbench.search.optuna_setup import storage_url
        from ganbench.sweep.studies import Studies

        url = _resume_storage(out, storage) or storage_url(out, storage)
        run_info["optuna_storage"] = url
        plan = SearchPlan(suite, Studies(url, suite), store.rows)
        if plan.retried:
            console.print(f"{plan.retried} trials left running by an earlier driver are marked failed and run again")
    write_suite(out, suite.model_dump(mode="json"), {**run_info, "trials_planned": plan.total})
    console.print(f"[bold]{suite.name}[/]: {len(suite.cells())} cells, {plan.total} trials planned; "
                  f"{plan.already_done} already finished in {out}")
    warm_feature_nets(suite, console)
    t0 = time.perf_counter()
    primary = suite.search.objective.metric if suite.search else datasets[suite_datasets(suite)[0]]["primary_metric"]
    opts = RayOptions(address, suite.resources.num_cpus, suite.resources.num_gpus, max_concurrent, suite.max_retries)
    with SweepProgress(plan, primary, console) as progress:
        def record(job, result: dict) -> None:
            row = {**result["row"], "suite": suite.name, "suite_hash": suite.suite_hash(), **driver_columns(environment)}
            plan.annotate(job, row)
            store.add(row, result["curves"], result.get("snapshots", ()), result.get("pictures"))
            if "profile" in result:
                paths = store.add_profile(row["trial_id"], *result["profile"])
                console.print(f"profile of trial {row['trial_id']}: {', '.join(map(str, paths))}")
            plan.finished(job, row)
            progress.finished(job, row)

        run_jobs(_first_profiled(plan.next_job) if profile else plan.next_job, suite.axes(), opts,
                 on_start=progress.started, on_result=record)
    board = write_report(out, formats)
    console.print(f"done in {time.perf_counter() - t0:.1f}s")
    return board


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


def _resume_storage(out: Path, storage: str | None) -> str | None:
    """A resumed run keeps the studies it started with: the stored URL, unless another is asked for."""
    previous = (read_run_info(out) or {}).get("optuna_storage")
    if previous and storage and storage != previous:
        raise SuiteError(f"{out}: its studies are in {previous}; resume with --storage {previous} "
                         f"(or --fresh / another --out to start over with {storage})")
    return previous
