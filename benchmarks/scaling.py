"""Trials/hour of a toy suite against --max-concurrent, on this machine and on a 3-node
ray.cluster_utils.Cluster, plus the wall time of the issue-3 example suite (suites/ring-losses.yaml).

    python benchmarks/scaling.py [--steps 500] [--out results/benchmarks] [--skip-example]

Every configuration runs the same suite into a fresh temporary folder, one after the other in
one process, so the numbers are side by side.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, write_performance_page  # noqa: E402

from ganbench.suite import load_suite, validate_suite  # noqa: E402


def toy_suite(steps: int):
    return validate_suite({
        "name": "scaling", "seeds": [0, 1, 2, 3], "budget": {"steps": steps, "eval_every": steps},
        "grid": {"model": ["mlp"], "loss": ["nonsaturating", "hinge"], "dataset": ["ring8"]},
        "params": {"batch_size": 128, "hidden": 64, "eval_samples": 1000},
    })


def timed_run(suite, **kw) -> float:
    from ganbench.sweep.driver import run_suite

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_suite(suite, Path(tmp) / "out", **kw)
        return time.perf_counter() - start


def flop_floor(suite, cores: int = 2) -> dict:
    """The suite's training FLOPs (torch.utils.flop_counter, per iteration of each cell) and the seconds
    they take on ``cores`` cores at this machine's single-thread sgemm rate, measured now on the
    suite's own layer shape: no schedule, however good, trains the suite faster than that."""
    import torch

    from ganbench.training.loop import iteration_flops

    total = sum(iteration_flops(cfg) * cfg.steps for cfg in suite.trial_configs())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = suite.trial_configs()[0]
    x, w = torch.randn(cfg.batch_size, cfg.hidden), torch.randn(cfg.hidden, cfg.hidden)
    for _ in range(50):
        x @ w
    start, n = time.perf_counter(), 2000
    for _ in range(n):
        x @ w
    rate = 2 * cfg.batch_size * cfg.hidden**2 * n / (time.perf_counter() - start)
    torch.set_num_threads(threads)
    return {"train_tflop": total / 1e12, "sgemm_gflops_per_core": rate / 1e9, "flop_floor_s": total / (cores * rate)}


def main() -> None:
    import ray
    from ray.cluster_utils import Cluster

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    ap.add_argument("--skip-example", action="store_true", help="skip the ring-losses wall time (about 3 minutes)")
    args = ap.parse_args()
    suite = toy_suite(args.steps)
    n = len(suite.trial_configs())
    rows = []
    from ganbench.sweep.runner import start_ray

    start_ray(None)  # started once: the runs below measure scheduling, not Ray's start-up
    for limit in (1, 2):
        wall = timed_run(suite, max_concurrent=limit)
        rows.append({"where": "local Ray", "max_concurrent": limit, "trials": n, "wall_s": wall,
                     "trials_per_hour": n / wall * 3600})
    if not args.skip_example:
        example = load_suite(ROOT / "suites/ring-losses.yaml")
        floor = flop_floor(example)
        wall = timed_run(example)
        rows.append({"where": "local Ray: ring-losses example", "max_concurrent": 2, "trials": 18, "wall_s": wall,
                     "trials_per_hour": 18 / wall * 3600, **floor})
        batched = load_suite(ROOT / "suites/ring-losses.yaml", ["execution.batch_trials=3"])
        wall = timed_run(batched)
        rows.append({"where": "ring-losses, batch_trials=3", "max_concurrent": 2, "trials": 18, "wall_s": wall,
                     "trials_per_hour": 18 / wall * 3600, **floor})
    ray.shutdown()
    # three nodes on one machine: the same 2 cores, split 1 + 1 + 1 (head, two workers): overhead, not speed
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address)
        wall = timed_run(suite, address=cluster.address)
        rows.append({"where": "3-node Cluster (1 CPU each)", "max_concurrent": 3, "trials": n, "wall_s": wall,
                     "trials_per_hour": n / wall * 3600})
    finally:
        ray.shutdown()
        cluster.shutdown()
    report(rows, f"trials/hour, {n} trials of {args.steps} steps", args.out, "scaling")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
