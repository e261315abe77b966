"""Speed of batched trials: M trials one at a time (``train``) against one stacked run (``train_stacked``).

    python benchmarks/batched.py [--steps 200] [--sizes 1,8,32,128] [--alone-max 4] [--out results/benchmarks]

Ring8 MLP (hidden 128, depth 2, batch 256, k = m = 1, non-saturating loss), M trials that differ
in seed and learning rate. Both sides are measured in this one process, side by side, after a
warm-up run of each. For M above ``--alone-max`` only that many trials are timed one at a time
and the per-trial cost is extrapolated to M (the table says so). Seconds are training seconds:
wall time less evaluation (one evaluation at the last step), weight initialisation included.
model-steps/s = M * steps / seconds; speedup = one-at-a-time seconds / batched seconds.
Writes ``batched.csv`` under ``--out``. Timings drift with the load of a shared machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

# Before torch loads OpenMP: with spinning waits (the default) 2 threads on a busy 2-core machine
# ran small matmuls 30-50x slower here; passive waits keep the timings sane. Override from the shell.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, train_seconds, write_performance_page  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.training import train, train_stacked  # noqa: E402


def trial(i: int, steps: int) -> TrialConfig:
    lr = (1e-4, 2e-4, 5e-4, 1e-3)[i % 4]
    return TrialConfig(model="mlp", loss="nonsaturating", dataset="ring8", hidden=128, depth=2, batch_size=256,
                       d_steps_per_g_step=1, seed=i, lr_g=lr, lr_d=lr, steps=steps, eval_every=steps,
                       eval_samples=500, device="cpu")


def measure(m: int, steps: int, alone_max: int) -> dict:
    cfgs = [trial(i, steps) for i in range(m)]
    timed = cfgs[: min(m, alone_max)]
    alone = sum(train_seconds(train(c).metrics) for c in timed) / len(timed)  # seconds per trial
    results = train_stacked(cfgs)
    batched = train_seconds(results[0].metrics)
    assert all(r.status == "complete" for r in results), [r.status for r in results]
    # "timed" < M: the one-at-a-time seconds are the timed trials' mean times M (extrapolated)
    return {
        "M": m, "timed": len(timed), "alone_s": alone * m, "alone_steps/s": steps / alone,
        "batched_s": batched, "batched_steps/s": m * steps / batched, "speedup": alone * m / batched,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--sizes", default="1,8,32,128", help="comma-separated numbers of trials M")
    parser.add_argument("--alone-max", type=int, default=4, help="trials timed one at a time; more are extrapolated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train(trial(0, 5)), train_stacked([trial(0, 5), trial(1, 5)])  # warm-up: first-call costs out of the timings
    rows = []
    for m in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(m, args.steps, args.alone_max))
        print(f"M={m}: done", file=sys.stderr)
    report(rows, "batched trials vs one at a time (ring8 MLP 128x2, batch 256)", args.out, "batched")
    print(f"steps={args.steps}, torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()};"
          f" OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']};"
          f" steps/s = model-steps/s (M * steps / s); where timed < M the one-at-a-time cost is the mean"
          f" of the timed trials times M (extrapolated).")
    print(f"wrote {args.out / 'batched.csv'}")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
