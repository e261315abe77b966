"""Named presets of trial parameters: one GAN variant each, with the paper it comes from.

A suite names one with the ``variant`` key (in ``grid``, ``params`` or a search space) and
``bench.py list variants`` lists them. A preset is plain data (which ``TrialConfig`` keys it sets,
to which values); the training side implements what the keys do. How a preset combines with a
suite's own values (``suite.Suite.config``) and with a config built directly
(``config.TrialConfig``):

- a suite's ``params`` are suite-wide defaults, and a cell's preset overrides them;
- a value given for that cell in ``grid``, or sampled by its search, that disagrees with the
  preset is an error naming both (so is one in ``params`` when ``variant`` itself is set in
  ``params``);
- ``tied`` keys are the exception: the preset's value is only a default, and a value given for any
  key of the group sets all of them (r3gan's gamma: set ``r1`` and ``r2`` follows).

This module imports nothing of ganbench: ``registry.load_all`` registers ``PRESETS``; a plugin registers its own
preset with ``registry.register_variant``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Variant:
    """A preset: the TrialConfig ``parameters`` one variant of Algorithm 1 sets, and its paper."""

    name: str
    parameters: Mapping[str, Any]
    reference: str
    description: str
    #: groups of keys that take one value (their value in ``parameters`` is the default)
    tied: tuple[tuple[str, ...], ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        for group in self.tied:
            values = {repr(self.parameters[key]) for key in group}
            if len(values) != 1:
                raise ValueError(f"variant {self.name!r}: tied keys {', '.join(group)} need one default value")

    def tied_group(self, key: str) -> tuple[str, ...]:
        """The keys tied to ``key`` (itself included), or () when it is not tied."""
        return next((group for group in self.tied if key in group), ())

    def fill(self, explicit: Mapping[str, Any]) -> dict[str, Any]:
        """What the preset sets under ``explicit`` values: each of its parameters not given, a tied group following
        the last of its keys given (``r1: 5`` gives r3gan's ``r2: 5``). The one preset merge: TrialConfig fills a
        trial's keys with it, and a suite's cells (``suite.merge``) over their layers."""
        filled = {}
        for key, value in self.parameters.items():
            if key in explicit:
                continue
            given = [k for k in self.tied_group(key) if k in explicit]
            filled[key] = explicit[given[-1]] if given else value
        return filled

    def settings(self) -> str:
        """The parameters as one line, e.g. ``pac: 2`` (``-`` for none)."""
        parts = []
        for key, value in self.parameters.items():
            shown = f"({', '.join(map(str, value))})" if isinstance(value, tuple) else str(value)
            parts.append(f"{key}: {shown}")
        for group in self.tied:
            parts.append(f"{' = '.join(group)} tied")
        return ", ".join(parts) or "-"

    def summary(self) -> str:
        """What ``bench.py list variants`` prints: the description, the settings and the reference."""
        return f"{self.description}; {self.settings()} ({self.reference})"


PRESETS: tuple[Variant, ...] = (
    Variant("gan", {}, "Goodfellow et al. 2014, Generative Adversarial Nets",
            "Algorithm 1 as it is (the baseline every preset changes one thing of)"),
    Variant("pacgan2", {"pac": 2}, "Lin et al. 2018, PacGAN: The power of two samples in GANs",
            "PacGAN: D judges 2 samples packed together"),
    Variant("pacgan3", {"pac": 3}, "Lin et al. 2018, PacGAN: The power of two samples in GANs",
            "PacGAN: D judges 3 samples packed together"),
    Variant("pacgan4", {"pac": 4}, "Lin et al. 2018, PacGAN: The power of two samples in GANs",
            "PacGAN: D judges 4 samples packed together"),
    Variant("unrolled5", {"unroll_steps": 5}, "Metz et al. 2017, Unrolled Generative Adversarial Networks",
            "Unrolled GAN: G's loss through 5 unrolled D updates"),
    Variant("unrolled10", {"unroll_steps": 10}, "Metz et al. 2017, Unrolled Generative Adversarial Networks",
            "Unrolled GAN: G's loss through 10 unrolled D updates"),
    # Sonderby et al. anneal the noise over their run, but a preset cannot know a suite's budget.steps, so the
    # noise is constant (the setting Mescheder et al. 2018 analyse); instance_noise_decay_steps stays free
    Variant("instance_noise", {"instance_noise": 0.1},
            "Sonderby et al. 2017, Amortised MAP Inference for Image Super-resolution",
            "instance noise: Gaussian noise of std 0.1 on every D input (constant; set instance_noise_decay_steps "
            "to anneal it)"),
    Variant("consensus", {"consensus": 10.0, "updates": "simultaneous"},
            "Mescheder et al. 2017, The Numerics of GANs",
            "consensus optimization: gamma/2 of both players' squared gradient norm, simultaneous updates"),
    Variant("r1", {"r1": 10.0}, "Mescheder et al. 2018, Which Training Methods for GANs do actually Converge?",
            "R1: gradient penalty on real data, gamma 10"),
    Variant("r2", {"r2": 10.0}, "Mescheder et al. 2018, Which Training Methods for GANs do actually Converge?",
            "R2: gradient penalty on generated data, gamma 10"),
    # R3GAN tunes gamma per data set (0.05 to 2 on images, decayed tenfold over training); with no schedule
    # here, the default is the r1/r2 presets' gamma, and a suite sets it through r1 (or r2)
    Variant("r3gan", {"loss": "rpgan", "r1": 10.0, "r2": 10.0, "betas": (0.0, 0.99)},
            "Huang et al. 2024, The GAN is dead; long live the GAN! A Modern GAN Baseline",
            "R3GAN: relativistic pairing loss with R1 and R2 of one gamma (r1 sets it), Adam betas (0, 0.99)",
            tied=(("r1", "r2"),)),
    Variant("ema", {"g_ema": 0.999}, "Yazici et al. 2019, The Unusual Effectiveness of Averaging in GAN Training",
            "EMA: an exponential moving average of G's weights (beta 0.999) is evaluated"),
)
