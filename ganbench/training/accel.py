"""The fast path: backend flags, memory format, compilation, autocast, and FLOPs for MFU.

Defaults follow what a GPU user expects: TF32 matmuls/convolutions and cuDNN autotuning
on, channels_last for conv models; bf16 autocast and torch.compile are opt-in per trial.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
from typing import TYPE_CHECKING, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

if TYPE_CHECKING:
    from ganbench.config import TrialConfig

#: dense peak TFLOP/s by device-name fragment: (bf16, tf32) tensor-core throughput, vendor data sheets
PEAK_TFLOPS = {
    "H200": (989.4, 494.7),
    "H100 PCIe": (756.0, 378.0),
    "H100": (989.4, 494.7),  # SXM
    "A100": (312.0, 156.0),
    "L40S": (362.1, 183.0),
    "L4": (121.0, 60.0),
    "A10": (125.0, 62.5),
}


def configure_backends(device: torch.device) -> None:
    """TF32 and cuDNN autotuning on a GPU (fixed shapes per trial: autotuning pays off)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


#: glibc mallopt parameters (malloc.h): memory above the trim threshold is returned to the OS;
#: blocks above the mmap threshold get their own mapping, unmapped when freed
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@functools.cache
def retain_freed_memory() -> bool:
    """Let glibc keep freed tensor memory for reuse instead of handing it back to the OS.

    By default each block over 128 KiB-32 MiB is a fresh mmap, unmapped when freed, so a step
    whose activations vary in size pays a page fault per 4 KiB on every new tensor. Measured
    here (ring8 MLP, 200 steps, 1 thread): 32 stacked trials went from 896k minor faults and
    31.0 s to 26k and 27.8 s. The cost is a process that keeps its peak heap. Once per process;
    False where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20) and libc.mallopt(M_TRIM_THRESHOLD, 2**30))
    except (OSError, AttributeError):
        return False


def prepare_modules(G: nn.Module, D: nn.Module, cfg: "TrialConfig", device: torch.device,
                    image_data: bool) -> tuple[nn.Module, nn.Module]:
    """Move to the device, channels_last for conv models on a GPU, then compile when asked."""
    G, D = G.to(device), D.to(device)
    if device.type == "cuda" and image_data:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    if cfg.compile:
        G, D = compile_module(G), compile_module(D)
    return G, D


def compile_module(module: nn.Module) -> nn.Module:
    """torch.compile the module, or its two halves for CycleGAN (whose steps call them directly)."""
    halves = [name for name in ("ab", "ba", "a", "b") if isinstance(getattr(module, name, None), nn.Module)]
    if not halves:
        return torch.compile(module)
    for name in halves:
        setattr(module, name, torch.compile(getattr(module, name)))
    return module


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast around forward passes when the trial asks for it (backward runs outside)."""
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def count_flops(prepare: Callable[[], Callable[[], object]]) -> int | None:
    """Matmul/conv FLOPs of one call of ``prepare()``'s result, by torch.utils.flop_counter.

    ``prepare`` builds what is counted (outside the count: a fresh, uncompiled build, not the
    trial's, whose weights move) and returns the work, e.g. one iteration of Algorithm 1.
    Global RNG state is restored. None when the counter cannot follow the work: in torch 2.13
    its backward hooks fail on the double backward of gradient penalties (wgan-gp, R1, R2;
    callers skip those) and on graphs whose parameters skip the input (the Dirac-GAN's G(z) = theta).
    """
    counter = FlopCounterMode(display=False)
    try:
        with torch.random.fork_rng():  # building seeds torch and dropout draws: the caller's stream is kept
            work = prepare()
            with counter:
                work()
    except (RuntimeError, AssertionError):
        return None
    return counter.get_total_flops()


def peak_tflops(device: torch.device, bf16: bool) -> float | None:
    """The device's dense tensor-core peak for the trial's precision (TF32 for fp32 runs), if known."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for fragment, (peak_bf16, peak_tf32) in PEAK_TFLOPS.items():
        if fragment in name:
            return peak_bf16 if bf16 else peak_tf32
    return None
