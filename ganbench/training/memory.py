"""How much memory one trial needs at its peak, estimated without allocating any of it.

G and D are built on PyTorch's meta device (``meta_models``): their parameters have shapes and
dtypes but no storage, and a forward pass on meta tensors computes every output's shape and
nothing else. So a config with ``z_dim: 100000000`` or ``batch_size: 1000000000`` is sized in
milliseconds and a few bytes, and ``bench.py validate`` can refuse it before anything runs.

What ``estimate_memory`` counts (bytes; ``MemoryEstimate`` keeps each part):

- **training state**: the parameters of G and D (numel x element size, read from the meta
  modules) x ``STATE_COPIES[optimizer]``: weights, their gradients and Adam's two moments (4
  copies), or weights and gradients for plain SGD (2); plus the modules' buffers (batch-norm
  running statistics, spectral norm's vectors).
- **activations**: one forward of G on a meta z and of D on a meta sample, with forward hooks
  summing the bytes of every distinct tensor a module returns (a view counts as its base, once).
  The forward runs at batch 1 and at batch 2: the difference is the per-sample part, the rest
  (e.g. spectral norm's normalised weights) does not grow with the batch. Two phases, the
  larger one is the peak:

  - a training iteration at ``batch_size``: G's plus D's forward x ``ACTIVATION_FACTOR`` (3: a D
    update holds D's activations for the real and the fake batch and backward's gradients of
    them, a G update G's and D's and their gradients; see there), plus D's x ``PENALTY_FACTOR``
    (2) with a gradient penalty (wgan-gp, R1, R2: double backward);
  - an evaluation at ``eval_samples`` (G generates that many fakes at once and D reads as many
    reals): G's plus D's forward x ``EVAL_FACTOR`` (1: it runs without grad, nothing is kept
    for a backward).

  Scaling both by the larger of ``batch_size`` and ``eval_samples`` with the training factor
  would refuse image trials that run fine: an evaluation of 2,500 samples without grad holds
  far less than a training batch of 2,500 (measured on CPU: dcgan 178 MB against 1 GB so counted).
- **inputs**: that phase's real and fake batch and z (for CycleGAN the A and B batches and
  their two translations), plus labels when the models are conditional.

CycleGAN (``G.is_cycle``) has no z: its translators ``G.ab``/``G.ba`` and critics ``D.a``/``D.b``
each run on one image, and a G update runs each translator twice (translation and cycle;
three times with the identity loss), so G's forward counts that many passes of both.

Not counted: the Python/PyTorch runtime itself, the data set, an image evaluator's feature
network and its real statistics, cuDNN/allocator workspaces. A CUDA trial is estimated the same
way (its weights and activations live on the GPU, its data and runtime in host memory).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves

from ganbench.config import TrialConfig, gradient_penalties
from ganbench.datasets import Dataset
from ganbench.training.gan import make_models

#: copies of the parameters that training holds: weights + gradients (+ Adam's two moments)
STATE_COPIES = {"adam": 4, "sgd": 2}

#: Activations a training iteration holds, as a multiple of the forward activations of G plus D
#: for its batch. A D update keeps D's activations for the real *and* the fake batch (2x D) while
#: backward allocates gradients of about one more such set (3x D), and G's forward (under
#: no_grad) is transient beside them: 3x D + 1x G. A G update keeps G's and D's activations and
#: backward's gradients of them: about 2x (G + D). 3x (G + D) bounds both. Measured on CPU (peak
#: RSS of two iterations over the build's), the estimate is 1.2x (dcgan with wgan-gp) to 2.7x
#: (mlp) what an iteration takes: never below it.
ACTIVATION_FACTOR = 3
#: extra multiples of D's activations with a gradient penalty (wgan-gp, R1, R2): the penalty's
#: forward of D on its inputs is kept, and so is the graph of its input gradient for the second
#: backward (double backward)
PENALTY_FACTOR = 2
#: An evaluation runs G and D once on ``eval_samples`` samples at once, without grad: nothing is
#: kept for a backward and each layer's output is freed once the next is computed, so the sum of
#: all forward activations (1x) bounds what it holds (measured: that sum is 2x to 6x the use).
EVAL_FACTOR = 1


@dataclass(frozen=True)
class MemoryEstimate:
    """One trial's estimated peak memory, in bytes, part by part (see the module docstring).

    The peak is that of a training iteration (``batch_size`` samples) or of an evaluation
    (``eval_samples`` at once), whichever is larger: ``phase`` says which, ``batch`` its size.
    """

    params_g: int  # bytes of G's parameters (one copy)
    params_d: int  # bytes of D's parameters (one copy)
    state: int  # parameters x STATE_COPIES[optimizer] + buffers
    #: bytes of one forward of G and of D per sample (CycleGAN's G: every translator pass of a G update)
    per_sample_g: int
    per_sample_d: int
    phase: str  # "training" or "evaluation": the larger
    batch: int  # its number of samples
    activations: int  # what that phase holds: its forwards scaled by the factors
    inputs: int  # its real, fake and z batches (CycleGAN: a, b and their translations)

    @property
    def total(self) -> int:
        return self.state + self.activations + self.inputs

    def describe(self) -> str:
        """One line: the parts in GB."""
        what = f"a training batch of {self.batch:,}" if self.phase == "training" else \
            f"an evaluation of {self.batch:,} samples"
        return (f"weights, gradients and optimizer state {gb(self.state)}, activations of {what} "
                f"{gb(self.activations)}, its input batches {gb(self.inputs)}")


def gb(n_bytes: float) -> str:
    """Bytes as GB (10^9), with enough digits for small and huge values alike."""
    value = n_bytes / 1e9
    return f"{value:.3g} GB" if value < 1000 else f"{value:,.0f} GB"


def meta_models(cfg: TrialConfig, data: Dataset) -> tuple[nn.Module, nn.Module]:
    """``make_models(cfg, data)`` on the meta device: every check of the real build, no weight memory.

    ``data`` must be built outside (its tensors are real; a cached dataset made under the meta
    context would hold meta tensors for every later user).
    """
    with torch.device("meta"):
        return make_models(cfg, data)


def nbytes(module: nn.Module, buffers: bool = False) -> int:
    """Bytes of the module's parameters (or of its buffers): numel x element size, meta or not."""
    tensors = module.buffers() if buffers else module.parameters()
    return sum(t.numel() * t.element_size() for t in tensors)


def forward_bytes(modules: list[nn.Module], fn: Callable[..., object], inputs: list[Tensor]) -> int:
    """Bytes of the distinct tensors that any submodule of ``modules`` returns while ``fn(*inputs)`` runs.

    A view counts as its base, and each base once (``nn.Sequential`` returns its last layer's
    tensor, ``nn.Unflatten`` a view of its input); ``inputs`` themselves are not counted (a
    module that returns its input as it is, like ``nn.Flatten`` of flat data, adds nothing).
    """
    seen: dict[int, Tensor] = {id(t): t for t in inputs}  # id -> tensor, kept alive so no id is reused
    given = set(seen)

    def hook(module, args, output):
        for t in tree_leaves(output):
            if isinstance(t, Tensor):
                base = t._base if t._base is not None else t
                seen.setdefault(id(base), base)

    handles = [m.register_forward_hook(hook) for net in modules for m in net.modules()]
    try:
        with torch.no_grad():
            fn(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return sum(t.numel() * t.element_size() for key, t in seen.items() if key not in given)


def per_sample_bytes(modules: list[nn.Module], fn: Callable[..., object],
                     inputs: Callable[[int], list[Tensor]]) -> tuple[int, int]:
    """(bytes per sample, bytes independent of the batch) of ``fn``'s forward, from batches of 1 and 2
    meta samples (``inputs(k)``): what does not grow with the batch (spectral norm's normalised
    weights) is not multiplied by it."""
    one, two = forward_bytes(modules, fn, inputs(1)), forward_bytes(modules, fn, inputs(2))
    return two - one, 2 * one - two


def _meta(n: int, *shape: int) -> Tensor:
    return torch.empty(n, *shape, device="meta")


def estimate_memory(cfg: TrialConfig, data: Dataset,
                    models: tuple[nn.Module, nn.Module] | None = None) -> MemoryEstimate:
    """Peak memory of one trial of ``cfg`` on ``data`` (see the module docstring for what it counts).

    ``models``: G and D from ``meta_models`` when the caller has them (else they are built here).
    Raises ValueError when the models do not build for the data, or a forward pass fails.
    """
    G, D = models if models is not None else meta_models(cfg, data)
    sample_bytes = math.prod(data.shape) * 4  # float32 data
    cycle = getattr(G, "is_cycle", False)
    was_training = G.training, D.training
    G.eval(), D.eval()  # batch norm at batch 1 trains on one value per channel; shapes are the same
    try:
        if cycle:
            images = lambda k: [_meta(k, *data.shape)]  # noqa: E731
            g_per, g_fixed = per_sample_bytes([G], lambda x: (G.ab(x), G.ba(x)), images)
            d_per, d_fixed = per_sample_bytes([D], lambda x: (D.a(x), D.b(x)), images)
            in_train = in_eval = 4 * sample_bytes  # a, b, G.ab(a), G.ba(b); at evaluation a, true b, real b, fake b
        else:
            n_classes = getattr(G, "n_classes", 0)
            # conditional nets take labels; one label per row, as in training
            g_fn = (lambda z: G(z, torch.zeros(len(z), dtype=torch.long, device="meta"))) if n_classes else G
            d_fn = (lambda x: D(x, torch.zeros(len(x), dtype=torch.long, device="meta"))) if n_classes else D
            g_per, g_fixed = per_sample_bytes([G], g_fn, lambda k: [_meta(k, cfg.z_dim)])
            packed = (cfg.pac * data.shape[0], *data.shape[1:])  # PacGAN: D reads rows of pac samples
            d_per, d_fixed = per_sample_bytes([D], d_fn, lambda k: [_meta(k, *packed)])
            in_train = in_eval = 2 * sample_bytes + cfg.z_dim * 4 + (2 * 8 if n_classes else 0)  # real, fake, z, labels
    except (RuntimeError, NotImplementedError, TypeError) as err:
        raise ValueError(f"a forward pass on one sample of shape {tuple(data.shape)} fails: {err}") from err
    finally:
        G.train(was_training[0]), D.train(was_training[1])

    # training: a G update runs each CycleGAN translator twice (translate, cycle), three times with the identity loss
    passes = (3 if cfg.identity_weight else 2) if cycle else 1
    n = cfg.batch_size  # D's rows; G makes pac samples per row
    forward_g, forward_d = passes * (g_fixed + n * cfg.pac * g_per), d_fixed + n * d_per
    penalty = bool(gradient_penalties(cfg))
    look_ahead = 1 + cfg.unroll_steps  # an unrolled G update keeps each look-ahead D step's graph
    train = (ACTIVATION_FACTOR * look_ahead * (forward_g + forward_d) + (PENALTY_FACTOR * forward_d if penalty else 0),
             n * cfg.pac * in_train)
    # evaluation: G and D once on eval_samples (CycleGAN: at most its held-out domain-A images)
    n_eval = min(cfg.eval_samples, len(data.test_a)) if cycle else cfg.eval_samples
    evaluation = (EVAL_FACTOR * (g_fixed + n_eval * g_per + d_fixed + n_eval // cfg.pac * d_per), n_eval * in_eval)
    phase, batch, (activations, inputs) = max(
        [("training", n, train), ("evaluation", n_eval, evaluation)], key=lambda item: sum(item[2]))
    params_g, params_d = nbytes(G), nbytes(D)
    velocity = cfg.optimizer == "sgd" and (cfg.momentum > 0 or cfg.momentum_final is not None)  # SGD momentum's buffer
    copies = STATE_COPIES[cfg.optimizer] + int(velocity)
    state = copies * (params_g + params_d) + nbytes(G, buffers=True) + nbytes(D, buffers=True)
    state += (cfg.train_set_size or 0) * sample_bytes  # a fixed training set stays resident (train_set_size)
    return MemoryEstimate(params_g, params_d, state, passes * g_per, d_per, phase, batch, activations, inputs)
