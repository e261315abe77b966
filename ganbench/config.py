"""TrialConfig: everything one trial needs, typed and validated; its hash is the trial's identity."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from ganbench.options import fold as fold_options
from ganbench.options import options_for
from ganbench.options import validate as validate_options
from ganbench.registry import DATASETS, LOSSES, METRICS, MODELS, VARIANTS
from ganbench.roles import keys_where, role, roles_of
from ganbench.values import INT_MAX, MODEL_CONFIG, SEED_LIMIT, Float, Int, Seed, brief, same_value  # noqa: F401

class Target(BaseModel):
    """A quality threshold: `steps_to_threshold` is the first evaluation step reaching it."""

    model_config = MODEL_CONFIG
    metric: str = Field(description="a registered metric with a direction, e.g. modes_covered")
    value: Float = Field(description="the value to reach (at least, or at most, by the metric's direction)")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, name: str) -> str:
        if METRICS.get(name).higher_is_better is None:
            raise ValueError(f"metric {name!r} has no direction, so it has no threshold to reach")
        return name


class TrialConfig(BaseModel):
    """One trial: a grid cell (model x loss x k x dataset x other params) and a seed."""

    model_config = MODEL_CONFIG

    # the grid cell
    model: str = Field(description="registered model (bench.py list models)", json_schema_extra=role("component"))
    loss: str = Field(description="registered loss (bench.py list losses)", json_schema_extra=role("loss"))
    dataset: str = Field(description="registered dataset (bench.py list datasets)", json_schema_extra=role("component"))
    d_steps_per_g_step: Int = Field(1, ge=1, description="k of Algorithm 1: D steps before each G step",
                                    json_schema_extra=role("loop"))
    g_steps_per_d_step: Int = Field(1, ge=1, description="G steps after each D step ('G trains too much')",
                                    json_schema_extra=role("loop"))
    seed: Seed = Field(0, description="seeds torch's generators for weights, z and data",
                       json_schema_extra=role("seed"))
    # budget
    steps: Int = Field(1000, ge=1, description="Algorithm 1 iterations (k D-steps + m G-steps each)",
                       json_schema_extra=role("budget"))
    eval_every: Int = Field(250, ge=1, description="iterations between evaluations (and at the last step)",
                            json_schema_extra=role("budget"))
    # optimisation
    batch_size: Int = Field(64, ge=1, description="minibatch size m of Algorithm 1, for real and for z",
                            json_schema_extra=role("shape"))
    z_dim: Int = Field(2, ge=1, description="dimension of the generator's Gaussian noise z",
                       json_schema_extra=role("shape"))
    optimizer: Literal["adam", "sgd"] = Field("adam", description="adam (default) or sgd (Dirac-GAN studies; with "
                                                  "momentum and lr_decay below: Goodfellow 2014)",
                                                  json_schema_extra=role("shape"))
    lr_g: Float = Field(1e-4, gt=0, description="generator learning rate", json_schema_extra=role("hyperparameter"))
    lr_d: Float = Field(1e-4, gt=0, description="discriminator learning rate (TTUR: may differ from lr_g)",
                        json_schema_extra=role("hyperparameter"))
    betas: tuple[Float, Float] = Field((0.5, 0.999), description="Adam betas for G and D",
                                       json_schema_extra=role("hyperparameter"))
    betas_d: Optional[tuple[Float, Float]] = Field(None, description="Adam betas for D only, when they differ",
                                                   json_schema_extra=role("hyperparameter"))
    # architecture
    hidden: Int = Field(128, ge=1, description="hidden width of the MLP layers", json_schema_extra=role("architecture"))
    depth: Int = Field(2, ge=1, le=100, description="hidden layers in G and in D (cyclegan: residual blocks)",
                       json_schema_extra=role("architecture"))
    d_maxout: Int = Field(0, ge=0, le=100, description="maxout pieces in D (>= 2 turns maxout on; Goodfellow 2014 used 5)",
                          json_schema_extra=role("architecture"))
    d_dropout: Float = Field(0.0, ge=0, lt=1, description="dropout rate before each hidden D layer (on D's input "
                             "too unless d_dropout_input is set; not before D's output layer: d_dropout_output)",
                             json_schema_extra=role("architecture"))
    d_dropout_input: Optional[Float] = Field(None, ge=0, lt=1, description="mlp: dropout rate on D's input (before "
                                             "its first layer); unset: d_dropout. Goodfellow 2014: 0.2 (keep 0.8)",
                                             json_schema_extra=role("architecture"))
    d_dropout_output: Float = Field(0.0, ge=0, lt=1, description="mlp: dropout rate before D's output layer (0: "
                                    "none). Goodfellow 2014: 0.5, as pylearn2 drops every layer's input",
                                    json_schema_extra=role("architecture"))
    d_norm: Optional[Literal["none", "batch", "layer", "instance", "spectral"]] = Field(
        None, description="normalisation in D; unset: the architecture's own (dcgan/cgan batch, resnet spectral, "
        "cyclegan instance), and layer norm for wgan-gp (Gulrajani et al. 2017: no batch norm in the critic)"
    , json_schema_extra=role("model_option"))
    conditional: bool = Field(False, description="resnet: class-conditional (conditional BN in G, projection D)",
                              json_schema_extra=role("model_option"))
    d_projection: bool = Field(False, description="cgan: projection discriminator instead of label channels",
                               json_schema_extra=role("model_option"))
    cycle_weight: Float = Field(10.0, ge=0, description="cyclegan: lambda of the cycle-consistency L1 loss",
                                json_schema_extra=role("cycle_option"))
    identity_weight: Float = Field(0.0, ge=0, description="cyclegan: weight of the identity L1 loss (0: off)",
                                   json_schema_extra=role("cycle_option"))
    # loss parameters and regularizers
    r1: Float = Field(0.0, ge=0, description="weight gamma of the R1 penalty on real data (Mescheder 2018)",
                      json_schema_extra=role("method"))
    r2: Float = Field(0.0, ge=0, description="weight gamma of the R2 penalty on generated data",
                      json_schema_extra=role("method"))
    gp_weight: Float = Field(10.0, ge=0, description="lambda of WGAN-GP's gradient penalty",
                             json_schema_extra=role("hyperparameter"))
    clip: Float = Field(0.01, gt=0, description="WGAN weight clipping bound c",
                        json_schema_extra=role("hyperparameter"))
    # evaluation
    eval_samples: Int = Field(2500, ge=1, description="generated samples per evaluation (2,500 in VEEGAN/PacGAN)",
                              json_schema_extra=role("method"))
    mode_min_count: Int = Field(1, ge=1, description="high-quality samples a mode needs to count as covered",
                                json_schema_extra=role("hyperparameter"))
    target: Optional[Target] = Field(None, description="threshold for steps_to_threshold",
                                     json_schema_extra=role("target"))
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when the trial was given a GPU",
                                                   json_schema_extra=role("placement"))
    # speed (issue 7): TF32, cuDNN autotuning and channels_last are on by default on a GPU
    amp: Literal["none", "bf16"] = Field("none", description="bf16 autocast for forward passes (no loss scaling needed)",
                                         json_schema_extra=role("speed"))
    compile: bool = Field(False, description="torch.compile G and D (not with wgan-gp/r1/r2/consensus: no "
                          "double backward)", json_schema_extra=role("speed"))
    # variants of Algorithm 1 (issue 14); each default is today's plain GAN
    variant: Optional[str] = Field(None, description="a registered preset (bench.py list variants) that sets the "
                                   "parameters below; an explicit parameter that disagrees with it is an error",
                                   json_schema_extra=role("method"))
    pac: Int = Field(1, ge=1, le=16, description="PacGAN packing m: D judges m samples concatenated (Lin et al. 2018)",
                     json_schema_extra=role("shape"))
    unroll_steps: Int = Field(0, ge=0, le=100, description="Unrolled GAN: G's loss through n differentiable SGD "
                              "updates of a copy of D (Metz et al. 2017); 0: off", json_schema_extra=role("method"))
    instance_noise: Float = Field(0.0, ge=0, description="std of Gaussian noise added to every D input, real and fake "
                                  "(Sonderby et al. 2017); 0: off", json_schema_extra=role("shape"))
    instance_noise_decay_steps: Int = Field(0, ge=0, description="iterations over which instance_noise decays "
                                            "linearly to 0 (0: constant)", json_schema_extra=role("shape"))
    consensus: Float = Field(0.0, ge=0, description="consensus optimization gamma: gamma/2 ||v||^2 of both players' "
                             "gradients, taken where each update is, added to both losses (Mescheder et al. 2017), "
                             "with simultaneous or alternating updates; 0: off", json_schema_extra=role("method"))
    updates: Literal["alternating", "simultaneous"] = Field(
        "alternating", description="alternating: Algorithm 1's k D then m G updates; simultaneous: both gradients "
        "at the current point, then both applied (k = m = 1)", json_schema_extra=role("shape"))
    alternating_order: Literal["d_first", "g_first"] = Field(
        "d_first", description="alternating updates: d_first is Algorithm 1's (k D then m G updates); g_first "
        "takes the m G updates first, then the k D updates (Mescheder et al.'s Dirac-GAN notebook, trajectory_altgd); "
        "simultaneous updates have no order and ignore it", json_schema_extra=role("shape"))
    g_ema: Float = Field(0.0, ge=0, lt=1, description="beta of an exponential moving average of G's weights, "
                         "evaluated instead of G (e.g. 0.999); 0: off", json_schema_extra=role("method"))
    g_hidden: Optional[Int] = Field(None, ge=1, description="mlp: G's width (unset: hidden)",
                                    json_schema_extra=role("architecture"))
    g_depth: Optional[Int] = Field(None, ge=1, le=100, description="mlp: G's hidden layers (unset: depth)",
                                   json_schema_extra=role("architecture"))
    d_hidden: Optional[Int] = Field(None, ge=1, description="mlp: D's width (unset: hidden)",
                                    json_schema_extra=role("architecture"))
    d_depth: Optional[Int] = Field(None, ge=1, le=100, description="mlp: D's hidden layers (unset: depth)",
                                   json_schema_extra=role("architecture"))
    g_norm: Optional[Literal["none", "batch"]] = Field(None, description="mlp: normalisation in G's hidden layers "
                                                      "(PacGAN: batch, without bias)",
                                                      json_schema_extra=role("architecture"))
    init: Literal["default", "normal_0.02", "uniform"] = Field(
        "default", description="weight init: torch's default, N(0, 0.02) weights and zero biases (DCGAN, PacGAN), "
        "or uniform: U[-g_init_range, g_init_range] in G, d_init_range in D, zero biases (pylearn2's irange)",
        json_schema_extra=role("hyperparameter"))
    z_dist: Literal["normal", "uniform", "uniform_sqrt3"] = Field(
        "normal", description="z ~ N(0, I), U[-1, 1] (DCGAN, VEEGAN), or U[-sqrt 3, sqrt 3] (unit variance: the "
        "'uniform' noise of goodfeli/adversarial, Generator.get_noise)", json_schema_extra=role("method"))
    g_init_range: Optional[Float] = Field(None, gt=0, description="init: uniform: G's weights ~ U[-a, a], biases 0 "
                                          "(pylearn2's irange; Goodfellow 2014 MNIST: 0.05)",
                                          json_schema_extra=role("hyperparameter"))
    d_init_range: Optional[Float] = Field(None, gt=0, description="init: uniform: D's weights ~ U[-a, a], biases 0 "
                                          "(pylearn2's irange; Goodfellow 2014 MNIST: 0.005)",
                                          json_schema_extra=role("hyperparameter"))
    # SGD schedules (optimizer: sgd), in iterations of Algorithm 1 (t = iterations done before this one)
    momentum: Float = Field(0.0, ge=0, lt=1, description="SGD momentum (heavy ball, pylearn2's Momentum rule: "
                            "v <- mu v - lr g, p <- p + v); with momentum_final, its value at iteration 0",
                            json_schema_extra=role("shape"))
    momentum_final: Optional[Float] = Field(None, ge=0, lt=1, description="momentum reached after "
                                            "momentum_saturate_steps (pylearn2 MomentumAdjustor's final_momentum); "
                                            "unset: momentum stays constant", json_schema_extra=role("shape"))
    momentum_saturate_steps: Int = Field(0, ge=0, description="iterations over which momentum goes linearly to "
                                         "momentum_final: mu_t = mu0 + (mu1 - mu0) min(1, floor(t / e) e / S), "
                                         "e = momentum_every, S this", json_schema_extra=role("loop"))
    momentum_every: Int = Field(1, ge=1, description="iterations between momentum changes (MomentumAdjustor moves "
                                "it once per epoch: epoch images / batch_size)", json_schema_extra=role("loop"))
    lr_decay: Float = Field(1.0, ge=1, description="SGD exponential decay: lr_t = max(lr / lr_decay^t, lr_min) for "
                            "both players, t iterations done (pylearn2 ExponentialDecay's decay_factor); 1: none",
                            json_schema_extra=role("loop"))
    lr_min: Float = Field(0.0, ge=0, description="floor of each player's learning rate under lr_decay "
                          "(ExponentialDecay's min_lr)", json_schema_extra=role("loop"))
    # protocol options (PacGAN's toy code, fjxmlzn/PacGAN); each default is the harness's behaviour before them
    train_set_size: Optional[Int] = Field(
        None, ge=1, description="a fixed training set of N points drawn once per trial (seeded by the trial) from "
        "the dataset, every real sample (every packing slot) drawn from it uniformly with replacement (PacGAN: "
        "100,000); unset: fresh draws from the dataset at every step", json_schema_extra=role("method"))
    g_per_pac_slot: bool = Field(
        False, description="with pac > 1, G's batch norm normalises each packing slot's batch_size samples by "
        "their own statistics, as running G once per slot does (PacGAN's code), and updates its running "
        "statistics once per step with the slots' mean; false: statistics over all batch_size * pac samples",
        json_schema_extra=role("loop"))
    g_norm_momentum: Optional[Float] = Field(
        None, gt=0, le=1, description="momentum of G's batch-norm running statistics, torch's convention "
        "(running = (1 - m) running + m batch; a TF/Blocks decay d is m = 1 - d; PacGAN: 0.05); unset: torch's 0.1",
        json_schema_extra=role("loop"))
    g_norm_eps: Optional[Float] = Field(None, gt=0, description="epsilon of G's batch norm (Blocks, PacGAN: 1e-4); "
                                        "unset: torch's 1e-5", json_schema_extra=role("loop"))
    g_norm_gamma_init: Literal["by_init", "ones"] = Field(
        "by_init", description="initial scale (gamma) of G's batch norm: by_init = what `init` gives (torch's ones; "
        "N(1, 0.02) with init normal_0.02, as DCGAN); ones = 1, shift 0 whatever `init` (Blocks' default, PacGAN)",
        json_schema_extra=role("hyperparameter"))
    # a plugin component's own options (ganbench.options): {component: {option: value}}, only those given
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="a plugin model's, loss's or dataset's own options by its name, e.g. "
        "{my_loss: {margin: 0.5}} (a suite may also write my_loss.margin)", json_schema_extra=role("plugin_options"))

    @field_validator("model")
    @classmethod
    def _known_model(cls, name: str) -> str:
        MODELS.check(name)  # the name, not its module: validating a suite imports no torch
        return name

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, name: str) -> str:
        LOSSES.check(name)
        return name

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        DATASETS.check(name)
        return name

    @field_validator("variant")
    @classmethod
    def _known_variant(cls, name: str | None) -> str | None:
        if name is not None:
            VARIANTS.get(name)
        return name

    @model_validator(mode="before")
    @classmethod
    def _fold_options(cls, data: Any) -> Any:
        """``my_loss.margin: 0.5`` (or ``my_loss: {margin: 0.5}``) is an option of the trial's component my_loss."""
        return fold_options(data)

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict, info: ValidationInfo) -> dict:
        return validate_options(options, info.data) if options else options

    @model_validator(mode="before")
    @classmethod
    def _fill_variant(cls, data: Any) -> Any:
        """A preset's parameters fill the keys not given (a tied group follows the one of its keys given)."""
        if not isinstance(data, dict) or not isinstance(data.get("variant"), str) or data["variant"] not in VARIANTS:
            return data  # not a preset (an unknown name is _known_variant's to report)
        return {**VARIANTS.get(data["variant"]).fill(data), **data}

    @model_validator(mode="after")
    def _agrees_with_variant(self):
        """Every parameter of the trial's preset holds (tied keys: one value, whichever it is)."""
        if self.variant is None:
            return self
        preset = VARIANTS.get(self.variant)
        for key, value in preset.parameters.items():
            group = preset.tied_group(key)
            if group:
                values = {k: getattr(self, k) for k in group}
                if len(set(values.values())) > 1:
                    shown = " and ".join(f"{k} = {brief(v)}" for k, v in values.items())
                    raise ValueError(f"{shown} differ, but variant {self.variant!r} ties {', '.join(group)} "
                                     f"(one value: set one of them and the others follow)")
            elif not same_value(getattr(self, key), value):
                raise ValueError(f"{key} = {brief(getattr(self, key))} disagrees with variant {self.variant!r} "
                                 f"({key}: {brief(value)})")
        return self

    @field_validator("betas", "betas_d")
    @classmethod
    def _betas_in_range(cls, betas):
        if betas is not None and not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam betas must lie in [0, 1), got {list(betas)}")
        return betas

    @model_validator(mode="after")
    def _variant_needs(self):
        if self.consensus and self.unroll_steps:
            raise ValueError("consensus: consensus optimization takes G's own loss, not one through an unrolled D; "
                             "set unroll_steps: 0")
        if self.updates == "simultaneous" and self.unroll_steps:
            raise ValueError("unroll_steps: simultaneous updates take both gradients at one point, with no look-ahead "
                             "D; set updates: alternating for an unrolled GAN")
        if self.updates == "simultaneous" and (self.d_steps_per_g_step, self.g_steps_per_d_step) != (1, 1):
            raise ValueError("updates: simultaneous makes one joint step per iteration; set d_steps_per_g_step "
                             "and g_steps_per_d_step to 1")
        return self

    @model_validator(mode="after")
    def _schedules_and_init_complete(self):
        sgd_only = [k for k in ("momentum", "momentum_final", "lr_decay", "lr_min")
                    if getattr(self, k) != type(self).model_fields[k].default]
        if sgd_only and self.optimizer != "sgd":
            raise ValueError(f"{', '.join(sgd_only)}: SGD's momentum and learning-rate schedule take optimizer: sgd")
        if self.momentum_final is None and (self.momentum_saturate_steps or self.momentum_every != 1):
            raise ValueError("momentum_saturate_steps/momentum_every schedule momentum towards momentum_final; "
                             "set momentum_final")
        if self.momentum_final is not None and not self.momentum_saturate_steps:
            raise ValueError("momentum_final: give momentum_saturate_steps >= 1 (the iterations it takes to reach it)")
        if self.lr_min > min(self.lr_g, self.lr_d):
            raise ValueError(f"lr_min = {self.lr_min:g} lies above a learning rate ({self.lr_g:g}, {self.lr_d:g}): "
                             "it is a floor the decay stops at")
        ranges = (self.g_init_range, self.d_init_range)
        if (self.init == "uniform") != all(r is not None for r in ranges) or \
                (self.init != "uniform" and any(r is not None for r in ranges)):
            raise ValueError("init: uniform takes both g_init_range and d_init_range (and they take init: uniform)")
        return self

    @model_validator(mode="after")
    def _compile_without_double_backward(self):
        twice = gradient_penalties(self) + (["consensus"] if self.consensus else []) if self.compile else []
        if twice:
            raise ValueError(f"compile: torch.compile cannot differentiate a gradient penalty twice "
                             f"({', '.join(twice)}); set compile: false for these trials")
        return self

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass (a test's, a plugin's) declares a role for each field it adds, as TrialConfig does."""
        super().__pydantic_init_subclass__(**kwargs)
        roles_of(cls)

    def value(self, key: str) -> Any:
        """The trial's value of ``key``: a field, or a component's option by its dotted name (its default when
        not set), as grid axes and search spaces name them (``smooth_ns.real_target``)."""
        if key in type(self).model_fields or "." not in key:
            return getattr(self, key)
        component, _, option = key.partition(".")
        return options_for(self, component)[option]

    def config_hash(self) -> str:
        """Stable identity of the trial: the same config always gets the same id.

        The keys of ganbench 0.1 are always hashed; any key added since is hashed only when it
        differs from its default. So a new field never re-ids earlier trials (nor breaks their
        resume), without anyone having to remember to list it. A trial whose model, loss, dataset or variant
        comes from a plugin also hashes that plugin's module and version (``plugins.used_by``): a changed
        plugin never resumes into the old one's rows, and a built-in trial's id is unchanged.
        """
        from ganbench.plugins import used_by

        fields: dict[str, Any] = self.model_dump(mode="json")
        for key in set(fields) - FIRST_RELEASE_KEYS:
            if fields[key] == type(self).model_fields[key].get_default(call_default_factory=True):
                del fields[key]
        plugins = used_by(self)
        if plugins:
            fields["plugins"] = plugins
        blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: the keys of ganbench 0.1, hashed whatever their value (frozen: never add to it)
FIRST_RELEASE_KEYS = frozenset({
    "model", "loss", "dataset", "d_steps_per_g_step", "g_steps_per_d_step", "seed", "steps", "eval_every",
    "batch_size", "z_dim", "optimizer", "lr_g", "lr_d", "betas", "betas_d", "hidden", "depth", "d_maxout",
    "d_dropout", "r1", "r2", "gp_weight", "clip", "eval_samples", "mode_min_count", "target", "device",
})

def gradient_penalties(cfg: TrialConfig) -> list[str]:
    """The penalties on D's gradient that ``cfg`` trains with (a double backward each): its loss's own
    (it declares ``double_backward``, as WGAN-GP does) and R1/R2."""
    own = [cfg.loss] if LOSSES.get(cfg.loss).double_backward else []
    return own + [name for name in ("r1", "r2") if getattr(cfg, name)]


roles_of(TrialConfig)  # every field has a role (a new one without fails here, at import, and in tests)

#: keys a suite may set per trial (in `params` or `grid`); `steps`/`eval_every` come from
#: `budget`, `seed` from `seeds`, `target` from the suite's top level (their roles say so).
TUNABLE_KEYS = sorted(keys_where(TrialConfig, tunable=True))
