"""Labelled image sets: the common base, scikit-learn's bundled digits and Stacked digits.

Every image set holds pixels in [-1, 1] as float32 tensors of shape (N, C, H, W), with
int64 labels, split once into train and test by a fixed permutation. Training samples
come from the train split only; metrics compare against the splits (FID against train,
Parzen and memorization against test).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.datasets.base import Dataset, on_device
from ganbench.registry import DATASETS

#: the split is part of the protocol: fixed, independent of every trial seed
SPLIT_SEED = 0
TEST_FRACTION = 0.2


@dataclass(frozen=True, eq=False)
class ImageDataset(Dataset):
    """An image set with labels: an infinite sampler over its train split, plus the test split."""

    name: str
    train_images: Tensor  # (N, C, H, W) float32 in [-1, 1]
    train_labels: Tensor  # (N,) int64
    test_images: Tensor
    test_labels: Tensor
    n_classes: int
    primary_metric: str = "fid"
    #: one line for leaderboard headers: what the data is and how it was split
    protocol: str = ""
    #: where the images come from: a local folder, a package (``Dataset.origin``)
    origin: str = ""
    #: the content hash its loader computed (e.g. from the files' decoded bytes, cached by path, time and size);
    #: empty: ``data_hash`` hashes the arrays themselves
    digest: str = ""

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self.train_images.shape[1:])

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.sample_labeled(n, generator)[0]

    def sample_labeled(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        device = generator.device
        idx = torch.randint(len(self.train_images), (n,), generator=generator, device=device)
        return on_device(self.train_images, device)[idx], on_device(self.train_labels, device)[idx]

    def content(self) -> tuple[Tensor | str, ...]:
        if self.digest:
            return (self.digest,)
        return self.train_images, self.train_labels, self.test_images, self.test_labels


def split(images: Tensor, labels: Tensor, test_fraction: float = TEST_FRACTION) -> tuple[Tensor, ...]:
    """(train_images, train_labels, test_images, test_labels) by one fixed permutation."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = round(len(images) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]


def to_unit_range(pixels: Tensor, max_value: float) -> Tensor:
    """Pixels in [0, max_value] -> float32 in [-1, 1] (the range of a tanh generator)."""
    return pixels.float().div(max_value).mul(2).sub(1)


def _digits(size: int) -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits  # ships with scikit-learn: no download

    bunch = load_digits()
    images = torch.from_numpy(bunch.images).unsqueeze(1)  # (1797, 1, 8, 8), values 0..16
    images = to_unit_range(images, 16.0)
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(-1, 1)
    return images.contiguous(), torch.from_numpy(bunch.target).long()


@functools.lru_cache(maxsize=None)  # one object per process: every trial, check and report shares it
def digits_dataset(size: int) -> ImageDataset:
    images, labels = _digits(size)
    parts = split(images, labels)
    from sklearn import __version__ as sklearn_version

    return ImageDataset(f"digits{size}", *parts, n_classes=10,
                        protocol=f"scikit-learn digits (8x8, 0..16) resized to {size}x{size} in [-1, 1], "
                                 f"{len(parts[0])} train / {len(parts[2])} test (fixed split)",
                        origin=f"package scikit-learn {sklearn_version} (sklearn.datasets.load_digits), "
                               f"resized to {size}x{size}")


@DATASETS.register("digits")
def digits() -> ImageDataset:
    """scikit-learn's bundled 8x8 digits (1,797 real images, 10 classes), resized to 16x16, 80/20 split."""
    return digits_dataset(16)


@DATASETS.register("digits32")
def digits32() -> ImageDataset:
    """scikit-learn's bundled digits resized to 32x32 (the DCGAN / MNIST-32 geometry)."""
    return digits_dataset(32)


@dataclass(frozen=True, eq=False)
class StackedDigits(ImageDataset):
    """Three digits as the R, G, B channels: 10^3 = 1,000 modes (Stacked MNIST, VEEGAN / PacGAN).

    Training draws three independent train digits per example; ``train_images`` and
    ``test_images`` are fixed reference sets of triples for the metrics. The label of a
    triple (a, b, c) is 100 a + 10 b + c. ``base`` is the single-digit set whose
    classifier reads each channel back into a digit.
    """

    base: ImageDataset | None = None
    primary_metric: str = "modes_covered"

    @property
    def n_modes(self) -> int:
        return self.n_classes

    def sample_labeled(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        assert self.base is not None
        return stack_triples(self.base.train_images, self.base.train_labels, n, generator)


def stack_triples(images: Tensor, labels: Tensor, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """n examples of three independently drawn digits stacked as channels, with their triple label."""
    device = generator.device
    idx = torch.randint(len(images), (n, 3), generator=generator, device=device)
    stacked = on_device(images, device)[idx].flatten(1, 2)  # (n, 3, 1, H, W) -> (n, 3, H, W)
    digits = on_device(labels, device)[idx]
    return stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def triple_digits(label: Tensor) -> Tensor:
    """Triple label 100 a + 10 b + c -> (n, 3) digits (a, b, c)."""
    return torch.stack([label // 100, label // 10 % 10, label % 10], dim=1)


#: reference triples kept for the metrics (train) and held out (test)
STACKED_REFERENCE = (10_000, 2_000)


@DATASETS.register("stacked_digits")
@functools.lru_cache(maxsize=None)  # the 12,000 reference triples are drawn once per process
def stacked_digits() -> StackedDigits:
    """Three 16x16 digits as RGB channels: 1,000 modes (Stacked MNIST protocol on the bundled digits)."""
    base = digits()
    rng = torch.Generator().manual_seed(SPLIT_SEED)
    train = stack_triples(base.train_images, base.train_labels, STACKED_REFERENCE[0], rng)
    test = stack_triples(base.test_images, base.test_labels, STACKED_REFERENCE[1], rng)
    protocol = ("Stacked digits: three 16x16 digits as RGB channels, 1,000 modes; a mode is covered by >= 1 sample "
                "whose channels the digits classifier reads as that triple; a perfect generator covers "
                "1000 (1 - e^(-n/1000)) modes in expectation from n samples (918 at n = 2,500), reverse_kl likewise > 0")
    origin = (f"generated from {base.origin}: {STACKED_REFERENCE[0]} train and {STACKED_REFERENCE[1]} test "
              f"reference triples drawn with seed {SPLIT_SEED}")
    return StackedDigits("stacked_digits16", *train, *test, n_classes=1000, protocol=protocol, origin=origin,
                         base=base)
