"""The updates of Algorithm 1: one D update and one G update, for unconditional and conditional pairs.

Each ``*_d_update(gan, cfg, stream)`` / ``*_g_update(...)`` draws its own minibatch from the
trial's training stream, so the loop in ``training.loop`` is the same for every family
(CycleGAN's updates live in ``training.cycle``) and for M stacked trials (``training.stacked``:
the same functions, over stacked modules, a vmapped loss and one stream per trial).

With ``consensus: gamma`` each update descends its player's loss plus gamma/2 ||v||^2, v both
players' own gradients at the point where that update is taken (Mescheder et al. 2017; alternating
as in Mescheder et al. 2018): the D update also takes G's loss on its fakes, the G update D's loss
on a real batch.
"""
from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Callable, Sequence

import torch
from torch import Tensor, nn

from ganbench.config import TrialConfig
from ganbench.losses import PENALTIES
from ganbench.training.accel import autocast
from ganbench.training.unrolled import unrolled_critic

if TYPE_CHECKING:
    from ganbench.datasets import Dataset
    from ganbench.training.gan import GAN

#: an update of Algorithm 1: (gan, cfg, stream) -> its loss, detached ([] for one trial, [M] stacked)
Update = Callable[["GAN", TrialConfig, "Stream"], Tensor]


class Stream:
    """One trial's training randomness: a torch.Generator on the trial's device, seeded by the trial.

    Every draw happens on that device, so no batch is copied from the host per step; a CPU
    trial draws exactly what a plain CPU generator with its seed draws. Order of draws: a D
    update takes its real batch, then z; a G update takes z (then labels, when conditional; with
    consensus, a real batch and its labels instead).

    ``train_set`` (``train_set_size``): real batches are drawn from this fixed set of the trial's
    (``datasets.TrainingSet``) instead of fresh from the dataset; ``Stream.of_trial`` builds it.
    """

    #: added to the trial's seed for the draw of its fixed training set (apart from training's and evaluation's)
    TRAIN_SET_SEED_OFFSET = 2**33

    def __init__(self, device: torch.device, seed: int, z_dist: str = "normal", train_set: "Dataset | None" = None):
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.z_dist = z_dist
        self.train_set = train_set

    @classmethod
    def of_trial(cls, gan: "GAN", cfg: TrialConfig) -> "Stream":
        """The trial's stream: seeded by ``cfg.seed``, with its fixed training set when ``train_set_size`` is set
        (N points of ``gan.data`` drawn once, seeded by the trial, kept on its device)."""
        from ganbench.datasets import TrainingSet

        train_set = None if cfg.train_set_size is None else \
            TrainingSet(gan.data, cfg.train_set_size, cfg.seed + cls.TRAIN_SET_SEED_OFFSET, gan.device)
        return cls(gan.device, cfg.seed, cfg.z_dist, train_set)

    def real(self, gan: "GAN", n: int) -> tuple[Tensor, Tensor | None]:
        if self.train_set is not None:  # unconditional data only (training.gan.variant_problems)
            return self.train_set.sample(n, self.generator), None
        return draw_real(gan, n, self.generator)

    def z(self, n: int, z_dim: int) -> Tensor:
        return draw_z(n, z_dim, self.generator, self.z_dist)

    def noise_like(self, x: Tensor) -> Tensor:
        return torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)

    def labels(self, gan: "GAN", n: int) -> Tensor | None:
        return draw_labels(gan, n, self.generator)

    def pair(self, gan: "GAN", n: int) -> tuple[Tensor, Tensor]:
        a, b = gan.data.sample_pair(n, self.generator)
        return a.to(gan.device), b.to(gan.device)


class StackedStreams:
    """M trials' streams drawn together: each trial draws from its own, in the order it would alone."""

    def __init__(self, streams: Sequence[Stream]):
        self.streams = list(streams)

    def real(self, gan: "GAN", n: int) -> tuple[Tensor, None]:
        return torch.stack([s.real(gan, n)[0] for s in self.streams]), None

    def z(self, n: int, z_dim: int) -> Tensor:
        return torch.stack([s.z(n, z_dim) for s in self.streams])

    def noise_like(self, x: Tensor) -> Tensor:  # x: [M, ...]: trial i's noise from trial i's stream
        return torch.stack([s.noise_like(row) for s, row in zip(self.streams, x)])

    def labels(self, gan: "GAN", n: int) -> None:
        return None  # stacked trials are unconditional (checks refuse the rest)


def conditioned(net: nn.Module, y: Tensor | None) -> Callable[[Tensor], Tensor]:
    """The network as a function of its input alone: labels bound when it is conditional."""
    return net if y is None else functools.partial(net, y=y)


def draw_real(gan: "GAN", n: int, rng: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """A real minibatch on the trial's device, with its labels when the models are conditional."""
    if not gan.n_classes:
        return gan.data.sample(n, rng).to(gan.device), None
    x, y = gan.data.sample_labeled(n, rng)
    return x.to(gan.device), y.to(gan.device)


def draw_z(n: int, z_dim: int, rng: torch.Generator, dist: str = "normal") -> Tensor:
    """z ~ N(0, I); with ``dist="uniform"``, U[-1, 1]^z_dim (DCGAN, VEEGAN); with ``"uniform_sqrt3"``,
    U[-sqrt 3, sqrt 3]^z_dim (unit variance: goodfeli/adversarial's ``noise: 'uniform'``)."""
    if dist == "uniform":
        return torch.rand(n, z_dim, generator=rng, device=rng.device) * 2 - 1
    if dist == "uniform_sqrt3":
        return (torch.rand(n, z_dim, generator=rng, device=rng.device) * 2 - 1) * math.sqrt(3)
    return torch.randn(n, z_dim, generator=rng, device=rng.device)


def pack(x: Tensor, m: int, sample_dims: int) -> Tensor:
    """PacGAN's packing: m consecutive samples as one row, concatenated along the first feature axis.

    x: [..., N, *S] with S the shape of one sample (``sample_dims`` = len(S)) -> [..., N/m, m*S0, *S[1:]]:
    features for vectors, channels for images; a leading trial dimension (stacked trials) is kept.
    """
    if m == 1:
        return x
    lead, n, shape = x.shape[: x.dim() - sample_dims - 1], x.shape[x.dim() - sample_dims - 1], x.shape[x.dim() - sample_dims:]
    return x.reshape(*lead, n // m, m * shape[0], *shape[1:])


def noise_scale(cfg: TrialConfig, step: int) -> float:
    """Instance noise std at this iteration: ``instance_noise``, decayed linearly to 0 over the decay steps."""
    if not cfg.instance_noise_decay_steps:
        return cfg.instance_noise
    return cfg.instance_noise * max(0.0, 1.0 - (step - 1) / cfg.instance_noise_decay_steps)


class DInput:
    """What D sees of a batch in this trial: instance noise (drawn from the trial's stream), then packing."""

    def __init__(self, gan: "GAN", cfg: TrialConfig, stream: "Stream | StackedStreams"):
        self.m, self.dims, self.stream = cfg.pac, len(gan.data.shape), stream
        self.sigma = noise_scale(cfg, gan.step) if cfg.instance_noise else 0.0

    def __call__(self, x: Tensor) -> Tensor:
        if self.sigma:
            x = x + self.sigma * self.stream.noise_like(x)
        return pack(x, self.m, self.dims)


def draw_labels(gan: "GAN", n: int, rng: torch.Generator) -> Tensor | None:
    """Uniform class labels for G's samples (None when unconditional)."""
    if not gan.n_classes:
        return None
    return torch.randint(gan.n_classes, (n,), generator=rng, device=rng.device).to(gan.device)


def penalized_d_loss(gan: "GAN", cfg: TrialConfig, D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """D's loss on one real and one fake batch plus its penalties: the loss's own (WGAN-GP) and R1/R2 when set."""
    loss = gan.loss.d_loss(D(real), D(fake))
    # the loss's own penalties first (WGAN-GP's), then R1/R2 (per stacked trial: gan.penalty_weights)
    weights = {**gan.loss.penalties(), **(gan.penalty_weights or {"r1": cfg.r1, "r2": cfg.r2})}
    for name, weight in weights.items():
        if isinstance(weight, Tensor) or weight:
            loss = loss + weight * PENALTIES[name](D, real, fake, gan.lead_dims)
    return loss


def generator_loss(gan: "GAN", D: Callable[[Tensor], Tensor], x_real: Tensor | None, x_fake: Tensor) -> Tensor:
    """G's loss on D's reading of ``x_fake`` (and of ``x_real`` for a relativistic loss, which compares the two)."""
    return gan.loss.g_loss(D(x_fake), D(x_real) if gan.loss.g_uses_real else None)


def params_of(opt: torch.optim.Optimizer) -> list[Tensor]:
    """The parameters one optimizer steps: one player's."""
    return [p for group in opt.param_groups for p in group["params"]]


def consensus_term(d_loss: Tensor, g_loss: Tensor, d_params: list, g_params: list) -> Tensor:
    """1/2 ||v||^2, v the players' own gradients, kept in the graph (so both can descend it)."""
    grads = torch.autograd.grad(d_loss, d_params, create_graph=True) + \
        torch.autograd.grad(g_loss, g_params, create_graph=True)
    return 0.5 * sum(g.pow(2).sum() for g in grads)


def consensus(gan: "GAN", cfg: TrialConfig, d_loss: Tensor, g_loss: Tensor) -> Tensor:
    """Consensus optimization's regularizer gamma/2 ||v||^2 at the point where both losses were taken."""
    return cfg.consensus * consensus_term(d_loss, g_loss, params_of(gan.opt_d), params_of(gan.opt_g))


def step_optimizer(opt: torch.optim.Optimizer, loss: Tensor) -> Tensor:
    """One optimizer step on ``loss``, differentiating only that optimizer's parameters: a G update
    backpropagates through D to its input but computes no D weight gradients (1/6 fewer FLOPs
    in an MLP G update), and leaves D's gradients from its own update untouched.

    ``loss`` is a scalar, or one loss per stacked trial ([M]: each depends on its own weights only,
    so the gradient of their sum is every trial's own gradient).
    """
    opt.zero_grad(set_to_none=True)
    loss.backward(torch.ones_like(loss), inputs=params_of(opt))
    opt.step()
    return loss.detach()


def clip_weights(gan: "GAN") -> None:
    """WGAN's weight clipping of D to [-c, c] after each D update."""
    if gan.loss.clip is not None:
        with torch.no_grad():
            for p in gan.D.parameters():
                p.clamp_(-gan.loss.clip, gan.loss.clip)


def d_update(gan: "GAN", cfg: TrialConfig, stream: Stream) -> Tensor:
    """One discriminator update: ascend V(D,G) (descend the loss) plus any penalties.

    A conditional pair generates its fakes with the real batch's labels, so D, the
    penalties and their interpolates all see one label per row. With packing, D judges
    ``batch_size`` rows of ``pac`` samples each; instance noise is added to every D input.
    With consensus, G's loss on the same fakes (and real batch) enters the regularizer.
    """
    n = cfg.batch_size * cfg.pac
    real, y = stream.real(gan, n)
    z = stream.z(n, cfg.z_dim)
    d_input = DInput(gan, cfg, stream)
    D = conditioned(gan.D, y)
    with autocast(gan.device, gan.amp):
        with torch.set_grad_enabled(bool(cfg.consensus)):  # consensus: G's gradient at these fakes too
            fake = conditioned(gan.G, y)(z)
        x_real, x_fake = d_input(real), d_input(fake)
        loss = penalized_d_loss(gan, cfg, D, x_real, x_fake)
        if cfg.consensus:
            g_loss = generator_loss(gan, D, x_real, x_fake)
    if cfg.consensus:
        loss = loss + consensus(gan, cfg, loss, g_loss)
    loss = step_optimizer(gan.opt_d, loss)
    clip_weights(gan)
    return loss


def g_update(gan: "GAN", cfg: TrialConfig, stream: Stream) -> Tensor:
    """One generator update against the current D (or, with ``unroll_steps``, D a few steps ahead).

    A relativistic loss compares with D's outputs on a real batch, drawn here after z. With
    consensus, D's loss on a real batch (drawn after z; a conditional G's samples take its labels,
    as in a D update) and on G's samples enters the regularizer.
    """
    n = cfg.batch_size * cfg.pac
    z = stream.z(n, cfg.z_dim)
    if cfg.consensus:
        real, y = stream.real(gan, n)
    else:
        y = stream.labels(gan, n)
        real = stream.real(gan, n)[0] if gan.loss.g_uses_real else None
    d_input = DInput(gan, cfg, stream)
    D = conditioned(gan.D, y)
    if cfg.unroll_steps:
        D = unrolled_critic(gan, cfg, stream, d_input)
    with autocast(gan.device, gan.amp):
        x_fake = d_input(conditioned(gan.G, y)(z))
        x_real = d_input(real) if real is not None else None
        loss = generator_loss(gan, D, x_real, x_fake)
        if cfg.consensus:
            d_loss = penalized_d_loss(gan, cfg, D, x_real, x_fake)
    if cfg.consensus:
        loss = loss + consensus(gan, cfg, d_loss, loss)
    return step_optimizer(gan.opt_g, loss)
