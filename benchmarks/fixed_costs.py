"""Fixed costs of a small suite, measured side by side in one run (these machines are shared and noisy).

    python benchmarks/fixed_costs.py [--steps 2000] [--repeats 2] [--out results/benchmarks]

A 4-trial ring8 suite (losses nonsaturating and hinge x k in {1, 3} x 1 seed, batch 256) as
  (a) the ideal: the same 4 trials' training, ganbench's `train` in two processes at a time (one
      torch thread each, the harness's share of a 2-core machine), longest first (as the harness
      plans them), timed once the processes are up,
  (b) end to end: `bench.py run` in a subprocess, by the wall clock, from start to exit (Python start,
      imports, Ray start, worker start, training, tables, plots), with the parts it records in run.json.
  (c) (b) joined (--address) to a Ray head started once before the repeats, as for many small suites in
      a row: what is left when Ray's start is not paid per run.
For (b), machine_cpu_s is the CPU seconds the whole machine spent busy during the run (/proc/stat: the
driver, Ray's processes, the workers, the plots), and fixed_cpu_s that less the trials' own training (their
summed wall_s, each on one thread): imports, Ray's processes, the workers' start, the checks, the plots.
2 cores give at most 2 CPU seconds a second, so the run cannot take less than machine_cpu_s / 2, and
ratio_bound_2_cores = ideal / (machine_cpu_s / 2) is the best (a)/(b) this much work allows, however well it
overlaps. The machine must be otherwise idle.
(a), (b) and (c) alternate `--repeats` times and the ratios are taken per repeat. Target: (a)/(b) >= 0.8.
On the last end-to-end folder the report is rebuilt with the plots drawn in-process vs in 2 forked
workers, alternated, to check that rendering them beside the tables pays.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, write_performance_page  # noqa: E402

from ganbench.registry import LOSSES  # noqa: E402
from ganbench.suite import Suite, validate_suite  # noqa: E402
from ganbench.sweep.timings import KEYS  # noqa: E402
from ganbench.training.loop import samples_per_iteration  # noqa: E402


#: the cores the harness has here: the ideal trains this many trials at a time
CORES = 2


def suite_dict(steps: int) -> dict:
    return {
        "name": "fixed-costs", "seeds": [0], "budget": {"steps": steps, "eval_every": 250},
        "grid": {"model": ["mlp"], "loss": ["nonsaturating", "hinge"], "d_steps_per_g_step": [1, 3],
                 "dataset": ["ring8"]},
        "params": {"batch_size": 256, "device": "cpu"}, "resources": {"num_cpus": 1},
    }


def _one_thread() -> None:
    import torch

    import ganbench.training  # noqa: F401  (imported before the clock starts, as a warm Ray worker has it)

    torch.set_num_threads(1)


def _train(cfg_json: str) -> float:
    from ganbench.config import TrialConfig
    from ganbench.training import train

    return train(TrialConfig.model_validate_json(cfg_json)).metrics["wall_s"]


def _ready(_: int) -> None:
    time.sleep(0.2)  # held briefly, so that each process takes one: all have started and imported


def ideal(suite: Suite, processes: int = CORES) -> float:
    """Wall seconds of the suite's trials trained `processes` at a time, counted once the processes are ready.

    Longest first, by the work the harness's planner sorts on (steps x examples drawn per iteration): in the
    grid's order a k = 3 trial starts last and the other process idles, which made this "ideal" ~15% slower
    than the harness's own training.
    """
    def work(cfg) -> int:
        return cfg.steps * samples_per_iteration(cfg, LOSSES.get(cfg.loss))

    cfgs = [cfg.model_dump_json() for cfg in sorted(suite.trial_configs(), key=work, reverse=True)]
    with mp.get_context("spawn").Pool(processes, initializer=_one_thread) as pool:
        pool.map(_ready, range(processes), chunksize=1)
        t0 = time.perf_counter()
        pool.map(_train, cfgs, chunksize=1)
        return time.perf_counter() - t0


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has been busy since boot (Linux's /proc/stat; NaN elsewhere)."""
    try:
        ticks = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return math.nan
    user, nice, system, idle, iowait, irq, softirq, steal = ticks  # guest time is inside user
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def end_to_end(suite_path: Path, out: Path, address: str | None = None) -> tuple[float, float, dict]:
    """Wall seconds of `bench.py run` from start to exit (joining ``address`` if given), the CPU seconds the
    machine spent meanwhile (every process: the driver, Ray's, the workers, the plots), and the timings it
    wrote to run.json."""
    join = ["--address", address] if address else []
    t0, cpu0 = time.perf_counter(), busy_cpu_s()
    run = subprocess.run([sys.executable, str(ROOT / "bench.py"), "run", str(suite_path), "--out", str(out),
                          "--timings", *join], cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, busy_cpu_s() - cpu0
    if run.returncode != 0:
        sys.exit(f"bench.py run failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return wall, cpu, json.loads((out / "run.json").read_text())["timings"]


def trials_cpu_s(out: Path) -> float:
    """The trials' own training time summed (each on one thread: its CPU seconds) from the folder's table."""
    return float(pd.read_parquet(out / "trials.parquet")["wall_s"].sum())


@contextlib.contextmanager
def warm_head(num_cpus: int = CORES):
    """A Ray head started once, as a user running many small suites would (`ray start --head`), on 127.0.0.1;
    yields its address, stopped on leaving (its processes end with `ray start --block`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen([ray, "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
                             "--include-dashboard", "false", "--disable-usage-stats", "--num-cpus", str(num_cpus),
                             "--block"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or head.poll() is not None:
                    sys.exit("the warm Ray head did not start")
                time.sleep(0.1)
        time.sleep(5)  # its raylet and agents up: not part of what is measured
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()
        head.wait(timeout=60)


def report_side_by_side(folder: Path, repeats: int) -> list[dict]:
    """The report of one folder with its plots drawn in this process (0) vs in 2 forked workers, alternated."""
    from ganbench.report import plots, write_report

    rows, chosen = [], plots.PLOT_WORKERS
    for i in range(repeats):
        for workers in (0, chosen):
            shown, timings, forkable = [], {}, threading.active_count() == 1
            t0 = time.perf_counter()
            plots.PLOT_WORKERS = workers  # this process has one thread: >= 1 forks, as `bench.py run` does
            try:
                write_report(folder, on_tables=lambda board: shown.append(time.perf_counter() - t0), timings=timings)
            finally:
                plots.PLOT_WORKERS = chosen
            rows.append({"repeat": i, "plot_workers": workers, "forked": workers >= 1 and forkable,
                         "tables_ready_s": shown[0],
                         "report_wall_s": time.perf_counter() - t0, **timings})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = ap.parse_args()
    data = suite_dict(args.steps)
    suite = validate_suite(data)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fixed-costs-") as tmp:
        suite_path = Path(tmp) / "fixed-costs.yaml"
        suite_path.write_text(yaml.safe_dump(data, sort_keys=False))
        with warm_head() as address:
            for i in range(args.repeats):
                bare = ideal(suite)
                wall, cpu, timings = end_to_end(suite_path, Path(tmp) / f"run-{i}")
                fixed_cpu = cpu - trials_cpu_s(Path(tmp) / f"run-{i}")
                joined, _, _ = end_to_end(suite_path, Path(tmp) / f"joined-{i}", address)
                rows.append({"repeat": i, "trials": len(suite.trial_configs()), "steps": args.steps,
                             "ideal_s": bare, "end_to_end_s": wall, "ratio_ideal_over_e2e": bare / wall,
                             "joined_warm_head_s": joined, "ratio_ideal_over_joined": bare / joined,
                             "machine_cpu_s": cpu, "fixed_cpu_s": fixed_cpu,
                             "ratio_bound_2_cores": bare / (cpu / CORES),
                             **{key: timings[key] for key in KEYS}})
        report(rows, f"4 ring8 trials, {args.steps} steps: (a) ideal, 2 at a time vs (b) bench.py run end to end",
               args.out, "fixed_costs")
        plot_rows = report_side_by_side(Path(tmp) / f"run-{args.repeats - 1}", args.repeats)
        report(plot_rows, "the report of that run: plots in-process (0) vs in forked workers", args.out,
               "fixed_costs_report")
    ratios = [r["ratio_ideal_over_e2e"] for r in rows]
    joined = statistics.median(r["ratio_ideal_over_joined"] for r in rows)
    bound = statistics.median(r["ratio_bound_2_cores"] for r in rows)
    by = {w: statistics.median(r["report_wall_s"] for r in plot_rows if r["plot_workers"] == w)
          for w in sorted({r["plot_workers"] for r in plot_rows})}
    print(f"median (a)/(b) = {statistics.median(ratios):.3f} (target >= 0.8), joined to a warm head {joined:.3f}, "
          f"bound by its CPU {bound:.3f}; "
          "report wall by plot workers: "
          + ", ".join(f"{w}: {s:.2f} s" for w, s in by.items()))
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
