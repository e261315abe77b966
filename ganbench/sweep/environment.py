"""What ran a trial: versions, git commit, machine. Recorded beside every result."""
from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

import torch


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the ganbench checkout, with '-dirty' when it has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        run = functools.partial(subprocess.run, cwd=root, capture_output=True, text=True, timeout=5)
        head = run(["git", "rev-parse", "--verify", "-q", "HEAD"])
        sha = head.stdout.strip() if head.returncode == 0 else ""
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{sha}-dirty" if sha and dirty else sha


def driver_environment() -> dict[str, str]:
    """Versions that hold for the whole run (taken once, by the driver)."""
    return {
        "ganbench_version": _version("ganbench"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": _version("ray"),
        "optuna": _version("optuna"),
        "cuda": torch.version.cuda or "",
        "device_name": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine(),
        "cpu_count": str(os.cpu_count()),
        "driver_host": socket.gethostname(),
    }


#: keys both environments have: in a trial row they are the worker's, the driver's get DRIVER_PREFIX
SHARED_KEYS = ("device_name", "cpu_count")
DRIVER_PREFIX = "driver_"


def driver_columns(environment: dict[str, str]) -> dict[str, str]:
    """The driver's environment as trial-row columns: versions as they are, its machine as driver_*,
    so the worker's device_name and cpu_count (where the trial ran) are never overwritten."""
    return {(DRIVER_PREFIX + key if key in SHARED_KEYS else key): value for key, value in environment.items()}


def worker_environment(device: torch.device) -> dict[str, str]:
    """Where one trial ran."""
    on_gpu = device.type == "cuda" and torch.cuda.is_available()
    name = torch.cuda.get_device_name(device) if on_gpu else platform.processor() or platform.machine()
    return {
        "hostname": socket.gethostname(),
        "run_device": str(device),
        "device_name": name,
        "cpu_count": str(os.cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
    }
