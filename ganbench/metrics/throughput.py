"""Throughput and memory of a trial."""
from __future__ import annotations

import resource
import sys

import torch


def peak_memory_mb(device: torch.device) -> float:
    """CUDA max allocated on a GPU; otherwise this process's peak resident set size.

    On CPU the RSS peak covers the whole worker process, which Ray reuses between
    trials, so it is an upper bound for the trial (comparable between cells, not exact).
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10
