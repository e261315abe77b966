"""What PacGAN's Table 1 protocol costs here: a slice of it, solo vs stacked, projected to the whole.

    python benchmarks/pacgan_slice.py [--steps 1000] [--seeds 10] [--compile] [--out results/benchmarks]

The trials are suites/papers/pacgan-ring.yaml's, at the paper's settings (G 4 x 400 with batch norm,
D 3 x 200 maxout-5, simultaneous Adam updates, 100 packed rows) for ``--steps`` iterations. Per
packing (GAN, PacGAN2/3/4): one trial alone and ``--seeds`` seeds stacked as one model, side by side
in this process on one thread (what each of two Ray workers gets on this 2-core machine), after a
warm-up of each. With ``--compile`` the stacked model is also run with ``compile: true`` (compile
time reported apart). Training seconds exclude evaluation; one evaluation (2,500 samples) is timed
apart and the protocol's 20 per trial are added to the projection.

Packings do not stack together: D's input width is pac x 2, so batch_key keeps them apart (checked
below). The projection of the full protocol (10 seeds x 4 packings x 2 datasets x 400,000
iterations; the grid's G and D are the ring's) assumes trials run independently on every core
(scaling.py measured that Ray's per-trial overhead is seconds): on this machine's 2 cores, and on
the 3-node Cluster layout of 2 cores per node (6 workers). Writes ``pacgan_slice.csv`` and
``pacgan_projection.csv`` under ``--out``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see batched.py: spinning OpenMP waits skew small matmuls

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, train_seconds, write_performance_page  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.suite import load_suite  # noqa: E402
from ganbench.training import train, train_stacked  # noqa: E402
from ganbench.training.evaluate import evaluate  # noqa: E402
from ganbench.training.gan import build  # noqa: E402
from ganbench.training.stacked import batch_key  # noqa: E402

PROTOCOL = {"iterations": 400_000, "seeds": 10, "datasets": 2, "evaluations": 20}


def configs(steps: int, seeds: int) -> dict[str, list[TrialConfig]]:
    """Each packing's trials, ``seeds`` of them, at ``steps`` iterations with one evaluation (at the end)."""
    suite = load_suite(ROOT / "suites/papers/pacgan-ring.yaml",
                       [f"budget.steps={steps}", f"budget.eval_every={steps}"])
    return {cell["variant"]: [suite.config(cell, seed) for seed in range(seeds)] for cell in suite.cells()}


def eval_seconds(cfg: TrialConfig) -> float:
    gan = build(cfg)
    evaluate(gan, cfg, torch.Generator().manual_seed(0))  # warm-up
    start = time.perf_counter()
    evaluate(gan, cfg, torch.Generator().manual_seed(1))
    return time.perf_counter() - start


def measure(variant: str, cfgs: list[TrialConfig], compiled: bool) -> list[dict]:
    steps, m = cfgs[0].steps, len(cfgs)
    alone = train(cfgs[0])
    stacked = train_stacked(cfgs)
    assert alone.status == "complete" and all(r.status == "complete" for r in stacked), variant
    alone_s, stacked_s = train_seconds(alone.metrics), train_seconds(stacked[0].metrics)
    base = {"variant": variant, "pac": cfgs[0].pac, "steps": steps, "eval_s": eval_seconds(cfgs[0]),
            "alone_it/s": steps / alone_s}
    rows = [{**base, "mode": f"{m} stacked", "stacked_it/s": steps / stacked_s,
             "trial_it/s": m * steps / stacked_s, "speedup": m * alone_s / stacked_s, "compile_s": 0.0}]
    if compiled:
        warm = [c.model_copy(update={"compile": True, "steps": 2, "eval_every": 2}) for c in cfgs]
        start = time.perf_counter()
        train_stacked(warm)  # the compile, paid once per process and shape
        compile_s = time.perf_counter() - start
        runs = train_stacked([c.model_copy(update={"compile": True}) for c in cfgs])
        seconds = train_seconds(runs[0].metrics)
        rows.append({**base, "mode": f"{m} stacked, compiled", "stacked_it/s": steps / seconds,
                     "trial_it/s": m * steps / seconds, "speedup": m * alone_s / seconds, "compile_s": compile_s})
    return rows


def projection(rows: list[dict]) -> list[dict]:
    """Hours for the whole protocol, each packing's trials at the measured per-trial rate, on W workers."""
    out = []
    for mode in dict.fromkeys(r["mode"] for r in rows):
        for solo in (True, False):
            if solo and mode != rows[0]["mode"]:
                continue
            core_s = 0.0  # one core's seconds for every trial of the protocol
            for r in (r for r in rows if r["mode"] == mode):
                rate = r["alone_it/s"] if solo else r["trial_it/s"]
                per_trial = PROTOCOL["iterations"] / rate + PROTOCOL["evaluations"] * r["eval_s"]
                core_s += per_trial * PROTOCOL["seeds"] * PROTOCOL["datasets"] + (0 if solo else r["compile_s"])
            label = "solo (one trial per worker)" if solo else mode
            for where, workers in (("this machine, 2 cores", 2), ("3-node Cluster, 2 cores each", 6)):
                out.append({"schedule": label, "where": where, "workers": workers, "trials": 80,
                            "core_hours": core_s / 3600, "wall_hours": core_s / workers / 3600})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="iterations of the slice (the protocol: 400,000)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds stacked per packing (the protocol: 10)")
    parser.add_argument("--compile", action="store_true", help="also run the stacked model compiled")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    by_variant = configs(args.steps, args.seeds)
    keys = {batch_key(cfgs[0]) for cfgs in by_variant.values()}
    print(f"{len(by_variant)} packings, {len(keys)} distinct batch keys: packings cannot share a stacked model",
          file=sys.stderr)
    warm = [c.model_copy(update={"steps": 5, "eval_every": 5}) for c in by_variant["gan"][:2]]
    train(warm[0]), train_stacked(warm)  # first-call costs out of the timings
    rows = [row for variant, cfgs in by_variant.items() for row in measure(variant, cfgs, args.compile)]
    report(rows, f"PacGAN ring protocol, {args.steps} iterations, one thread", args.out, "pacgan_slice")
    report(projection(rows), "the full Table 1 protocol (80 trials x 400,000 iterations), projected",
           args.out, "pacgan_projection")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
