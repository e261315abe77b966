"""Stacking by shape across cells: trials that differ in loss and learning rate as one stacked model.

    python benchmarks/stack_by_shape.py [--steps 1000] [--skip-suite] [--out results/benchmarks]

(A) 9 ring8 MLP trials (minimax, non-saturating, hinge x learning rates 1e-4, 3e-4, 1e-3; one seed
each; batch 256, k = 1) trained one at a time (``train``) and as one stacked model (``train_stacked``),
side by side in this process after a warm-up of each, on 2 threads (as batched.py: the machine's cores
for one job at a time) and on 1 (what each of two Ray workers gets; there the small matmuls of one
trial already run near the core's sgemm rate, so stacking has less to win). model-steps/s = 9 * steps /
training seconds (wall less evaluation). Each member's curves (d_loss, g_loss, D(x), D(G(z)),
modes covered) are compared with its run alone at every evaluation: the largest gap relative to
max(|value|, 0.01), and how many members stay within 1e-4; beside it, as the yardstick, each trial
alone with torch's foreach Adam against the fused Adam ``train`` uses (the same arithmetic, rounded
differently: a GAN's training amplifies any rounding difference alike). Target:
>= 2x, curves matching.

(B) The ring-losses example suite (3 losses x k in {1, 3} x 3 seeds, 2000 steps) end to end through
``run_suite`` on 2 cores, as planned with batch_trials 1 (18 trials, two at a time) and 9 (the
planner stacks each k's 9 trials: 3 losses x 3 seeds), against its FLOP floor (scaling.py's: the
suite's training FLOPs at this machine's single-thread sgemm rate on 2 cores). Target: within 2x.
Writes ``stack_by_shape.csv`` and ``stack_by_shape_suite.csv`` under ``--out``.
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
from scaling import flop_floor, timed_run  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.suite import load_suite  # noqa: E402
from ganbench.training import train, train_stacked  # noqa: E402
from ganbench.training.loop import Solo, run  # noqa: E402

LOSSES = ("minimax", "nonsaturating", "hinge")
LRS = (1e-4, 3e-4, 1e-3)
COMPARED = ("d_loss", "g_loss", "d_real_mean", "d_fake_mean", "modes_covered")


def members(steps: int) -> list[TrialConfig]:
    return [TrialConfig(model="mlp", loss=loss, dataset="ring8", batch_size=256, z_dim=2, betas=(0.5, 0.999),
                        lr_g=lr, lr_d=lr, seed=0, steps=steps, eval_every=max(1, steps // 4), device="cpu")
            for loss in LOSSES for lr in LRS]


def curve_gaps(got, want) -> dict[int, float]:
    """Per evaluation step: the largest gap over the compared curve values, relative to max(|value|, 0.01)
    (D outputs near 0 would make a plain relative gap explode)."""
    gaps: dict[int, float] = {}
    for (step, name, a), (_, _, b) in zip(got.curves, want.curves):
        if name in COMPARED:
            gaps[step] = max(gaps.get(step, 0.0), abs(a - b) / max(abs(b), 0.01))
    return gaps


def foreach_adam(cfg: TrialConfig):
    """The trial alone through the same loop, its optimizers torch's foreach Adam (``train`` uses the fused one)."""
    trainer = Solo(cfg)
    gan = trainer.gan
    gan.opt_g = torch.optim.Adam(gan.G.parameters(), lr=cfg.lr_g, betas=cfg.betas, foreach=True)
    gan.opt_d = torch.optim.Adam(gan.D.parameters(), lr=cfg.lr_d, betas=cfg.betas_d or cfg.betas, foreach=True)
    return run(trainer, time.perf_counter())[0]


def measure_members(steps: int) -> list[dict]:
    """One row per thread count (2, 1) plus one per evaluation step of the curve comparison."""
    cfgs = members(steps)
    alone, stacked = {}, {}
    for threads in (2, 1):
        torch.set_num_threads(threads)
        alone[threads] = [train(c) for c in cfgs]
        stacked[threads] = train_stacked(cfgs)
    rows = []
    for threads in (2, 1):
        alone_s = sum(train_seconds(r.metrics) for r in alone[threads])
        stacked_s = train_seconds(stacked[threads][0].metrics)
        rows.append({"compare": f"speed, {threads} thread(s)", "alone_s": alone_s, "stacked_s": stacked_s,
                     "alone_model_steps/s": 9 * steps / alone_s, "stacked_model_steps/s": 9 * steps / stacked_s,
                     "speedup": alone_s / stacked_s})
    # the stacked step compiled (once for all members; the compile itself is a warm-up run, not timed)
    torch.set_num_threads(1)
    train_stacked([c.model_copy(update={"compile": True, "steps": 2, "eval_every": 2}) for c in cfgs])
    compiled = train_stacked([c.model_copy(update={"compile": True}) for c in cfgs])
    alone_s, compiled_s = sum(train_seconds(r.metrics) for r in alone[1]), train_seconds(compiled[0].metrics)
    rows.append({"compare": "speed, 1 thread, stacked compiled", "alone_s": alone_s, "stacked_s": compiled_s,
                 "alone_model_steps/s": 9 * steps / alone_s, "stacked_model_steps/s": 9 * steps / compiled_s,
                 "speedup": alone_s / compiled_s})
    # the yardstick: the same trial alone with torch's foreach Adam instead of the fused one rounds differently
    pairs = {"curves: stacked vs alone": (stacked[1], alone[1]),
             "control: alone, foreach vs fused Adam": ([foreach_adam(c) for c in cfgs], alone[1])}
    for what, (got, want) in pairs.items():
        per_member = [curve_gaps(g, w) for g, w in zip(got, want)]
        for step in sorted(per_member[0]):
            worst = max(gaps[step] for gaps in per_member)
            rows.append({"compare": what, "step": step, "max_gap": worst,
                         "members_within_1e-4": sum(gaps[step] <= 1e-4 for gaps in per_member)})
    return rows


def measure_suite() -> list[dict]:
    from ganbench.sweep.runner import start_ray

    start_ray(None)  # once: the runs below measure the plan, not Ray's start-up
    suite = load_suite(ROOT / "suites/ring-losses.yaml")
    floor = flop_floor(suite)
    rows = []
    for batch in (1, 9):
        planned = load_suite(ROOT / "suites/ring-losses.yaml", [f"execution.batch_trials={batch}"])
        wall = timed_run(planned)
        rows.append({"batch_trials": batch, "trials": 18, "wall_s": wall, **floor,
                     "wall_over_floor": wall / floor["flop_floor_s"]})
    import ray

    ray.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--skip-suite", action="store_true", help="skip (B), the ring-losses suite (about 4 minutes)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    warm = members(5)
    train(warm[0]), train_stacked(warm)  # first-call costs out of the timings
    rows = measure_members(args.steps)
    report(rows, "9 trials differing in loss and learning rate: alone vs stacked", args.out, "stack_by_shape")
    if not args.skip_suite:
        report(measure_suite(), "ring-losses suite end to end vs its FLOP floor", args.out, "stack_by_shape_suite")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
