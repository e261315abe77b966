"""Unpaired two-domain image sets for CycleGAN-style translation, with a known true mapping.

Domain B is a fixed, exactly invertible transform of domain A, so a learned translator
can be scored against ground truth: ``translation_error`` compares G(test_a) with
``translate(test_a)``. To keep the domains truly unpaired, the digits train split is cut
into two disjoint halves by one fixed permutation: domain A images come from one half,
domain B images are the mapping applied to the *other* half, so no B image is the
translation of any training A image.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ganbench.datasets.base import Dataset, on_device
from ganbench.datasets.images import SPLIT_SEED, digits
from ganbench.registry import DATASETS


def _negative(x: Tensor) -> Tensor:
    return -x  # the photographic negative of pixels in [-1, 1]; its own inverse


def _rotate_ccw(x: Tensor) -> Tensor:
    return torch.rot90(x, 1, dims=(-2, -1))


def _rotate_cw(x: Tensor) -> Tensor:
    return torch.rot90(x, -1, dims=(-2, -1))


#: mapping name -> (A -> B, B -> A); module-level functions, so a dataset pickles by name
MAPPINGS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "invert": (_negative, _negative),
    "rotate90": (_rotate_ccw, _rotate_cw),
}


@dataclass(frozen=True, eq=False)
class CycleDataset(Dataset):
    """Two unpaired image domains and the true mapping between them (``mapping`` names it in MAPPINGS)."""

    name: str
    domain_a_train: Tensor  # (N_a, C, H, W) float32 in [-1, 1]
    domain_b_train: Tensor  # (N_b, C, H, W): the mapping applied to images disjoint from domain A's
    test_a: Tensor  # held-out domain-A images, for translation error against translate(test_a)
    mapping: str
    n_classes: int = 0
    primary_metric: str = "translation_error"

    @property
    def protocol(self) -> str:
        return (f"{self.name}: unpaired 16x16 digits, domain A {len(self.domain_a_train)} images, domain B the "
                f"{self.mapping} map of {len(self.domain_b_train)} other digits; errors are mean |pixel| "
                f"differences in [-1, 1] on {len(self.test_a)} held-out digits")

    @property
    def origin(self) -> str:  # type: ignore[override]
        return (f"generated from {digits().origin}: domain B = the {self.mapping} map of the train split's other "
                f"half (split seed {SPLIT_SEED})")

    def content(self) -> tuple[Tensor | str, ...]:
        return self.domain_a_train, self.domain_b_train, self.test_a, self.mapping

    def __post_init__(self) -> None:
        if self.mapping not in MAPPINGS:
            raise ValueError(f"unknown mapping {self.mapping!r}; valid: {', '.join(MAPPINGS)}")

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self.domain_a_train.shape[1:])

    def translate(self, a: Tensor) -> Tensor:
        """The true A -> B mapping (on a batch (n, C, H, W))."""
        return MAPPINGS[self.mapping][0](a)

    def translate_back(self, b: Tensor) -> Tensor:
        """The true B -> A mapping, the exact inverse of ``translate``."""
        return MAPPINGS[self.mapping][1](b)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """A batch of training images from domain A."""
        return _draw(self.domain_a_train, n, generator)

    def sample_pair(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(a, b): n domain-A and n domain-B training images, drawn independently (unpaired)."""
        a = self.sample(n, generator)
        return a, _draw(self.domain_b_train, n, generator)


def _draw(images: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """n images drawn with replacement, on the generator's device."""
    idx = torch.randint(len(images), (n,), generator=generator, device=generator.device)
    return on_device(images, generator.device)[idx]


def unpaired_halves(n: int) -> tuple[Tensor, Tensor]:
    """Indices (half_a, half_b): a fixed permutation of range(n) cut in two disjoint halves."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[: n // 2], order[n // 2:]


@functools.lru_cache(maxsize=None)  # one object per process, shared by trials, checks and reports
def digits_cycle(name: str, mapping: str) -> CycleDataset:
    base = digits()
    half_a, half_b = unpaired_halves(len(base.train_images))
    forward = MAPPINGS[mapping][0]
    return CycleDataset(
        name,
        base.train_images[half_a],
        forward(base.train_images[half_b]).contiguous(),
        base.test_images,
        mapping,
    )


@DATASETS.register("digits_invert")
def digits_invert() -> CycleDataset:
    """Unpaired 16x16 digits <-> their negatives (-x); the true mapping is its own inverse."""
    return digits_cycle("digits_invert", "invert")


@DATASETS.register("digits_rotate")
def digits_rotate() -> CycleDataset:
    """Unpaired 16x16 digits <-> the same digits rotated 90 degrees counter-clockwise."""
    return digits_cycle("digits_rotate", "rotate90")
