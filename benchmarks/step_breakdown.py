"""Where a ring-losses training step's time goes on one CPU core: matmuls vs everything else.

    python benchmarks/step_breakdown.py [--iterations 200] [--members 5] [--out results/benchmarks]

The ring-losses example suite (suites/ring-losses.yaml: ring8 MLP, hidden 128, batch 256) trains at
~2.5x its FLOP floor however it is planned. This script says why. Per k in {1, 3}, one trial alone and
``--members`` trials stacked (the planner's cut of each k's 9 trials on 2 workers), on one thread as a
Ray worker runs them:

- ``ms/member-it``: wall time of one iteration per member, unprofiled;
- ``matmul_ms``: the part spent in matmul kernels (aten mm/addmm/bmm/baddbmm, each call timed by the
  wall clock from a dispatch mode, per member-iteration), and the GFLOPS they reach there.
  torch.profiler's self times are not used: on this machine they put a K=1 outer product at ~1 ms
  that takes 70 us timed directly;
- ``other_ms``: the rest (activations and their gradients, Adam, losses, sampling, Python).

Then, per shape of the stacked step's matmuls, the rate each reaches: the 128-wide layers run near the
core's sgemm rate, the 2-wide input and 1-wide output layers far below it. The suite's bound is the
matmul time alone over its 18 trials on 2 cores: the wall no elementwise fusion could beat without a
faster matmul; the target (2x the FLOP floor) is compared with it plus the measured fixed costs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see batched.py: spinning OpenMP waits skew small matmuls

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, write_performance_page  # noqa: E402
from scaling import flop_floor  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.suite import load_suite  # noqa: E402
from ganbench.training.loop import Solo, iteration, iteration_flops  # noqa: E402
from ganbench.training.stacked import Stacked  # noqa: E402

MATMULS = ("mm", "addmm", "bmm", "baddbmm")


def trials(suite, k: int, members: int) -> list[TrialConfig]:
    """The suite's first ``members`` trials with k D steps per G step (3 losses x 3 seeds for each k)."""
    return [cfg for cfg in suite.trial_configs() if cfg.d_steps_per_g_step == k][:members]


class MatmulClock(TorchDispatchMode):
    """Times every matmul kernel call by the wall clock: per (op, input shapes), [calls, seconds, flops]."""

    def __init__(self):
        super().__init__()
        self.calls: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name not in MATMULS:
            return func(*args, **(kwargs or {}))
        start = time.perf_counter()
        out = func(*args, **(kwargs or {}))
        seconds = time.perf_counter() - start
        shapes = [list(a.shape) if isinstance(a, torch.Tensor) else [] for a in args]
        entry = self.calls[(name, str([s for s in shapes if s]))]
        entry[0] += 1
        entry[1] += seconds
        entry[2] += matmul_flops(name, shapes)
        return out


def matmul_flops(name: str, shapes: list) -> float:
    """FLOPs of one call from its input shapes (the bias of addmm/baddbmm is the first input)."""
    tensors = [s for s in shapes if s]  # scalars (beta, alpha) have no shape
    a, b = tensors[-2:] if name in ("addmm", "baddbmm") else tensors[:2]
    batch = a[0] if len(a) == 3 else 1
    return 2.0 * batch * a[-2] * a[-1] * b[-1]


def measure(trainer, members: int, iterations: int, flops_per_it: float) -> tuple[dict, list[dict]]:
    for _ in range(30):
        iteration(trainer)
    start = time.perf_counter()
    for _ in range(iterations):
        iteration(trainer)
    wall_ms = (time.perf_counter() - start) / iterations * 1e3
    with MatmulClock() as clock:
        for _ in range(iterations):
            iteration(trainer)
    per_shape = {key: (calls, seconds * 1e6, flops) for key, (calls, seconds, flops) in clock.calls.items()}
    matmul_ms = sum(v[1] for v in per_shape.values()) / 1e3 / iterations
    per_member = members * iterations
    summary = {"ms/member-it": wall_ms / members, "matmul_ms": matmul_ms / members,
               "other_ms": (wall_ms - matmul_ms) / members, "matmul_share": matmul_ms / wall_ms,
               "gflops_overall": flops_per_it / (wall_ms / members) / 1e6,
               "gflops_in_matmuls": sum(v[2] for v in per_shape.values()) / (matmul_ms * iterations) / 1e6}
    shapes = [{"op": op, "shapes": shape, "calls/member-it": calls / per_member, "us/call": us / calls,
               "gflops": fl / us / 1e3, "ms/member-it": us / 1e3 / per_member}
              for (op, shape), (calls, us, fl) in per_shape.items()]
    return summary, sorted(shapes, key=lambda r: -r["ms/member-it"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    suite = load_suite(ROOT / "suites/ring-losses.yaml")
    floor = flop_floor(suite)
    rows, shape_rows, core_s = [], [], {"matmul_ms": 0.0, "other_ms": 0.0}
    for k in (1, 3):
        cfgs = trials(suite, k, args.members)
        flops = iteration_flops(cfgs[0])
        for mode, trainer, m in (("alone", Solo(cfgs[0]), 1), (f"{args.members} stacked", Stacked(cfgs), len(cfgs))):
            summary, shapes = measure(trainer, m, args.iterations, flops)
            rows.append({"k": k, "mode": mode, "mflop/member-it": flops / 1e6, **summary})
            if m > 1:
                shape_rows += [{"k": k, **r} for r in shapes[:6]]
                n_trials = sum(cfg.d_steps_per_g_step == k for cfg in suite.trial_configs())
                for part in core_s:
                    core_s[part] += summary[part] / 1e3 * n_trials * cfgs[0].steps
    bound = {"planned": "each k's 9 trials as 5 + 4 stacked, 2 cores", "matmul_bound_s": core_s["matmul_ms"] / 2,
             "rest_s": core_s["other_ms"] / 2, "train_s": sum(core_s.values()) / 2,
             "flop_floor_s": floor["flop_floor_s"], "target_s (2x floor)": 2 * floor["flop_floor_s"],
             "sgemm_gflops_per_core": floor["sgemm_gflops_per_core"]}
    report(rows, "ring-losses step on one core: matmuls vs the rest", args.out, "step_breakdown")
    report([bound], "the suite's training at those rates: its matmuls alone, the rest, the floor", args.out,
           "step_breakdown_suite")
    report(shape_rows, "the stacked step's matmuls by shape (the six costliest per k)", args.out,
           "step_breakdown_shapes")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
