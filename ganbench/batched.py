"""Batched trials: M trials of one shape trained as one stacked model.

``train_batched(cfgs)`` runs Algorithm 1 (see ``ganbench.train``) for M trials at once:
the M generators (and the M discriminators) are stacked with ``torch.func.stack_module_state``
and run as batched matmuls (``baddbmm``; other layers through ``torch.vmap(functional_call(...))``,
which costs ~4x more per call on these small models), so each layer is one batched matmul over
the trials instead of M small ones. Every trial keeps its own identity:

- initial weights come from the real ``build(cfg)`` of that trial (``torch.manual_seed(cfg.seed)``);
- real batches and z come from the trial's own ``torch.Generator(device).manual_seed(cfg.seed)``, drawn
  in the same order as ``train`` (per D step: real then z; per G step: z);
- Adam state, learning rates and betas are per trial (``StackedAdam``);
- evaluation loads the trial's slice into its own G/D and calls the real ``evaluate``.

So a batched trial's curves match ``train(cfg)`` alone up to float rounding (batched matmuls
round differently; the gap grows slowly with steps, as any chaotic training loop would).

A trial whose loss becomes NaN/inf is frozen at once (its parameters stop changing) and is
marked ``diverged`` at the next evaluation, like ``train``; the other trials go on.

Throughput: every trial reports the batched loop's own rates: ``steps_per_s`` is the loop's
iterations per second of training (each iteration advances all M trials by one step),
``samples_per_s`` is that times ``batch_size * (k + m)``, ``wall_s`` and ``eval_frac`` are the
batch's; ``batch_trials`` = M. The model-steps per second of the whole batch is
``batch_trials * steps_per_s``.

Only the simple case is supported: model ``mlp`` without maxout or dropout, losses without
penalties (minimax, nonsaturating, hinge, lsgan, wgan), optimizer adam.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

from ganbench.config import TrialConfig
from ganbench.evaluate import evaluate
from ganbench.metrics import metric
from ganbench.metrics.convergence import steps_to_threshold
from ganbench.metrics.throughput import peak_memory_mb
from ganbench.steps import draw_z
from ganbench.train import SNAPSHOT_SIZE, TrainResult, build

SUPPORTED_LOSSES = ("minimax", "nonsaturating", "hinge", "lsgan", "wgan")

#: keys every trial of a batch must share (they fix the stacked shapes or the loop)
SHARED_KEYS = (
    "model", "loss", "dataset", "d_steps_per_g_step", "g_steps_per_d_step", "steps", "eval_every",
    "batch_size", "z_dim", "hidden", "depth", "device",
)

#: a batched evaluation callback: (trial index, step, metrics) -> True to stop that trial ("pruned")
BatchEvalCallback = Callable[[int, int, dict[str, float]], Optional[bool]]


def check_batchable(cfgs: Sequence[TrialConfig]) -> None:
    """Raise ValueError unless every config is supported and all share the stacked shapes."""
    if not cfgs:
        raise ValueError("train_batched needs at least one trial config")
    for i, cfg in enumerate(cfgs):
        bad = unsupported(cfg)
        if bad:
            raise ValueError(f"train_batched does not support trial {i}'s {'; '.join(bad)}")
    for key in _shared_keys(cfgs[0]):
        values = {getattr(cfg, key) for cfg in cfgs}
        if len(values) > 1:
            raise ValueError(f"batched trials must share {key!r}, got {sorted(map(repr, values))}")


def unsupported(cfg: TrialConfig) -> list[str]:
    """What in ``cfg`` stacked training cannot do (empty when it can)."""
    checks = [
        (cfg.model != "mlp", f"model={cfg.model!r} (only 'mlp')"),
        (cfg.optimizer != "adam", f"optimizer={cfg.optimizer!r} (only 'adam')"),
        (cfg.loss not in SUPPORTED_LOSSES, f"loss={cfg.loss!r} (only {', '.join(SUPPORTED_LOSSES)})"),
        (cfg.d_maxout >= 2, f"d_maxout={cfg.d_maxout} (no maxout)"),
        (cfg.d_dropout > 0, f"d_dropout={cfg.d_dropout} (no dropout)"),
        (cfg.r1 > 0, f"r1={cfg.r1} (no R1 penalty)"),
        (cfg.r2 > 0, f"r2={cfg.r2} (no R2 penalty)"),
    ]
    return [what for flag, what in checks if flag]


def _shared_keys(cfg: TrialConfig) -> tuple[str, ...]:
    return SHARED_KEYS + (("clip",) if cfg.loss == "wgan" else ())


def batch_key(cfg: TrialConfig) -> tuple:
    """Trials with equal keys can share a batch: the values of everything they must share."""
    return tuple(getattr(cfg, key) for key in _shared_keys(cfg))


def stacked_forward(module: nn.Module) -> Callable[[dict[str, Tensor], Tensor], Tensor]:
    """module's forward over stacked params: (params [M, ...], x [M, n, ...]) -> [M, n, ...].

    An ``nn.Sequential`` of Linear, ReLU, LeakyReLU, Flatten and Unflatten (the MLP) runs as
    batched matmuls (``torch.baddbmm``), which costs less per call than vmap; any other module
    falls back to ``torch.vmap(functional_call(...))``.
    """
    base = copy.deepcopy(module).to("meta")  # a shell: functional_call supplies every tensor
    vmapped = torch.vmap(lambda params, x: functional_call(base, params, (x,)))
    kinds = (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Flatten, nn.Unflatten)
    if not isinstance(base, nn.Sequential) or not all(type(layer) in kinds for layer in base):
        return vmapped
    layers = list(base.named_children())

    def forward(params: dict[str, Tensor], x: Tensor) -> Tensor:
        for name, layer in layers:  # x keeps the trial dimension in front: [M, n, ...]
            if isinstance(layer, nn.Linear):
                w, b = params[f"{name}.weight"], params.get(f"{name}.bias")
                x = torch.bmm(x, w.transpose(1, 2)) if b is None else torch.baddbmm(b[:, None], x, w.transpose(1, 2))
            elif isinstance(layer, nn.ReLU):
                x = torch.relu(x)
            elif isinstance(layer, nn.LeakyReLU):
                x = nn.functional.leaky_relu(x, layer.negative_slope)
            elif isinstance(layer, nn.Flatten):  # per-trial dims shift by one
                end = layer.end_dim + 1 if layer.end_dim >= 0 else layer.end_dim
                x = x.flatten(layer.start_dim + 1, end)
            else:  # nn.Unflatten
                x = x.unflatten(layer.dim + 1 if layer.dim >= 0 else layer.dim, layer.unflattened_size)
        return x

    return forward


def flat_params(stacked: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """One contiguous [M, P] buffer holding all stacked tensors, and a leaf view of it per name.

    The views are what the model reads and what autograd differentiates; the optimizer updates
    the buffer in place with a few whole-tensor ops instead of a dozen per parameter.
    """
    flat = torch.cat([p.detach().flatten(1) for p in stacked.values()], 1)
    views, offset = {}, 0
    for name, p in stacked.items():
        n = p[0].numel()
        views[name] = flat[:, offset : offset + n].view(p.shape).requires_grad_(p.requires_grad)
        offset += n
    return flat, views


class StackedAdam:
    """torch.optim.Adam (eps=1e-8, no weight decay, no amsgrad) over M stacked trials.

    ``flat`` is [M, P]: trial i's parameters are row i. ``lr`` and ``betas`` hold one value per
    trial, broadcast as [M, 1]. The formula is torch's single-tensor Adam:
    m <- lerp(m, g, 1 - b1);  v <- b2 v + (1 - b2) g^2;
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    Bias corrections are computed in float64, as torch does with Python floats.
    """

    def __init__(self, flat: Tensor, lr: Sequence[float], betas: Sequence[tuple[float, float]], eps: float = 1e-8):
        self.flat, self.eps, self.t = flat, eps, 0
        self.lr = torch.tensor(lr, dtype=torch.float64, device=flat.device)[:, None]
        b = torch.tensor(betas, dtype=torch.float64, device=flat.device)
        self.b1, self.b2 = b[:, :1], b[:, 1:]
        self.one_minus_b1 = (1 - self.b1).to(flat.dtype)
        self.b2_, self.one_minus_b2 = self.b2.to(flat.dtype), (1 - self.b2).to(flat.dtype)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(flat), torch.zeros_like(flat)

    @torch.no_grad()
    def step(self, grad: Tensor, active: Tensor) -> None:
        """One update from ``grad`` [M, P]; rows where ``active`` is False keep their parameters."""
        self.t += 1
        step_size = (self.lr / (1 - self.b1**self.t)).to(self.flat.dtype)  # [M, 1]
        bc2_sqrt = (1 - self.b2**self.t).sqrt().to(self.flat.dtype)
        self.exp_avg.lerp_(grad, self.one_minus_b1)
        self.exp_avg_sq.mul_(self.b2_).addcmul_(grad * self.one_minus_b2, grad)
        denom = (self.exp_avg_sq.sqrt() / bc2_sqrt).add_(self.eps)
        update = self.exp_avg / denom * step_size
        # frozen trials: torch.where, not a multiplication by 0, so NaN updates stay out
        self.flat.copy_(torch.where(active[:, None], self.flat - update, self.flat))


def flat_grad(loss: Tensor, views: dict[str, Tensor]) -> Tensor:
    """d(sum of the M per-trial losses)/d(params) as [M, P]: row i is trial i's own gradient,
    since each trial's loss depends only on its own slice."""
    grads = torch.autograd.grad(loss.sum(), list(views.values()))
    return torch.cat([g.flatten(1) for g in grads], 1)


def train_batched(cfgs: Sequence[TrialConfig], on_eval: BatchEvalCallback | None = None) -> list[TrainResult]:
    """Train M same-shaped trials as one stacked model; one TrainResult per config, in order."""
    cfgs = list(cfgs)
    check_batchable(cfgs)
    start = time.perf_counter()
    n_trials, c0 = len(cfgs), cfgs[0]
    gans = [build(cfg) for cfg in cfgs]  # each seeds torch as train() would: same initial weights
    device, loss, data = gans[0].device, gans[0].loss, gans[0].data
    flat_g, params_g = flat_params(stack_module_state([gan.G for gan in gans])[0])
    flat_d, params_d = flat_params(stack_module_state([gan.D for gan in gans])[0])
    G, D = stacked_forward(gans[0].G), stacked_forward(gans[0].D)
    d_loss_fn, g_loss_fn = torch.vmap(loss.d_loss), torch.vmap(loss.g_loss)
    opt_g = StackedAdam(flat_g, [c.lr_g for c in cfgs], [c.betas for c in cfgs])
    opt_d = StackedAdam(flat_d, [c.lr_d for c in cfgs], [c.betas_d or c.betas for c in cfgs])

    # One training stream per trial, seeded as in train(); one evaluation stream, reseeded per trial.
    rngs = [torch.Generator(device=device).manual_seed(cfg.seed) for cfg in cfgs]
    eval_rng = torch.Generator()
    k, m, batch, z_dim = c0.d_steps_per_g_step, c0.g_steps_per_d_step, c0.batch_size, c0.z_dim

    def draw_d() -> tuple[Tensor, Tensor]:  # per trial: a real batch, then z
        pairs = [(data.sample(batch, rng), draw_z(batch, z_dim, rng)) for rng in rngs]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def draw_zs() -> Tensor:
        return torch.stack([draw_z(batch, z_dim, rng) for rng in rngs])

    status = ["running"] * n_trials
    messages = [""] * n_trials
    steps_done = [0] * n_trials
    metrics: list[dict[str, float]] = [{} for _ in cfgs]
    curves: list[list[tuple[int, str, float]]] = [[] for _ in cfgs]
    snapshots: list[list[tuple[int, np.ndarray]]] = [[] for _ in cfgs]
    finite = torch.ones(n_trials, dtype=torch.bool, device=device)
    active = finite.clone()  # trials still updated (not diverged, not pruned)
    eval_time, step, toy = 0.0, 0, math.prod(data.shape) <= 2

    for step in range(1, c0.steps + 1):
        for _ in range(k):
            real, z = draw_d()
            with torch.no_grad():
                fake = G(params_g, z)
            d_loss = d_loss_fn(D(params_d, real), D(params_d, fake))  # [M]
            grad_d = flat_grad(d_loss, params_d)
            opt_d.step(grad_d, active)
            if loss.clip is not None:
                with torch.no_grad():
                    flat_d.clamp_(-loss.clip, loss.clip)
        evaluating = step % c0.eval_every == 0 or step == c0.steps
        norm_d = grad_d.norm(dim=1) if evaluating else None
        for _ in range(m):
            g_loss = g_loss_fn(D(params_d, G(params_g, draw_zs())))
            grad_g = flat_grad(g_loss, params_g)
            opt_g.step(grad_g, active)
        # On device, no host sync per step: a non-finite trial is frozen from the next step on.
        finite &= torch.isfinite(d_loss.detach()) & torch.isfinite(g_loss.detach())
        active &= finite
        if not evaluating:
            continue

        t0 = time.perf_counter()
        norm_g = grad_g.norm(dim=1)
        ok = finite.tolist()
        for i, (cfg, gan) in enumerate(zip(cfgs, gans)):
            if status[i] != "running":
                continue
            steps_done[i] = step
            if not ok[i]:
                status[i], messages[i] = "diverged", f"loss became NaN/inf by step {step}"
                continue
            with torch.no_grad():
                gan.G.load_state_dict({name: p[i] for name, p in params_g.items()})
                gan.D.load_state_dict({name: p[i] for name, p in params_d.items()})
            result, fake = evaluate(gan, cfg, eval_rng.manual_seed(cfg.seed + 2**31))
            if toy:
                snapshots[i].append((step, fake[:SNAPSHOT_SIZE].detach().flatten(1).float().cpu().numpy()))
            result["grad_norm_d"] = float(norm_d[i])
            result["grad_norm_g"] = float(norm_g[i])
            metrics[i] = result
            curves[i] += [(step, name, value) for name, value in result.items()]
            # as in train(): the last evaluation is reported but never pruned
            if on_eval is not None and on_eval(i, step, result) and step < c0.steps:
                status[i], messages[i] = "pruned", f"stopped at step {step} by the evaluation callback"
                active[i] = False
        eval_time += time.perf_counter() - t0
        if "running" not in status:
            break

    wall = time.perf_counter() - start
    train_time = max(wall - eval_time, 1e-9)
    shared = dict(
        steps_per_s=step / train_time,  # the batched loop's iterations per second (all trials at once)
        samples_per_s=step * batch * (k + m) / train_time,
        peak_mem_mb=peak_memory_mb(device),
        wall_s=wall,
        eval_frac=eval_time / wall,
        batch_trials=float(n_trials),
    )
    results = []
    for i, cfg in enumerate(cfgs):
        final = dict(metrics[i])
        if cfg.target is not None:
            curve = [(s, v) for s, name, v in curves[i] if name == cfg.target.metric]
            final["steps_to_threshold"] = steps_to_threshold(curve, cfg.target.value, metric(cfg.target.metric))
        final.update(shared)
        state = "complete" if status[i] == "running" else status[i]
        results.append(TrainResult(state, final, curves[i], snapshots[i], steps_done[i], messages[i]))
    return results
