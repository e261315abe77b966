"""Shared bits of the benchmark scripts: a table printer, a CSV writer and the performance page."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ganbench.results import atomic_write, atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def train_seconds(metrics: dict[str, float]) -> float:
    """A trial's training seconds: its wall time less the share spent in evaluation."""
    return metrics["wall_s"] * (1 - metrics["eval_frac"])


def report(rows: list[dict], title: str, out: Path, name: str) -> pd.DataFrame:
    """Print ``rows`` as a table and write them to ``out/name.csv``."""
    frame = pd.DataFrame(rows)
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)
    atomic_write(Path(out) / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))
    return frame


#: every benchmark table, in page order: CSV name -> (heading, what it measures and how to rerun it)
SECTIONS = {
    "overhead": ("Harness overhead (CPU)", "`python benchmarks/overhead.py`: the ring8 MLP (hidden 128, batch 256) for "
                 "2000 steps as (a) a bare PyTorch loop, (a') the same loop with fused Adam and a G-only backward, "
                 "(b) ganbench's `train`, alternated per repeat. Target (b)/(a) >= 0.97, eval_frac <= 10%."),
    "overhead_ray": ("One trial through Ray (CPU)", "The same trial as a Ray task: task wall vs the trial's own "
                     "wall is Ray's per-trial cost; the first row includes worker start-up."),
    "batched": ("Batched trials (CPU)", "`python benchmarks/batched.py`: M ring8 MLP trials one at a time vs one "
                "stacked model (execution.batch_trials). Target >= 1.8x at M = 32 on 2 cores."),
    "scaling": ("Scaling (CPU)", "`python benchmarks/scaling.py`: trials/hour of a toy suite against "
                "--max-concurrent, on a 3-node ray.cluster_utils.Cluster, and the ring-losses example suite "
                "(target under 90 s on 2 cores)."),
    "fixed_costs": ("Fixed costs of a small suite (CPU)", "`python benchmarks/fixed_costs.py`: 4 ring8 trials "
                    "(nonsaturating, hinge x k in {1, 3}, 2000 steps, batch 256) as (a) the ideal, ganbench's `train` "
                    "two processes at a time, longest first as the planner orders them, vs (b) `bench.py run` end "
                    "to end by the wall clock, and (c) the same joined (--address) to a Ray head started once, "
                    "alternated per repeat, with the parts run.json records for (b). Target (a)/(b) >= 0.8. "
                    "machine_cpu_s: the CPU the whole machine spent during (b); fixed_cpu_s: that less the "
                    "trials' own training. 2 cores run at most 2 CPU seconds a second, so "
                    "ratio_bound_2_cores = ideal / (machine_cpu_s / 2) is the best (a)/(b) that work allows."),
    "fixed_costs_report": ("Report of that suite: plots beside the tables", "The last run's report rebuilt with its "
                           "plots drawn in-process (0) vs in forked workers, alternated; tables_ready_s is when "
                           "the terminal summary can print."),
    "stack_by_shape": ("Stacking by shape across cells (CPU)", "`python benchmarks/stack_by_shape.py`: 9 ring8 "
                       "trials that differ in loss (minimax, non-saturating, hinge) and learning rate, one at a time "
                       "vs one stacked model, on 2 threads and on 1 (and compiled); each member's curves against its run alone "
                       "(gap relative to max(|value|, 0.01)), beside the same trials alone with foreach vs fused "
                       "Adam as the yardstick of rounding. Target >= 2x model-steps/s with curves within rtol 1e-4."),
    "stack_by_shape_suite": ("The ring-losses suite, planned by shape", "The same script: the ring-losses example "
                             "suite end to end on 2 cores with batch_trials 1 vs 9 (each k's 3 losses x 3 seeds "
                             "stacked, cut 5 + 4 so both workers train each k), against its FLOP floor. Target "
                             "within 2x."),
    "step_breakdown": ("Where the ring-losses step's time goes (CPU)", "`python benchmarks/step_breakdown.py`: per k, "
                       "one trial alone and 5 stacked on one thread (as a Ray worker trains them): ms per "
                       "member-iteration, the part in matmul kernels (each call timed by the wall clock) and the "
                       "rest (activations and their gradients, Adam, losses, sampling, Python)."),
    "step_breakdown_suite": ("The ring-losses suite at those rates", "The same script: the suite's 18 trials x 2,000 "
                             "iterations at the stacked rates above on 2 cores: its matmuls alone, the rest, their "
                             "sum, against the FLOP floor and the target (2x the floor). The matmuls alone take ~1.4x "
                             "the floor: the target leaves the rest of the step and the run's fixed costs (~12-15 s, "
                             "fixed_costs.py) the difference."),
    "step_breakdown_shapes": ("The stacked step's matmuls by shape", "The same script: the six costliest matmul "
                              "shapes of the 5-member stacked step per k. The 128-wide layers run at ~85-90% of "
                              "the core's sgemm rate; D's 1-wide output layer (its weight gradient, a matrix-vector "
                              "product, and its input gradient, an outer product) and the 2-wide input layers at "
                              "1.5-12 GFLOPS. These are memory-bound, not badly served: the same layers as elementwise "
                              "products and sums, forward and backward, took 1.1-2.7x longer."),
    "pacgan_slice": ("PacGAN's Table 1 protocol, a slice (CPU)", "`python benchmarks/pacgan_slice.py --compile`: "
                     "the paper's ring trials (G 4 x 400 batch norm, D 3 x 200 maxout-5, simultaneous updates, "
                     "batch 100) per packing: one trial alone vs 10 seeds stacked (and compiled), on one thread. "
                     "The pacgan4 compiled row ran after this process hit dynamo's recompile limit (8; "
                     "every stacked forward shares one code object), so partly eagerly: the limit is now 64."),
    "pacgan_projection": ("The full protocol, projected", "The same script: 80 trials x 400,000 iterations "
                          "plus 20 evaluations each, at the measured rates, on 2 workers (this machine) and 6 "
                          "(3 nodes of 2 cores)."),
    "gpu": ("Throughput on GPU", "`python benchmarks/gpu.py` (CUDA only): steady-state samples/s and MFU, "
            "fp32 vs bf16 autocast, eager vs torch.compile."),
    "gpu_batched": ("Batched trials on GPU", "ring8 MLP, M trials as one stacked model vs one at a time "
                    "(target >= 20x)."),
}


def write_performance_page(out: Path) -> None:
    """Rebuild performance.md beside ``out`` (results/benchmarks -> results/performance.md) from every benchmark
    CSV under ``out``: each script refreshes its own table, the others stay as last measured (each CSV is one
    side-by-side run). A run with another --out leaves the published page alone."""
    lines = ["# Performance", "", "Tables written by the scripts in `benchmarks/` (each one run, its ratios "
             "measured side by side in that run; absolute times drift with the load of a shared machine).", ""]
    for name, (heading, about) in SECTIONS.items():
        path = Path(out) / f"{name}.csv"
        if not path.exists():
            continue
        lines += [f"## {heading}", "", about, "", pd.read_csv(path).to_markdown(index=False, floatfmt=".4g"), ""]
    atomic_write_text(Path(out).parent / "performance.md", "\n".join(lines))
