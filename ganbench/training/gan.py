"""What one trial trains (``GAN``), what it returns (``TrainResult``), and how both are built from a config."""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ganbench.config import TrialConfig
from ganbench.datasets import Dataset
from ganbench.losses import GANLoss
from ganbench.metrics.notes import MetricNotes
from ganbench.models.layers import dcgan_init
from ganbench.registry import DATASETS, LOSSES, MODELS
from ganbench.options import options_for
from ganbench.roles import keys_where
from ganbench.status import Status
from ganbench.training.accel import configure_backends, prepare_modules, retain_freed_memory
from ganbench.training.optim import make_optimizers

#: TrialConfig keys a model factory may take as keyword arguments (its signature says which it uses): the
#: fields whose role is a model option (``ganbench.roles``)
MODEL_OPTIONS = keys_where(TrialConfig, model_option=True)
#: options of CycleGAN's G step, meaningless for any other model
CYCLE_OPTIONS = keys_where(TrialConfig, cycle_option=True)


@dataclass
class TrainResult:
    status: Status
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
    """Everything the updates of Algorithm 1 act on: one trial's, or M stacked trials' (``training.stacked``)."""

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
    #: the current iteration of Algorithm 1 (set by the loop; instance noise decays with it)
    step: int = 0
    #: dims in front of one sample in D's inputs: the batch (1), and the trial dim of stacked trials (2)
    lead_dims: int = 1
    #: R1/R2 weights when stacked trials each have their own ([M] tensors); None: the config's
    penalty_weights: dict[str, Any] | None = None
    #: why a metric was NaN at an evaluation (``metrics.notes``): each evaluation adds to it, the row keeps it
    metric_notes: MetricNotes = field(default_factory=MetricNotes, init=False)

    @property
    def n_classes(self) -> int:
        """Classes G and D are conditioned on (0: unconditional)."""
        return getattr(self.G, "n_classes", 0)

    @property
    def is_cycle(self) -> bool:
        return getattr(self.G, "is_cycle", False)


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when this process has a GPU, else the CPU; ``cuda`` without one is an error saying so."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    elif name == "cuda" and not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise RuntimeError(f"device: cuda, but this worker has no usable CUDA GPU (torch {torch.__version__}, "
                           f"CUDA build: {torch.version.cuda or 'none'}, CUDA_VISIBLE_DEVICES={visible!r}); "
                           "use device: auto to fall back to the CPU")
    return torch.device(name)


def model_options(model: str) -> tuple[str, ...]:
    """The options of MODEL_OPTIONS that the registered model's factory takes."""
    accepted = inspect.signature(MODELS.get(model)).parameters
    return tuple(name for name in MODEL_OPTIONS if name in accepted)


def unused_options(cfg: TrialConfig, is_cycle: bool) -> list[str]:
    """Options set away from their default that this model would not honour (never dropped silently)."""
    used = set(model_options(cfg.model)) | (set(CYCLE_OPTIONS) if is_cycle else set())
    fields = TrialConfig.model_fields
    return [name for name in MODEL_OPTIONS + CYCLE_OPTIONS
            if name not in used and getattr(cfg, name) != fields[name].default]


def variant_problems(cfg: TrialConfig, is_cycle: bool, conditional: bool) -> list[str]:
    """Variants of Algorithm 1 a model family cannot take (named, never dropped)."""
    checks = [
        (cfg.pac > 1 and (is_cycle or conditional), f"pac={cfg.pac} (packing takes unconditional one-domain models)"),
        (cfg.unroll_steps > 0 and (is_cycle or conditional),
         f"unroll_steps={cfg.unroll_steps} (the look-ahead D takes unconditional one-domain models)"),
        (cfg.instance_noise > 0 and is_cycle, f"instance_noise={cfg.instance_noise} (not for CycleGAN)"),
        (cfg.updates != "alternating" and is_cycle, f"updates={cfg.updates!r} (CycleGAN alternates)"),
        (cfg.consensus > 0 and is_cycle, f"consensus={cfg.consensus} (not for CycleGAN)"),
        (cfg.train_set_size is not None and (is_cycle or conditional),
         f"train_set_size={cfg.train_set_size} (a fixed training set takes unconditional one-domain data)"),
    ]
    return [what for flag, what in checks if flag]


def make_models(cfg: TrialConfig, data: Dataset) -> tuple[nn.Module, nn.Module]:
    """G and D of the trial's model for its data (also used to check a suite before it runs).

    Raises ValueError for a model/data mismatch or an option the model does not use.
    """
    factory = MODELS.get(cfg.model)
    accepted = inspect.signature(factory).parameters
    # a loss whose own penalty differentiates D's per-example gradients (WGAN-GP) wants no batch norm in D
    derived = {"n_classes": getattr(data, "n_classes", 0), "gradient_penalty": LOSSES.get(cfg.loss).double_backward}
    if cfg.g_per_pac_slot and cfg.pac > 1:  # G's batch norm per packing slot (PacGAN's G once per slot)
        if "g_norm_slots" not in accepted:
            raise ValueError(f"model {cfg.model!r} cannot run G per packing slot (g_per_pac_slot: only mlp)")
        derived["g_norm_slots"] = cfg.pac
    kwargs = {name: getattr(cfg, name) for name in model_options(cfg.model)}
    kwargs.update({name: value for name, value in derived.items() if name in accepted})
    kwargs.update(options_for(cfg, cfg.model))  # a plugin model's own options
    models = factory(data.shape, cfg.z_dim, **kwargs)
    if cfg.pac > 1:  # PacGAN: D reads m samples concatenated on the first feature axis; its width is not rescaled
        packed = (cfg.pac * data.shape[0], *data.shape[1:])
        models = (models[0], factory(packed, cfg.z_dim, **kwargs)[1])
    if cfg.init == "normal_0.02":
        for net in models:
            dcgan_init(net)
    elif cfg.init == "uniform":
        for net, bound in zip(models, (cfg.g_init_range, cfg.d_init_range)):
            uniform_init(net, bound)
    set_g_norm(models[0], cfg)
    is_cycle = getattr(models[0], "is_cycle", False)
    two_domains = hasattr(data, "sample_pair")
    if is_cycle != two_domains:
        raise ValueError(
            f"dataset {cfg.dataset!r} holds two unpaired domains: use model 'cyclegan'" if two_domains
            else f"model {cfg.model!r} translates between two domains: use a two-domain dataset such as "
            "digits_invert or digits_rotate (bench.py list datasets)"
        )
    refused = variant_problems(cfg, is_cycle, conditional=bool(getattr(models[0], "n_classes", 0)))
    if refused:
        raise ValueError(f"model {cfg.model!r} cannot train with {'; '.join(refused)}")
    unused = unused_options(cfg, is_cycle)
    if unused:
        used = ", ".join(model_options(cfg.model) + (CYCLE_OPTIONS if is_cycle else ())) or "none"
        raise ValueError(f"model {cfg.model!r} does not use {', '.join(f'{n}={getattr(cfg, n)!r}' for n in unused)}; "
                         f"the options it uses: {used}")
    return models


#: TrialConfig keys that set G's batch-norm layers (``set_g_norm``)
G_NORM_OPTIONS = ("g_norm_momentum", "g_norm_eps", "g_norm_gamma_init")


def set_g_norm(G: nn.Module, cfg: TrialConfig) -> None:
    """G's batch norm as the config sets it: momentum and epsilon of every batch-norm layer, and its initial
    scale and shift (``g_norm_gamma_init: ones``, after ``init``). An option set on a G with no batch norm is
    an error (never dropped silently)."""
    set_ = [k for k in G_NORM_OPTIONS if getattr(cfg, k) != TrialConfig.model_fields[k].default]
    if not set_:
        return
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError(f"model {cfg.model!r}'s G has no batch norm for {', '.join(set_)} (mlp: set g_norm: batch)")
    with torch.no_grad():
        for m in norms:
            if cfg.g_norm_momentum is not None:
                m.momentum = cfg.g_norm_momentum
            if cfg.g_norm_eps is not None:
                m.eps = cfg.g_norm_eps
            if cfg.g_norm_gamma_init == "ones" and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def uniform_init(net: nn.Module, bound: float) -> None:
    """pylearn2's ``irange``: every Linear/conv weight ~ U[-bound, bound], every bias 0 (``init_bias`` 0)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.uniform_(-bound, bound)
                if m.bias is not None:
                    m.bias.zero_()


def build(cfg: TrialConfig) -> GAN:
    torch.manual_seed(cfg.seed)  # weight initialisation
    device = resolve_device(cfg.device)
    configure_backends(device)
    retain_freed_memory()
    data = DATASETS.get(cfg.dataset)()
    G, D = prepare_modules(*make_models(cfg, data), cfg, device, image_data=len(data.shape) == 3)
    opt_g, opt_d = make_optimizers(cfg, G, D, device)  # SGD's schedules: training.optim
    loss = LOSSES.get(cfg.loss).from_config(cfg)
    return GAN(G, D, loss, data, opt_g, opt_d, device, amp=cfg.amp == "bf16")
