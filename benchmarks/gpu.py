"""GPU throughput and MFU: mlp, dcgan and resnet at batch 64/256, fp32 (TF32) vs bf16 autocast, eager vs
torch.compile, and the batched-trials speedup on the GPU. Runs only where CUDA is present.

    python benchmarks/gpu.py [--steps 300] [--out results/benchmarks] [--no-compile]

Each configuration is one real ``train()`` on digits32 (32x32 images), timed in steady state: a
step hook synchronises the device at iteration ``--warmup`` and at the last one, so compilation and
cuDNN autotuning are left out. samples/s = batch x (k + m) x steps/s; MFU = achieved matmul/conv FLOP/s
(torch.utils.flop_counter) over the device's dense bf16 or TF32 peak (ganbench.training.accel.PEAK_TFLOPS).
Writes gpu.csv and gpu_batched.csv under --out and rebuilds results/performance.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, write_performance_page  # noqa: E402

from ganbench.config import TrialConfig  # noqa: E402
from ganbench.training import train, train_stacked  # noqa: E402
from ganbench.training.accel import peak_tflops  # noqa: E402
from ganbench.training.loop import iteration_flops  # noqa: E402

MODELS = {"mlp": dict(hidden=512, depth=3), "dcgan": dict(hidden=64), "resnet": dict(hidden=64)}


class SteadyClock:
    """Stepped once per iteration by train(): device-synchronised times at the warm-up mark and the end."""

    def __init__(self, warmup: int, steps: int):
        self.warmup, self.steps, self.i, self.t = warmup, steps, 0, {}

    def step(self) -> None:
        self.i += 1
        if self.i in (self.warmup, self.steps):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.t[self.i] = time.perf_counter()

    def steps_per_s(self) -> float:
        return (self.steps - self.warmup) / (self.t[self.steps] - self.t[self.warmup])


def measure(model: str, batch: int, amp: str, compiled: bool, steps: int, warmup: int, device: str = "cuda") -> dict:
    cfg = TrialConfig(model=model, loss="hinge", dataset="digits32", batch_size=batch, z_dim=128, amp=amp,
                      compile=compiled, steps=steps, eval_every=steps, eval_samples=64, device=device,
                      **MODELS[model])
    clock = SteadyClock(warmup, steps)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result = train(cfg, profiler=clock)
    flops = iteration_flops(cfg)
    rate = clock.steps_per_s()
    peak = peak_tflops(torch.device(device), bf16=amp == "bf16")
    tflops = flops * rate / 1e12 if flops else float("nan")  # None: the counter could not follow the step
    return {"model": model, "batch": batch, "precision": amp if amp != "none" else "fp32/tf32",
            "compile": compiled, "status": result.status, "steps_per_s": rate, "samples_per_s": rate * batch * 2,
            "tflops": tflops, "mfu": tflops / peak if peak else float("nan"),
            "peak_mem_mb": result.metrics.get("peak_mem_mb", float("nan"))}


def batched_speedup(m: int, steps: int, device: str = "cuda") -> dict:
    """M ring8 MLP trials as one stacked model against one trial alone (x M), both on the GPU."""
    cfgs = [TrialConfig(model="mlp", loss="nonsaturating", dataset="ring8", batch_size=256, seed=i, steps=steps,
                        eval_every=steps, eval_samples=500, device=device) for i in range(m)]
    train(cfgs[0])  # warm-up
    t0 = time.perf_counter()
    train(cfgs[0])
    alone = (time.perf_counter() - t0) * m
    train_stacked(cfgs[:2])  # warm-up
    t0 = time.perf_counter()
    train_stacked(cfgs)
    together = time.perf_counter() - t0
    return {"M": m, "alone_s (x M)": alone, "batched_s": together, "speedup": alone / together,
            "model_steps_per_s": m * steps / together}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--smoke", action="store_true",
                        help="run every configuration for a few steps on the CPU, uncompiled, into a temporary "
                             "folder: checks the script before GPU time is spent on it")
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    if not torch.cuda.is_available():
        print("no CUDA device here: the gpu benchmark is skipped (nothing written)")
        return
    device = torch.cuda.get_device_name()
    rows = [measure(model, batch, amp, compiled, args.steps, args.warmup)
            for model in MODELS for batch in (64, 256) for amp in ("none", "bf16")
            for compiled in ((False,) if args.no_compile else (False, True))]
    table = report(rows, f"GPU throughput on {device}", args.out, "gpu")
    speed = report([batched_speedup(m, 200) for m in (32, 128)], f"batched trials on {device}", args.out,
                   "gpu_batched")
    write_performance_page(args.out)



def smoke() -> None:
    import tempfile

    rows = [measure(model, 8, amp, False, 4, 2, device="cpu") for model in MODELS for amp in ("none", "bf16")]
    with tempfile.TemporaryDirectory() as tmp:
        report(rows, "smoke run on the CPU (not a measurement)", Path(tmp), "gpu")
        report([batched_speedup(2, 4, device="cpu")], "smoke run on the CPU", Path(tmp), "gpu_batched")


if __name__ == "__main__":
    main()
