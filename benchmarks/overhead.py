"""Harness overhead, measured side by side in one run (these machines are shared and noisy).

    python benchmarks/overhead.py [--steps 2000] [--repeats 3] [--out results/benchmarks]

The same MLP GAN on ring8 for the same number of steps as
  (a) a bare PyTorch loop written here (no metrics, no checks), as most GAN code is written,
  (a') the same bare loop with ganbench's two step optimisations (fused Adam; a G step that
       backpropagates into G's parameters only), so (b)/(a') is the harness's own overhead,
  (b) ganbench's `train` (Algorithm 1, NaN checks, evaluation every `eval_every` with every metric),
  (c) one trial through the Ray runner (task dispatch, result transfer).
(a), (a') and (b) alternate `--repeats` times and the ratios are taken per repeat, so drifting
machine load cancels. Targets: (b)/(a) >= 0.97 in training steps/s, evaluation <= 10% of a trial's wall time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, write_performance_page  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.datasets.toy import ring8  # noqa: E402
from ganbench.training import train  # noqa: E402


def config(steps: int) -> TrialConfig:
    return TrialConfig(model="mlp", loss="nonsaturating", dataset="ring8", steps=steps, eval_every=250,
                       batch_size=256, hidden=128, depth=2, lr_g=1e-4, lr_d=1e-4, device="cpu")


def bare_loop(cfg: TrialConfig, tuned: bool = False) -> float:
    """Training steps/s of the plainest loop with the same networks, data and optimizers
    (``tuned``: fused Adam, and the G step's backward limited to G's parameters)."""
    torch.manual_seed(cfg.seed)
    G = nn.Sequential(nn.Linear(cfg.z_dim, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
    D = nn.Sequential(nn.Linear(2, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=tuned)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=tuned)
    g_params = list(G.parameters()) if tuned else None
    data, rng, bce = ring8(), torch.Generator().manual_seed(cfg.seed), nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(cfg.batch_size, 1), torch.zeros(cfg.batch_size, 1)
    start = time.perf_counter()
    for _ in range(cfg.steps):
        real = data.sample(cfg.batch_size, rng)
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=rng)
        with torch.no_grad():
            fake = G(z)
        d_loss = bce(D(real), ones) + bce(D(fake), zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=rng)
        g_loss = bce(D(G(z)), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=g_params)
        opt_g.step()
    return cfg.steps / (time.perf_counter() - start)


def ray_trial(cfg: TrialConfig) -> dict:
    """One trial through the runner: Ray start-up, and the wall time around the task vs the trial's own."""
    from ganbench.sweep.jobs import Job
    from ganbench.sweep.runner import RayOptions, run_jobs, start_ray

    t0 = time.perf_counter()
    start_ray(None)
    ray_start = time.perf_counter() - t0
    results: list[dict] = []
    jobs = [Job(cfg, cfg.config_hash(), "bench")]
    t1 = time.perf_counter()
    run_jobs(lambda: jobs.pop() if jobs else None, ["loss"], RayOptions(), lambda job: None,
             lambda job, out: results.append(out.row))
    around = time.perf_counter() - t1
    row = results[0]
    return {"ray_start_s": ray_start, "task_wall_s": around, "trial_wall_s": row["wall_s"],
            "queue_s": row["queue_s"], "steps_per_s": row["steps_per_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a trial gets num_cpus = 1 by default)")
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config(args.steps)
    bare_loop(config(100)), train(config(100))  # warm-up: allocator, kernels
    rows = []
    for i in range(args.repeats):
        bare, tuned = bare_loop(cfg), bare_loop(cfg, tuned=True)
        result = train(cfg)
        m = result.metrics
        rows.append({"repeat": i, "bare_steps_per_s": bare, "tuned_bare_steps_per_s": tuned,
                     "ganbench_steps_per_s": m["steps_per_s"], "ratio_b_over_a": m["steps_per_s"] / bare,
                     "ratio_b_over_tuned_a": m["steps_per_s"] / tuned, "ganbench_wall_s": m["wall_s"],
                     "eval_frac": m["eval_frac"]})
    report(rows, f"(a) bare loop vs (b) ganbench train, {args.steps} steps, {args.threads} thread(s)", args.out,
           "overhead")
    ratios = [r["ratio_b_over_a"] for r in rows]
    tuned_ratios = [r["ratio_b_over_tuned_a"] for r in rows]
    print(f"median (b)/(a) = {statistics.median(ratios):.3f} (target >= 0.97); "
          f"median (b)/(a') = {statistics.median(tuned_ratios):.3f} (the harness alone); "
          f"median eval share of wall time = {statistics.median(r['eval_frac'] for r in rows):.1%} (target <= 10%)")
    ray_rows = [ray_trial(cfg) for _ in range(2)]
    report(ray_rows, "(c) one trial through the Ray runner (first row includes worker start)", args.out, "overhead_ray")
    second = ray_rows[-1]
    print(f"Ray per-trial overhead on a warm local Ray: {second['task_wall_s'] - second['trial_wall_s']:.3f} s "
          f"(task wall {second['task_wall_s']:.2f} s vs trial wall {second['trial_wall_s']:.2f} s); "
          f"Ray start-up {ray_rows[0]['ray_start_s']:.1f} s once per sweep")
    write_performance_page(args.out)


if __name__ == "__main__":
    main()
