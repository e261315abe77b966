"""`bench.py run`: plan the trials of a suite, skip the finished ones, run the rest on Ray, report."""
from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from ganbench.environment import driver_environment
from ganbench.progress import SweepProgress
from ganbench.registry import DATASETS
from ganbench.report import write_report
from ganbench.results import ResultsStore, read_run_info, write_suite
from ganbench.suite import Suite, SuiteError


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
              fresh: bool = False, console: Console | None = None) -> Path:
    """Run every unfinished trial of ``suite`` into ``out``; return the leaderboard's path."""
    from ganbench.runner import RayOptions, run_trials, start_ray  # Ray imports only when running

    console = console or Console(stderr=True)
    prepare_folder(suite, out, fresh)
    configs = suite.trial_configs()
    store = ResultsStore(out)
    finished = store.finished_ids()
    todo = [c for c in configs if c.config_hash() not in finished]
    out.mkdir(parents=True, exist_ok=True)
    environment = driver_environment()
    write_suite(out, suite.model_dump(mode="json"), {
        "suite": suite.name, "suite_hash": suite.suite_hash(), "environment": environment,
        "command": " ".join(sys.argv), "started_at": datetime.now(timezone.utc).isoformat(),
        "trials_planned": len(configs),
    })
    console.print(f"[bold]{suite.name}[/]: {len(suite.cells())} cells x {len(suite.seeds)} seeds = "
                  f"{len(configs)} trials; {len(configs) - len(todo)} already finished in {out}")
    t0 = time.perf_counter()
    if todo:
        start_ray(address)
        primary = DATASETS.get(todo[0].dataset)().primary_metric
        opts = RayOptions(address, suite.resources.num_cpus, suite.resources.num_gpus, max_concurrent)
        with SweepProgress(len(configs), len(configs) - len(todo), primary, console) as progress:
            def record(out_: dict) -> None:
                store.add({**out_["row"], "suite": suite.name, "suite_hash": suite.suite_hash(), **environment},
                          out_["curves"])
                progress.finished(out_["row"])

            run_trials(todo, suite.axes(), opts, on_start=progress.started, on_result=record)
    board = write_report(out)
    console.print(f"done in {time.perf_counter() - t0:.1f}s")
    return board
