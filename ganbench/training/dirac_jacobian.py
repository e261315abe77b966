"""Mescheder et al. 2018's convergence criterion on the Dirac-GAN: the Jacobian of one training update at the
equilibrium (theta, psi) = (0, 0).

"Which Training Methods for GANs do actually Converge?" (ICML 2018), Sec. 2: gradient-based training is
locally convergent at an equilibrium when every eigenvalue of the Jacobian of its update operator there has
absolute value below 1 (linear convergence at rate ~ the spectral radius), and not when one lies outside the
unit circle; on the unit circle (unregularized alternating GD) it does not converge either: it circles the
equilibrium. That criterion is local and does not depend on how many steps a trial was given, unlike a
distance to (0, 0) at the end of a budget.

``analyse(cfg)`` builds the update operator of the trial's *expected* game and differentiates it with
``torch.autograd.functional.jacobian`` in float64:

- the expected game: the Dirac data is exactly 0 and G(z) = theta does not depend on z, so a minibatch is the
  expectation, except for instance noise. There the noise is replaced by ``QUADRATURE_NODES`` fixed nodes,
  the normal quantiles at (i - 1/2)/n rescaled to unit mean square: symmetric, so every odd moment is exactly 0,
  and with exactly unit variance. On the Dirac-GAN that is the exact expectation of the Jacobian at (0, 0): D
  is linear in x, so D's gradient is a sum of per-sample terms x l'(psi x), whose first derivatives at psi = 0
  involve the noise only through E eps and E eps^2 (G's: only through E eps). No sampling error, and the
  same value for every seed. (A relativistic loss pairs real row i with fake row i; with instance noise the
  shared nodes would correlate the pair, so that case is reported as NaN.)
- one update as the trial performs it: the harness's own losses, penalties (``penalized_d_loss``: R1, R2,
  WGAN-GP) and consensus term (``consensus_term``), its instance-noise input (``DInput``, with the noise of the
  trial's last step when it decays), its learning rates, its scheme: k D then m G updates (``d_first``), m G
  then k D (``g_first``), or one joint step (``simultaneous``). Each player's SGD step is written out as
  p - lr * grad (create_graph), and WGAN's clipping as ``clamp``: the only lines re-typed from
  ``training.updates``/``training.simultaneous`` (tests/training/test_dirac_jacobian.py checks them against a
  real iteration of the loop). Adam, momentum or a learning-rate schedule make the update depend on more than
  (theta, psi): NaN.

Where the criterion needs care:

- WGAN's clipping (|psi| <= c) is inactive at psi = 0: the update is the unclipped one there.
- WGAN-GP's penalty lambda (|psi| - 1)^2 has a field that jumps by 4 lambda across psi = 0 (the authors' code:
  reg (|psi| - 1) sign(psi)). (0, 0) is still a fixed point (the penalty's gradient is 0 there), but any point
  psi = +-eps is pushed about 2 lr_d lambda away: not locally convergent. The harness's penalty is smoothed,
  sqrt(||grad||^2 + 1e-12), so its update is differentiable with a slope of about 2 lr_d lambda / 1e-6 in psi: the
  radius reported is that one's (about 1e5: "above 1", the right verdict), and ``dirac_update_jump`` reports
  the jump itself (Richardson's estimate of lim ||F(d e_i) - F(-d e_i)|| as d -> 0; about 0 for an update that
  is continuous at the equilibrium).
- An equilibrium the update moves (||F(0)|| > FIXED_POINT_TOL) cannot converge: the radius is +inf then.

``log_slope`` is the other, budget-bound reading: the least-squares slope of log(dirac_distance) against the step
over the last half of a trial's evaluations (about log(radius) once a trial is in the linear regime).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from ganbench.config import TrialConfig
from ganbench.registry import DATASETS, LOSSES
from ganbench.datasets.toy import Dirac
from ganbench.training.gan import GAN, make_models
from ganbench.training.updates import DInput, consensus_term, generator_loss, penalized_d_loss

#: equal-weight noise nodes standing for the expectation over instance noise (see the module's docstring)
QUADRATURE_NODES = 64
#: ||F(0, 0)|| above this: the update moves the equilibrium
FIXED_POINT_TOL = 1e-9
#: the two offsets of the jump estimate (well above WGAN-GP's smoothing scale 1e-6, well below 1)
JUMP_OFFSETS = (1e-3, 1e-4)


class Quadrature:
    """A training stream for the expected Dirac game: real data 0, z = 0 (G ignores it), and instance noise
    replaced by fixed symmetric nodes of unit mean square (the same every call: each call is an expectation).

    It answers what ``training.updates.Stream`` answers, so the real updates run on it too.
    """

    def __init__(self, n: int = QUADRATURE_NODES, dtype: torch.dtype = torch.float64):
        self.n, self.dtype = n, dtype
        q = torch.special.ndtri((torch.arange(n, dtype=torch.float64) + 0.5) / n)
        self.nodes = (q / q.pow(2).mean().sqrt()).to(dtype)

    def real(self, gan, n: int):
        return torch.zeros(n, 1, dtype=self.dtype), None

    def z(self, n: int, z_dim: int) -> Tensor:
        return torch.zeros(n, z_dim, dtype=self.dtype)

    def noise_like(self, x: Tensor) -> Tensor:
        if x.shape[0] != self.n:
            raise ValueError(f"the quadrature holds {self.n} nodes, got a batch of {x.shape[0]}")
        return self.nodes.reshape(self.n, *([1] * (x.dim() - 1))).expand_as(x).to(x.dtype)

    def labels(self, gan, n: int):
        return None


@dataclass(frozen=True)
class Analysis:
    """The update operator's Jacobian at (0, 0) for one config, and what the criterion reads from it."""

    radius: float  #: max |eigenvalue| (inf when the equilibrium is not a fixed point; NaN: not defined)
    eigenvalues: tuple[complex, ...]
    jacobian: tuple[tuple[float, float], tuple[float, float]] | None  #: rows theta', psi'; columns theta, psi
    fixed_point_residual: float  #: ||F(0, 0)||
    jump: float  #: the update's discontinuity at the equilibrium (about 0 when it is continuous)
    reason: str = ""  #: why the radius is NaN or inf

    @property
    def converges(self) -> bool:
        return self.radius < 1


def unsupported(cfg: TrialConfig) -> str:
    """Why the update of ``cfg`` is no map of (theta, psi) alone, or not a Dirac-GAN's ("" when it is)."""
    fields = TrialConfig.model_fields
    schedules = [k for k in ("momentum", "momentum_final", "lr_decay") if k in fields and
                 getattr(cfg, k) != fields[k].default]
    checks = [
        (not _is_dirac(cfg.dataset), f"dataset {cfg.dataset!r} is not the Dirac data"),
        (cfg.optimizer != "sgd", f"optimizer {cfg.optimizer!r} keeps a state beside (theta, psi)"),
        (bool(schedules), f"{', '.join(schedules)}: SGD with a state or a schedule"),
        (cfg.unroll_steps > 0, "unroll_steps: G's update through a look-ahead D is not analysed"),
        (cfg.pac > 1, "pac > 1: packing is not analysed"),
    ]
    return "; ".join(why for flag, why in checks if flag)


def _is_dirac(dataset: str) -> bool:
    factory = DATASETS.get(dataset)
    return isinstance(factory, type) and issubclass(factory, Dirac)


def update_operator(cfg: TrialConfig, stream: Quadrature | None = None) -> Callable[[Tensor], Tensor]:
    """F: [theta, psi] -> [theta, psi] after one iteration of ``cfg``'s training on the expected game (float64)."""
    data = DATASETS.get(cfg.dataset)()
    G, D = make_models(cfg, data)
    (g_name, _), = G.named_parameters()
    (d_name, _), = D.named_parameters()
    loss = LOSSES.get(cfg.loss).from_config(cfg)
    gan = GAN(G, D, loss, data, None, None, torch.device("cpu"), step=cfg.steps)  # noise as at the last step
    stream = stream or Quadrature()
    n = stream.n

    def players(theta: Tensor, psi: Tensor):
        """G and D at (theta, psi), and each player's own parameter as autograd sees it: a zero offset, so
        that a gradient is the partial derivative at this point (an alternating step's input theta already
        depends on psi through the step before; the total derivative would count that too)."""
        u_g, u_d = (torch.zeros((), dtype=theta.dtype, requires_grad=True) for _ in range(2))
        G_of = lambda z: functional_call(G, {g_name: theta + u_g}, (z,))  # noqa: E731
        D_of = lambda x: functional_call(D, {d_name: psi + u_d}, (x,))  # noqa: E731
        return G_of, D_of, u_g, u_d

    def batches(G_of, with_real: bool):
        d_input = DInput(gan, cfg, stream)
        x_fake = d_input(G_of(stream.z(n, cfg.z_dim)))
        x_real = d_input(stream.real(gan, n)[0]) if with_real else None
        return x_real, x_fake

    def clip(psi: Tensor) -> Tensor:  # training.updates.clip_weights, as a differentiable op
        return psi if loss.clip is None else psi.clamp(-loss.clip, loss.clip)

    def d_step(theta: Tensor, psi: Tensor) -> tuple[Tensor, Tensor]:  # training.updates.d_update
        G_of, D_of, u_g, u_d = players(theta, psi)
        x_real, x_fake = batches(G_of, True)
        d_loss = penalized_d_loss(gan, cfg, D_of, x_real, x_fake)
        if cfg.consensus:
            g_loss = generator_loss(gan, D_of, x_real, x_fake)
            d_loss = d_loss + cfg.consensus * consensus_term(d_loss, g_loss, [u_d], [u_g])
        (grad,) = torch.autograd.grad(d_loss, u_d, create_graph=True)
        return theta, clip(psi - cfg.lr_d * grad)

    def g_step(theta: Tensor, psi: Tensor) -> tuple[Tensor, Tensor]:  # training.updates.g_update
        G_of, D_of, u_g, u_d = players(theta, psi)
        x_real, x_fake = batches(G_of, bool(cfg.consensus or loss.g_uses_real))
        g_loss = generator_loss(gan, D_of, x_real, x_fake)
        if cfg.consensus:
            d_loss = penalized_d_loss(gan, cfg, D_of, x_real, x_fake)
            g_loss = g_loss + cfg.consensus * consensus_term(d_loss, g_loss, [u_d], [u_g])
        (grad,) = torch.autograd.grad(g_loss, u_g, create_graph=True)
        return theta - cfg.lr_g * grad, psi

    def joint_step(theta: Tensor, psi: Tensor) -> tuple[Tensor, Tensor]:  # training.simultaneous.joint_update
        G_of, D_of, u_g, u_d = players(theta, psi)
        x_real, x_fake = batches(G_of, True)
        d_loss = penalized_d_loss(gan, cfg, D_of, x_real, x_fake)
        g_loss = generator_loss(gan, D_of, x_real, x_fake)
        if cfg.consensus:
            term = cfg.consensus * consensus_term(d_loss, g_loss, [u_d], [u_g])
            d_loss, g_loss = d_loss + term, g_loss + term
        (grad_d,) = torch.autograd.grad(d_loss, u_d, create_graph=True)
        (grad_g,) = torch.autograd.grad(g_loss, u_g, create_graph=True)
        return theta - cfg.lr_g * grad_g, clip(psi - cfg.lr_d * grad_d)

    if cfg.updates == "simultaneous":
        steps = [joint_step]
    elif cfg.alternating_order == "g_first":
        steps = [g_step] * cfg.g_steps_per_d_step + [d_step] * cfg.d_steps_per_g_step
    else:
        steps = [d_step] * cfg.d_steps_per_g_step + [g_step] * cfg.g_steps_per_d_step

    def F(x: Tensor) -> Tensor:
        with torch.enable_grad():
            x = x if x.requires_grad else x.clone().requires_grad_(True)  # each step differentiates its player
            theta, psi = x[0], x[1]
            for step in steps:
                theta, psi = step(theta, psi)
        return torch.stack([theta, psi])

    return F


def _jump(F: Callable[[Tensor], Tensor]) -> float:
    """lim_{d -> 0} max_i ||F(d e_i) - F(-d e_i)||, by Richardson's extrapolation from two offsets (the part
    linear in d cancels): about 0 for an update continuous at 0, the jump's size for one that is not."""
    big, small = JUMP_OFFSETS
    ratio = big / small
    out = 0.0
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = 1.0
        gap = [float(torch.linalg.vector_norm((F(d * e) - F(-d * e)).detach())) for d in (big, small)]
        out = max(out, (ratio * gap[1] - gap[0]) / (ratio - 1))
    return max(out, 0.0)


def analyse(cfg: TrialConfig) -> Analysis:
    """The Jacobian at (0, 0) of one update of ``cfg``'s training on the expected Dirac game, and its radius."""
    why = unsupported(cfg)
    if not why and cfg.instance_noise and _reads_real(cfg):
        why = "instance noise with a relativistic loss (real row i is paired with fake row i)"
    if why:
        return Analysis(math.nan, (), None, math.nan, math.nan, why)
    with torch.random.fork_rng(devices=[]):  # WGAN-GP's interpolation draws from torch's global generator
        torch.manual_seed(0)
        F = update_operator(cfg)
        zero = torch.zeros(2, dtype=torch.float64)
        residual = float(torch.linalg.vector_norm(F(zero).detach()))
        J = torch.autograd.functional.jacobian(F, zero)
        jump = _jump(F)
    eig = torch.linalg.eigvals(J)
    radius = float(eig.abs().max())
    reason = ""
    if residual > FIXED_POINT_TOL:
        radius, reason = math.inf, f"the update moves the equilibrium (||F(0, 0)|| = {residual:.3g}): not a fixed point"
    elif not math.isfinite(radius):
        reason = "the Jacobian is not finite at the equilibrium"
    return Analysis(radius, tuple(complex(v) for v in eig.tolist()), tuple(map(tuple, J.tolist())), residual, jump,
                    reason)


def _reads_real(cfg: TrialConfig) -> bool:
    """G's loss reads D on a real batch (a relativistic loss)."""
    return LOSSES.get(cfg.loss).g_uses_real


def log_slope(curve: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of log(distance) against the step over the last half of the evaluations
    (negative: shrinking; per iteration). Points with a distance that is not positive and finite are left out;
    NaN with fewer than two left."""
    points = sorted(curve)
    points = [(s, v) for s, v in points[len(points) // 2:] if v > 0 and math.isfinite(v)]
    if len(points) < 2 or len({s for s, _ in points}) < 2:
        return math.nan
    steps, values = np.array(points, dtype=np.float64).T
    return float(np.polyfit(steps, np.log(values), 1)[0])


def final_metrics(cfg: TrialConfig, data, curve: Sequence[tuple[int, str, float]]) -> dict[str, float]:
    """The Dirac-GAN's end-of-trial metrics (for the Dirac data only): the update's spectral radius at the
    equilibrium, its jump there, and the log-distance slope of the trial's own evaluations."""
    if not isinstance(data, Dirac):
        return {}
    analysis = analyse(cfg)
    distances = [(step, value) for step, name, value in curve if name == "dirac_distance"]
    return {"dirac_spectral_radius": analysis.radius, "dirac_update_jump": analysis.jump,
            "dirac_log_slope": log_slope(distances)}
