"""Algorithm 1 of Goodfellow et al. 2014: k D-steps, then m G-steps, repeated `steps` times.

Pure PyTorch: no Ray, no Optuna. Orchestration calls ``train(config)``; a notebook or a
test can too. ``on_eval`` lets a caller watch each evaluation and stop early (pruning).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from ganbench.accel import configure_backends, flops_per_iteration, peak_tflops, prepare_modules, retain_freed_memory
from ganbench.config import TrialConfig
from ganbench.cyclegan_steps import cycle_d_step, cycle_g_step
from ganbench.datasets import Dataset
from ganbench.evaluate import evaluate
from ganbench.losses import GANLoss, make_loss
from ganbench.metrics import metric
from ganbench.metrics.convergence import grad_norm, steps_to_threshold
from ganbench.metrics.throughput import peak_memory_mb
from ganbench.pictures import trial_pictures
from ganbench.registry import DATASETS, MODELS
from ganbench.steps import standard_d_step, standard_g_step

#: generated points kept per evaluation for pictures of toy data (mode collapse as it happens)
SNAPSHOT_SIZE = 512

#: an evaluation callback: (step, metrics) -> True to stop the trial (it is then "pruned")
EvalCallback = Callable[[int, dict[str, float]], Optional[bool]]


@dataclass
class TrainResult:
    status: str  # "complete" | "diverged" | "pruned"
    metrics: dict[str, float]  # the last evaluation's metrics plus throughput
    curves: list[tuple[int, str, float]] = field(default_factory=list)  # (step, metric, value)
    #: for low-dimensional (toy) data: (step, the first SNAPSHOT_SIZE generated points) per evaluation
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)
    steps_done: int = 0
    message: str = ""
    #: for image data: named uint8 pictures (sample grid, interpolation, translations) at the end
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    #: how the metrics were measured (feature network, sample counts, library versions): row columns
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class GAN:
    """Everything one trial trains, built from its config."""

    G: nn.Module
    D: nn.Module
    loss: GANLoss
    data: Dataset
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    device: torch.device
    #: image metrics (feature network, real statistics), built at the first evaluation
    evaluator: Any = None
    #: bf16 autocast around forward passes
    amp: bool = False

    @property
    def n_classes(self) -> int:
        """Classes G and D are conditioned on (0: unconditional)."""
        return getattr(self.G, "n_classes", 0)

    @property
    def is_cycle(self) -> bool:
        return getattr(self.G, "is_cycle", False)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def make_models(cfg: TrialConfig, data: Dataset) -> tuple[nn.Module, nn.Module]:
    """G and D of the trial's model for its data (also used to check a suite before it runs)."""
    models = MODELS.get(cfg.model)(
        data.shape, cfg.z_dim, hidden=cfg.hidden, depth=cfg.depth, d_maxout=cfg.d_maxout, d_dropout=cfg.d_dropout,
        n_classes=getattr(data, "n_classes", 0), d_norm=cfg.d_norm, d_projection=cfg.d_projection,
        conditional=cfg.conditional, gradient_penalty=cfg.loss == "wgan-gp",
    )
    two_domains = hasattr(data, "sample_pair")
    if getattr(models[0], "is_cycle", False) != two_domains:
        raise ValueError(
            f"dataset {cfg.dataset!r} holds two unpaired domains: use model 'cyclegan'" if two_domains
            else f"model {cfg.model!r} translates between two domains: use a two-domain dataset such as "
            "digits_invert or digits_rotate (bench.py list datasets)"
        )
    return models


def build(cfg: TrialConfig) -> GAN:
    torch.manual_seed(cfg.seed)  # weight initialisation
    device = resolve_device(cfg.device)
    configure_backends(device)
    retain_freed_memory()
    data = DATASETS.get(cfg.dataset)()
    G, D = prepare_modules(*make_models(cfg, data), cfg, device, image_data=len(data.shape) == 3)
    if cfg.optimizer == "adam":
        fused = device.type in ("cpu", "cuda")  # one kernel for all parameters: ~3x faster steps on small models
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=fused)
        opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas_d or cfg.betas, fused=fused)
    else:
        opt_g = torch.optim.SGD(G.parameters(), lr=cfg.lr_g)
        opt_d = torch.optim.SGD(D.parameters(), lr=cfg.lr_d)
    loss = make_loss(cfg.loss, clip=cfg.clip, gp_weight=cfg.gp_weight)
    return GAN(G, D, loss, data, opt_g, opt_d, device, amp=cfg.amp == "bf16")


def train(cfg: TrialConfig, on_eval: EvalCallback | None = None, profiler=None) -> TrainResult:
    """Run Algorithm 1 for ``cfg.steps`` iterations, evaluating every ``cfg.eval_every``.

    ``profiler`` (a torch.profiler.profile) is stepped once per iteration, so its schedule
    picks which iterations are traced.
    """
    start = time.perf_counter()
    gan = build(cfg)
    # Separate streams: training draws never depend on how often we evaluate, and every
    # evaluation reuses the same z and real batch, so a curve shows only G and D changing.
    # The training stream lives on the trial's device: batches and z are drawn there (no host sync).
    train_rng = torch.Generator(device=gan.device).manual_seed(cfg.seed)
    eval_rng = torch.Generator()
    k, m, batch = cfg.d_steps_per_g_step, cfg.g_steps_per_d_step, cfg.batch_size
    curves: list[tuple[int, str, float]] = []
    snapshots: list[tuple[int, np.ndarray]] = []
    metrics: dict[str, float] = {}
    finite = torch.ones((), dtype=torch.bool, device=gan.device)
    status, message, eval_time, step = "complete", "", 0.0, 0
    gan.G.train(), gan.D.train()

    d_update, g_update = (cycle_d_step, cycle_g_step) if gan.is_cycle else (standard_d_step, standard_g_step)

    for step in range(1, cfg.steps + 1):
        for _ in range(k):
            d_loss = d_update(gan, cfg, train_rng)
        evaluating = step % cfg.eval_every == 0 or step == cfg.steps
        grad_d = grad_norm(gan.D.parameters()) if evaluating else None
        for _ in range(m):
            g_loss = g_update(gan, cfg, train_rng)
        # Accumulate on device; read only at evaluation (no host sync per step).
        finite &= torch.isfinite(d_loss) & torch.isfinite(g_loss)
        if profiler is not None:
            profiler.step()
        if not evaluating:
            continue

        t0 = time.perf_counter()
        if not bool(finite):
            status, message = "diverged", f"loss became NaN/inf by step {step}"
            break
        metrics, fake = evaluate(gan, cfg, eval_rng.manual_seed(cfg.seed + 2**31))
        if math.prod(gan.data.shape) <= 2:
            snapshots.append((step, fake[:SNAPSHOT_SIZE].detach().flatten(1).float().cpu().numpy()))
        metrics["grad_norm_d"] = float(grad_d)
        metrics["grad_norm_g"] = float(grad_norm(gan.G.parameters()))
        curves += [(step, name, value) for name, value in metrics.items()]
        gan.G.train(), gan.D.train()
        eval_time += time.perf_counter() - t0
        # the last evaluation is reported but never pruned: stopping there saves nothing
        if on_eval is not None and on_eval(step, metrics) and step < cfg.steps:
            status, message = "pruned", f"stopped at step {step} by the evaluation callback"
            break

    wall = time.perf_counter() - start
    train_time = max(wall - eval_time, 1e-9)
    steps_done = step
    metrics = dict(metrics)
    if cfg.target is not None:
        curve = [(s, v) for s, name, v in curves if name == cfg.target.metric]
        metrics["steps_to_threshold"] = steps_to_threshold(curve, cfg.target.value, metric(cfg.target.metric))
    metrics.update(
        steps_per_s=steps_done / train_time,
        samples_per_s=steps_done * batch * (k + m) / train_time,
        peak_mem_mb=peak_memory_mb(gan.device),
        wall_s=wall,
        eval_frac=eval_time / wall,
    )
    if status != "diverged":  # counted after timing, on a fresh uncompiled build: the trial is untouched
        flops = flops_per_iteration(lambda: build(cfg.model_copy(update={"compile": False})), cfg, d_update, g_update)
        peak = peak_tflops(gan.device, gan.amp)
        metrics["tflops"] = flops * metrics["steps_per_s"] / 1e12 if flops else math.nan
        metrics["mfu"] = metrics["tflops"] / peak if peak else math.nan
    pictures = trial_pictures(gan, cfg) if status != "diverged" else {}
    info = {f"image_eval.{key}": value for key, value in gan.evaluator.meta.items()} if gan.evaluator else {}
    return TrainResult(status, metrics, curves, snapshots, steps_done, message, pictures, info)

