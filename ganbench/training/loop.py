"""Algorithm 1 of Goodfellow et al. 2014, written once: k D updates, then m G updates, repeated
``steps`` times, with evaluations, divergence, early stopping and the finish (throughput, FLOPs,
pictures).

The loop drives a ``Trainer``: M >= 1 trials of one shape advanced together. ``Solo`` is one
trial (``train``); ``training.stacked.Stacked`` is M trials as one stacked model
(``train_stacked``). Both go through this loop and the same updates, so a change to an
update, an evaluation or the finish holds for both. Pure PyTorch: no Ray, no Optuna; a
caller (the sweep, a test, a notebook) watches evaluations through ``on_eval``.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional, Protocol, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganbench.config import TrialConfig, gradient_penalties
from ganbench.metrics import metric
from ganbench.metrics.convergence import grad_norm, steps_to_threshold
from ganbench.metrics.throughput import peak_memory_mb
from ganbench.status import Status
from ganbench.training.accel import count_flops, peak_tflops
from ganbench.training.cycle import cycle_d_update, cycle_g_update
from ganbench.training.dirac_jacobian import final_metrics as dirac_final_metrics
from ganbench.training.evaluate import evaluate
from ganbench.training.gan import GAN, TrainResult, build
from ganbench.training.optim import schedule_step
from ganbench.training.pictures import strip_picture, strip_row, trial_pictures
from ganbench.training.simultaneous import joint_update
from ganbench.training.updates import StackedStreams, Stream, Update, d_update, g_update

#: generated points kept per evaluation for pictures of toy data (mode collapse as it happens)
SNAPSHOT_SIZE = 512

#: a trial's evaluation callback: (step, metrics) -> True to stop the trial (it is then "pruned")
EvalCallback = Callable[[int, dict[str, float]], Optional[bool]]
#: the loop's: (trial index, step, metrics) -> True to stop that trial
TrialEvalCallback = Callable[[int, int, dict[str, float]], Optional[bool]]


class Trainer(Protocol):
    """What the loop drives: M >= 1 trials of one shape (they share every key of the loop)."""

    cfgs: list[TrialConfig]
    #: what the updates act on (for M stacked trials: stacked modules, a vmapped loss, per-trial Adam)
    gan: GAN
    stream: Stream | StackedStreams
    #: [M] bool on the device: trials still updated (the loop clears diverged and stopped ones)
    active: Tensor

    def trial(self, i: int) -> GAN:
        """Trial i's own GAN holding its current weights: what evaluation and pictures read."""

    def grad_norms(self) -> tuple[Tensor, Tensor]:
        """[M] L2 norms of each trial's last D gradient and last G gradient."""

    def row_extras(self) -> dict[str, float]:
        """Columns every trial of this trainer adds to its row."""

    def after_g_update(self) -> None:
        """Called after every G update (an EMA of G follows it)."""


class Solo:
    """One trial: its GAN, its training stream and, with ``g_ema``, the moving average of G it evaluates."""

    def __init__(self, cfg: TrialConfig):
        self.cfgs = [cfg]
        self.gan = build(cfg)
        # Separate streams: training draws never depend on how often we evaluate.
        self.stream = Stream.of_trial(self.gan, cfg)  # its fixed training set too, with train_set_size
        self.active = torch.ones(1, dtype=torch.bool, device=self.gan.device)
        self.gan.G.train(), self.gan.D.train()
        self.ema, self.evaluated = None, self.gan
        if cfg.g_ema:
            self.ema = AveragedModel(self.gan.G, multi_avg_fn=get_ema_multi_avg_fn(cfg.g_ema), use_buffers=True)
            self.evaluated = dataclasses.replace(self.gan, G=self.ema.module)  # evaluation and pictures read the EMA

    def after_g_update(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.gan.G)

    def trial(self, i: int) -> GAN:
        return self.evaluated

    def grad_norms(self) -> tuple[Tensor, Tensor]:
        # an update differentiates only its own optimizer's parameters: D's gradients are still its last update's
        return grad_norm(self.gan.D.parameters()).reshape(1), grad_norm(self.gan.G.parameters()).reshape(1)

    def row_extras(self) -> dict[str, float]:
        return {}


def updates_for(gan: GAN) -> tuple[Update, Update]:
    """The (D update, G update) pair of the model's family."""
    return (cycle_d_update, cycle_g_update) if gan.is_cycle else (d_update, g_update)


def iteration(trainer: Trainer) -> tuple[Tensor, Tensor]:
    """One iteration of Algorithm 1: k D updates, then m G updates (m G then k D with ``alternating_order:
    g_first``; one joint step with ``updates: simultaneous``); the last losses of each."""
    cfg = trainer.cfgs[0]
    if cfg.updates == "simultaneous":
        d_loss, g_loss = joint_update(trainer.gan, cfg, trainer.stream)
        trainer.after_g_update()
        return d_loss, g_loss
    update_d, update_g = updates_for(trainer.gan)

    def d_steps():
        for _ in range(cfg.d_steps_per_g_step):
            loss = update_d(trainer.gan, cfg, trainer.stream)
        return loss

    def g_steps():
        for _ in range(cfg.g_steps_per_d_step):
            loss = update_g(trainer.gan, cfg, trainer.stream)
            trainer.after_g_update()
        return loss

    if cfg.alternating_order == "g_first":  # the m G updates first (Mescheder et al.'s trajectory_altgd)
        g_loss = g_steps()
        return d_steps(), g_loss
    d_loss = d_steps()
    return d_loss, g_steps()


def samples_per_iteration(cfg: TrialConfig, loss) -> int:
    """Examples drawn per iteration: a D update draws a batch, a G update draws one (two for a
    relativistic loss or consensus, which read a real batch too) plus one per look-ahead step of
    an unrolled D; a packed batch holds ``pac`` examples per row."""
    if cfg.updates == "simultaneous":
        return cfg.batch_size * cfg.pac
    per_g = 1 + int(loss.g_uses_real or cfg.consensus > 0) + cfg.unroll_steps
    return cfg.batch_size * cfg.pac * (cfg.d_steps_per_g_step + cfg.g_steps_per_d_step * per_g)


def train(cfg: TrialConfig, on_eval: EvalCallback | None = None, profiler=None) -> TrainResult:
    """Run Algorithm 1 for ``cfg.steps`` iterations, evaluating every ``cfg.eval_every``.

    ``profiler`` (a torch.profiler.profile) is stepped once per iteration, so its schedule
    picks which iterations are traced.
    """
    start = time.perf_counter()
    callback = None if on_eval is None else (lambda i, step, metrics: on_eval(step, metrics))
    return run(Solo(cfg), start, callback, profiler)[0]


def run(trainer: Trainer, start: float, on_eval: TrialEvalCallback | None = None, profiler=None) -> list[TrainResult]:
    """The loop: one TrainResult per trial of ``trainer``, in order. ``start``: perf_counter before the build."""
    cfgs = trainer.cfgs
    n, c0 = len(cfgs), cfgs[0]
    device = trainer.gan.device
    # Every evaluation reuses the same z and real batch per trial: a curve shows only G and D changing.
    eval_rng = torch.Generator()
    status: list[Status | None] = [None] * n  # None while running
    messages, steps_done = [""] * n, [0] * n
    metrics: list[dict[str, float]] = [{} for _ in cfgs]
    curves: list[list[tuple[int, str, float]]] = [[] for _ in cfgs]
    snapshots: list[list[tuple[int, np.ndarray]]] = [[] for _ in cfgs]
    strips: list[list[tuple[int, Tensor]]] = [[] for _ in cfgs]  # image data: a row of samples per evaluation
    finite = torch.ones(n, dtype=torch.bool, device=device)
    toy = math.prod(trainer.gan.data.shape) <= 2
    eval_time, step = 0.0, 0

    for step in range(1, c0.steps + 1):
        trainer.gan.step = step
        schedule_step(trainer.gan, c0, step)  # SGD's lr decay and momentum ramp (the members share them)
        d_loss, g_loss = iteration(trainer)
        # Accumulated on the device and read only at evaluation (no host sync per step); a stacked
        # trial whose loss is not finite stops being updated from the next iteration on.
        finite &= torch.isfinite(d_loss) & torch.isfinite(g_loss)
        trainer.active &= finite
        if profiler is not None:
            profiler.step()
        if step % c0.eval_every and step != c0.steps:
            continue

        t0 = time.perf_counter()
        ok = finite.tolist()
        norms_d, norms_g = trainer.grad_norms() if any(ok) else (finite, finite)
        for i, cfg in enumerate(cfgs):
            if status[i] is not None:
                continue
            steps_done[i] = step
            if not ok[i]:
                status[i], messages[i] = Status.DIVERGED, f"loss became NaN/inf by step {step}"
                continue
            gan = trainer.trial(i)
            result, fake = evaluate(gan, cfg, eval_rng.manual_seed(cfg.seed + 2**31), step)
            if (row := strip_row(gan, cfg)) is not None:
                strips[i].append((step, row))
            gan.G.train(), gan.D.train()
            if toy:
                snapshots[i].append((step, fake[:SNAPSHOT_SIZE].detach().flatten(1).float().cpu().numpy()))
            result["grad_norm_d"] = float(norms_d[i])
            result["grad_norm_g"] = float(norms_g[i])
            metrics[i] = result
            curves[i] += [(step, name, value) for name, value in result.items()]
            # the last evaluation is reported but never stopped at: stopping there saves nothing
            if on_eval is not None and on_eval(i, step, result) and step < c0.steps:
                status[i], messages[i] = Status.PRUNED, f"stopped at step {step} by the evaluation callback"
                trainer.active[i] = False
        eval_time += time.perf_counter() - t0
        if None not in status:
            break

    wall = time.perf_counter() - start
    train_time = max(wall - eval_time, 1e-9)
    shared = dict(
        # loop iterations per second of training: with M stacked trials, each advances all M by one step
        steps_per_s=step / train_time,
        samples_per_s=step * samples_per_iteration(c0, trainer.gan.loss) / train_time,
        peak_mem_mb=peak_memory_mb(device),
        wall_s=wall,
        eval_frac=eval_time / wall,
        **trainer.row_extras(),
    )
    final = [s or Status.COMPLETE for s in status]
    speed = flops_rate(c0, device, shared["steps_per_s"]) if any(s != Status.DIVERGED for s in final) else {}
    results = []
    for i, cfg in enumerate(cfgs):
        out = dict(metrics[i])
        if cfg.target is not None:
            curve = [(s, v) for s, name, v in curves[i] if name == cfg.target.metric]
            out["steps_to_threshold"] = steps_to_threshold(curve, cfg.target.value, metric(cfg.target.metric))
        out.update(dirac_final_metrics(cfg, trainer.gan.data, curves[i]))  # Dirac data only: the update's Jacobian
        out.update(shared)
        gan = trainer.trial(i)
        pictures = {}
        if final[i] != Status.DIVERGED:
            out.update(speed)
            pictures = trial_pictures(gan, cfg)
        info = {f"image_eval.{key}": value for key, value in gan.evaluator.meta.items()} if gan.evaluator else {}
        info["metric_notes"] = gan.metric_notes.text()  # why a metric is NaN ('' when none was)
        if cfg.g_ema:
            info["evaluated"] = "ema"  # the metrics and pictures are of the EMA generator
        if pictures and strips[i]:  # the strip over training, and the steps of its rows (the report labels them)
            pictures["strip"], strip_steps = strip_picture(strips[i])
            info["strip_steps"] = " ".join(map(str, strip_steps))
        results.append(TrainResult(final[i], out, curves[i], snapshots[i], steps_done[i], messages[i], pictures, info))
    return results


def iteration_flops(cfg: TrialConfig) -> int | None:
    """Matmul/conv FLOPs of one iteration of Algorithm 1 for a trial of ``cfg`` (forward and backward),
    counted on one real iteration of this loop on a fresh, uncompiled build; None where the counter
    cannot follow it (a double backward: a gradient penalty, an unrolled D, consensus)."""
    if gradient_penalties(cfg) or cfg.unroll_steps or cfg.consensus:
        return None

    def prepare():
        trainer = Solo(cfg.model_copy(update={"compile": False}))
        return lambda: iteration(trainer)

    return count_flops(prepare)


def flops_rate(cfg: TrialConfig, device: torch.device, steps_per_s: float) -> dict[str, float]:
    """tflops and mfu of a trial of ``cfg`` at ``steps_per_s`` (counted after timing: the trial is untouched)."""
    flops = iteration_flops(cfg)
    tflops = flops * steps_per_s / 1e12 if flops else math.nan
    peak = peak_tflops(device, cfg.amp == "bf16")
    return {"tflops": tflops, "mfu": tflops / peak if peak else math.nan}


def stack_callbacks(hooks: Sequence[EvalCallback | None]) -> TrialEvalCallback | None:
    """Per-trial callbacks as one loop callback (None when there are none)."""
    if not any(hooks):
        return None
    return lambda i, step, metrics: bool(hooks[i] and hooks[i](step, metrics))
