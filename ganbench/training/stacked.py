"""Stacked trials: M trials of one shape trained as one stacked model, through the one loop.

``train_stacked(cfgs)`` runs ``training.loop`` on a ``Stacked`` trainer: the M generators (and
the M discriminators) become one ``StackedModule`` each, whose weights are one [M, P] buffer
and whose forward runs every layer as one batched op over the trials (``training.stacked_layers``:
``baddbmm`` for Linear and maxout, per-trial batch norm; other layers through
``torch.vmap(functional_call(...))``, ~4x more per call on these small models).
The loop calls the same D and G updates as for one trial (``training.updates``): with a
vmapped loss they give one loss per trial, and ``StackedAdam`` steps each trial's row with its
own state, learning rate and betas. Every trial keeps its own identity:

- initial weights come from the real ``build(cfg)`` of that trial (``torch.manual_seed(cfg.seed)``);
- real batches and z come from the trial's own stream, drawn in the order ``train`` draws them;
- evaluation loads the trial's slice into its own G/D and calls the real ``evaluate``.

So a stacked trial's curves match ``train(cfg)`` alone up to float rounding (batched matmuls
round differently; the gap grows slowly with steps, as any chaotic training loop would). A
trial whose loss becomes NaN/inf is frozen at once and marked ``diverged`` at the next
evaluation; the others go on. Throughput columns are the loop's (each iteration advances all
M trials by one step); ``batch_trials`` = M.

Supported: model ``mlp`` without dropout or D normalisation (D LeakyReLU or maxout; G plain or
batch-normalised, ``g_norm: batch``, each trial normalising by its own batch and keeping its own
running statistics, which its evaluation reads; per packing slot with ``g_per_pac_slot``), each trial's own
fixed training set (``train_set_size``), every loss but WGAN-GP (members may differ in loss:
``StackedLoss``), R1/R2 with per-trial weights, Adam, alternating or simultaneous updates (so PacGAN's
protocol stacks), eager or with ``compile: true`` (the stacked forward and its backward compiled once
for all members), ``amp: bf16`` (the batched matmuls under bf16 autocast, as for one trial);
``unsupported`` names anything else and suite checks refuse it before a sweep starts.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.func import stack_module_state

from ganbench.config import TrialConfig
from ganbench.losses import GANLoss
from ganbench.registry import LOSSES
from ganbench.roles import keys_where
from ganbench.training.gan import GAN, TrainResult, build
from ganbench.training.loop import TrialEvalCallback, run
from ganbench.training.stacked_layers import stacked_forward
from ganbench.training.updates import StackedStreams, Stream

def stackable_losses() -> list[str]:
    """The registered losses that declare ``stackable`` (vmappable, per-trial randomness only)."""
    return [name for name in LOSSES.names() if LOSSES.get(name).stackable]


#: keys every trial of a batch must share: the fields whose role fixes the stacked shapes or the loop
#: (``ganbench.roles``). A batch's trials may differ in anything else: loss (see ``loss_structure``), learning
#: rates, betas, R1/R2 weights, seed, a fixed training set (``train_set_size``), G's batch-norm gamma init.
SHARED_KEYS = keys_where(TrialConfig, shared=True)


def unsupported(cfg: TrialConfig) -> list[str]:
    """What in ``cfg`` stacked training cannot do (empty when it can)."""
    checks = [
        (cfg.model != "mlp", f"model={cfg.model!r} (only 'mlp')"),
        (cfg.optimizer != "adam", f"optimizer={cfg.optimizer!r} (only 'adam')"),
        (not LOSSES.get(cfg.loss).stackable, f"loss={cfg.loss!r} (only {', '.join(stackable_losses())})"),
        (cfg.d_dropout > 0, f"d_dropout={cfg.d_dropout} (no dropout)"),
        ((cfg.d_dropout_input or 0) > 0 or cfg.d_dropout_output > 0,
         f"d_dropout_input={cfg.d_dropout_input}, d_dropout_output={cfg.d_dropout_output} (no dropout)"),
        (cfg.unroll_steps > 0, f"unroll_steps={cfg.unroll_steps} (no unrolled D)"),
        (cfg.g_ema > 0, f"g_ema={cfg.g_ema} (no EMA generator)"),
        (cfg.consensus > 0, f"consensus={cfg.consensus} (no consensus optimization)"),
        (cfg.d_norm not in (None, "none"), f"d_norm={cfg.d_norm!r} (no normalisation)"),
    ]
    return [what for flag, what in checks if flag]


def check_stackable(cfgs: Sequence[TrialConfig]) -> None:
    """Raise ValueError unless every config is supported and all share the stacked shapes."""
    if not cfgs:
        raise ValueError("stacked training needs at least one trial config")
    for i, cfg in enumerate(cfgs):
        bad = unsupported(cfg)
        if bad:
            raise ValueError(f"stacked training does not support trial {i}'s {'; '.join(bad)}")
    shared = keys_where(type(cfgs[0]), shared=True)  # a subclass's own fields too
    if any(type(cfg) is not type(cfgs[0]) for cfg in cfgs):
        raise ValueError(f"stacked trials must be configs of one class, got {sorted({type(c).__name__ for c in cfgs})}")
    for key in shared:
        values = {_frozen(getattr(cfg, key)) for cfg in cfgs}
        if len(values) > 1:
            raise ValueError(f"stacked trials must share {key!r}, got {sorted(map(repr, values))}")
    structures = {loss_structure(cfg) for cfg in cfgs}
    if len(structures) > 1:
        raise ValueError(f"stacked trials must share how their loss shapes the loop (G reads a real batch, "
                         f"WGAN clipping, R1/R2 on or off), got {sorted(map(repr, structures))} "
                         f"from losses {sorted({cfg.loss for cfg in cfgs})}")


def _frozen(value):
    """A field's value as a set member (a plugin's options are a mapping)."""
    return repr(value) if isinstance(value, (dict, list)) else value


def loss_structure(cfg: TrialConfig) -> tuple:
    """What of a trial's loss and penalties changes the loop, not only the arithmetic of its own rows:
    a relativistic G update draws a real batch (from the trial's stream), WGAN clips D's weights, and
    R1/R2 add a gradient of D to its update. Their weights and the loss itself are per trial."""
    if cfg.loss not in LOSSES:
        return (False, None, cfg.r1 > 0, cfg.r2 > 0)
    loss = LOSSES.get(cfg.loss)
    return (loss.g_uses_real, cfg.clip if loss.clips_weights else None, cfg.r1 > 0, cfg.r2 > 0)


def batch_key(cfg: TrialConfig) -> tuple:
    """Trials with equal keys can share a batch: the values of everything they must share."""
    return tuple(_frozen(getattr(cfg, key)) for key in keys_where(type(cfg), shared=True)) + loss_structure(cfg)


class StackedModule(nn.Module):
    """M modules of one architecture as one: called on [M, n, ...], it runs trial i's weights on row i.

    The weights live in one contiguous [M, P] buffer (``flat``, trial i in row i); each named
    tensor is a parameter aliasing its slice of it, so autograd differentiates the parameters
    while the optimizer updates the whole buffer with a few whole-tensor ops. Buffers (batch
    norm's running statistics) are stacked too, [M, ...] each; a training forward updates only
    the rows that ``active`` ([M] bool, None: all) marks, as a frozen trial's optimizer step does.
    """

    def __init__(self, modules: Sequence[nn.Module], active: Tensor | None = None, compile: bool = False):
        super().__init__()
        stacked, buffers = stack_module_state(list(modules))
        self.names = list(stacked)
        self.flat = torch.cat([p.detach().flatten(1) for p in stacked.values()], 1)
        views, offset = [], 0
        for p in stacked.values():
            n = p[0].numel()
            views.append(nn.Parameter(self.flat[:, offset:offset + n].view(p.shape)))
            offset += n
        self.views = nn.ParameterList(views)
        # registered under plain names (a state-dict name holds dots); the forward reads them by their own
        self.buffer_names = list(buffers)
        for k, buffer in enumerate(buffers.values()):
            self.register_buffer(f"member_buffer{k}", buffer)
        self.active = active
        forward = stacked_forward(modules[0])
        self._forward = compiled(forward) if compile else forward

    def state(self) -> dict[str, Tensor]:
        """Every stacked tensor by its name in the original module: parameters, then buffers."""
        buffers = [buffer for _, buffer in self.named_buffers(recurse=False)]
        return {**dict(zip(self.names, self.views)), **dict(zip(self.buffer_names, buffers))}

    def forward(self, x: Tensor) -> Tensor:
        return self._forward(self.state(), x, self.training, self.active)

    def trial_state(self, i: int) -> dict[str, Tensor]:
        """Trial i's weights and buffers as a state dict of the original module."""
        return {name: tensor[i] for name, tensor in self.state().items()}

    def grad_rows(self) -> Tensor:
        """[M, P]: row i is trial i's gradient (each trial's loss depends only on its own weights)."""
        return torch.cat([view.grad.flatten(1) for view in self.views], 1)


def compiled(forward: Callable) -> Callable:
    """``forward`` compiled once for all members (AOTAutograd compiles its backward too).

    Compiled without donated buffers: simultaneous updates take D's gradient with retain_graph=True
    (G's is taken from the same graph), which a backward that donates its buffers refuses.
    """
    # process-wide settings, read when AOTAutograd compiles (also lazily, at the first backward)
    torch._functorch.config.donated_buffer = False
    # every stacked forward shares one code object: a worker that trains batches of several shapes
    # recompiles it per shape and, past dynamo's default of 8, would fall back to eager without a word
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    return torch.compile(forward)


class StackedAdam:
    """torch.optim.Adam (eps=1e-8, no weight decay, no amsgrad) over the rows of a StackedModule.

    ``lr`` and ``betas`` hold one value per trial, broadcast as [M, 1]; rows where ``active`` is
    False keep their parameters. The formula is torch's single-tensor Adam:
    m <- lerp(m, g, 1 - b1);  v <- b2 v + (1 - b2) g^2;
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    Bias corrections are computed in float64, as torch does with Python floats.
    """

    def __init__(self, module: StackedModule, lr: Sequence[float], betas: Sequence[tuple[float, float]],
                 active: Tensor, eps: float = 1e-8):
        self.module, self.flat, self.active, self.eps, self.t = module, module.flat, active, eps, 0
        self.param_groups = [{"params": list(module.views)}]
        self.lr = torch.tensor(lr, dtype=torch.float64, device=self.flat.device)[:, None]
        b = torch.tensor(betas, dtype=torch.float64, device=self.flat.device)
        self.b1, self.b2 = b[:, :1], b[:, 1:]
        self.one_minus_b1 = (1 - self.b1).to(self.flat.dtype)
        self.b2_, self.one_minus_b2 = self.b2.to(self.flat.dtype), (1 - self.b2).to(self.flat.dtype)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for view in self.module.views:
            view.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.module.grad_rows()
        self.t += 1
        step_size = (self.lr / (1 - self.b1**self.t)).to(self.flat.dtype)  # [M, 1]
        bc2_sqrt = (1 - self.b2**self.t).sqrt().to(self.flat.dtype)
        self.exp_avg.lerp_(grad, self.one_minus_b1)
        self.exp_avg_sq.mul_(self.b2_).addcmul_(grad * self.one_minus_b2, grad)
        denom = (self.exp_avg_sq.sqrt() / bc2_sqrt).add_(self.eps)
        update = self.exp_avg / denom * step_size
        # frozen trials: torch.where, not a multiplication by 0, so NaN updates stay out
        self.flat.copy_(torch.where(self.active[:, None], self.flat - update, self.flat))


class StackedLoss(GANLoss):
    """The members' own registered losses over M stacked trials: D's outputs [M, n] -> one loss per trial [M].

    Members may differ in loss (minimax, hinge, lsgan, ...): each group of one loss runs vmapped on its
    own rows of the logits, and the per-trial losses are put back in member order. What changes the
    loop itself (a G update that reads a real batch; WGAN's clipping) is shared, by ``batch_key``.
    """

    def __init__(self, losses: Sequence[GANLoss], device: torch.device):
        # what the loop reads of the loss itself, shared by every member (batch_key); a member's own
        # probabilistic/equilibrium are read from its own GAN, at its evaluation
        first = losses[0]
        self.clip, self.g_uses_real = first.clip, first.g_uses_real
        # one group per loss and its own settings (a plugin loss's options): each group runs its own head
        groups: dict[tuple, list[int]] = {}
        for i, loss in enumerate(losses):
            groups.setdefault((type(loss), repr(sorted(vars(loss).items()))), []).append(i)
        # the rows and the inverse order live on the device: indexing with them costs no copy per step
        self.rows = [torch.tensor(rows, device=device) for rows in groups.values()]
        order = [i for rows in groups.values() for i in rows]
        self.inverse = None if len(groups) == 1 else torch.argsort(torch.tensor(order, device=device))
        heads = [losses[rows[0]] for rows in groups.values()]
        self._d = [torch.vmap(loss.d_loss) for loss in heads]
        self._g = [torch.vmap(loss.g_loss) for loss in heads]  # called with (fake) or (fake, real)

    def _per_group(self, fns, *outs: Tensor) -> Tensor:
        if self.inverse is None:  # one loss: every member's rows, already in order
            return fns[0](*outs)
        parts = [fn(*(o[rows] for o in outs)) for fn, rows in zip(fns, self.rows)]
        return torch.cat(parts)[self.inverse]

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return self._per_group(self._d, real_out, fake_out)

    def g_loss(self, fake_out: Tensor, real_out: Tensor | None = None) -> Tensor:
        return self._per_group(self._g, fake_out) if real_out is None else self._per_group(self._g, fake_out, real_out)


class Stacked:
    """M same-shaped trials as one trainer of ``training.loop`` (its ``Trainer``)."""

    def __init__(self, cfgs: Sequence[TrialConfig]):
        check_stackable(cfgs)
        self.cfgs = list(cfgs)
        # each seeds torch as train() would: same initial weights; each member's own G and D (what its
        # evaluation reads) stay eager: with compile: true only the stacked forward is compiled
        self.gans = [build(cfg.model_copy(update={"compile": False})) for cfg in self.cfgs]
        first, compile_forward = self.gans[0], self.cfgs[0].compile  # shared by every member (batch_key)
        self.active = torch.ones(len(self.cfgs), dtype=torch.bool, device=first.device)
        # active also freezes a stopped trial's running statistics, as it freezes its weights
        G = StackedModule([gan.G for gan in self.gans], self.active, compile_forward)
        D = StackedModule([gan.D for gan in self.gans], self.active, compile_forward)
        opt_g = StackedAdam(G, [c.lr_g for c in self.cfgs], [c.betas for c in self.cfgs], self.active)
        opt_d = StackedAdam(D, [c.lr_d for c in self.cfgs], [c.betas_d or c.betas for c in self.cfgs], self.active)
        weights = {name: torch.tensor([getattr(c, name) for c in self.cfgs], device=first.device)
                   for name in ("r1", "r2") if getattr(self.cfgs[0], name) > 0}
        loss = StackedLoss([gan.loss for gan in self.gans], first.device)
        self.gan = GAN(G, D, loss, first.data, opt_g, opt_d, first.device, amp=first.amp, lead_dims=2,
                       penalty_weights=weights)
        # each trial its own stream (and fixed training set: train_set_size is per trial, not a shared key)
        self.stream = StackedStreams([Stream.of_trial(gan, cfg) for gan, cfg in zip(self.gans, self.cfgs)])

    def trial(self, i: int) -> GAN:
        gan = self.gans[i]
        with torch.no_grad():
            gan.G.load_state_dict(self.gan.G.trial_state(i))
            gan.D.load_state_dict(self.gan.D.trial_state(i))
        return gan

    def grad_norms(self) -> tuple[Tensor, Tensor]:
        return self.gan.D.grad_rows().norm(dim=1), self.gan.G.grad_rows().norm(dim=1)

    def row_extras(self) -> dict[str, float]:
        return {"batch_trials": float(len(self.cfgs))}

    def after_g_update(self) -> None:
        pass  # no EMA generator in stacked trials (unsupported refuses g_ema)


def train_stacked(cfgs: Sequence[TrialConfig], on_eval: TrialEvalCallback | None = None) -> list[TrainResult]:
    """Train M same-shaped trials as one stacked model; one TrainResult per config, in order.

    ``on_eval(i, step, metrics)`` watches trial i's evaluations; True stops that trial ("pruned").
    """
    start = time.perf_counter()
    return run(Stacked(cfgs), start, on_eval)
