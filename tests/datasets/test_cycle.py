"""Unpaired two-domain digit sets with a known mapping."""
from __future__ import annotations

import pytest
import torch

from ganbench.datasets import CycleDataset
from ganbench.datasets.cycle import unpaired_halves
from ganbench.datasets.images import digits
from ganbench.registry import DATASETS

NAMES = ["digits_invert", "digits_rotate"]


@pytest.mark.parametrize("name", NAMES)
def test_mapping_is_exactly_invertible(name):
    data = DATASETS.get(name)()
    assert isinstance(data, CycleDataset) and data.primary_metric == "translation_error" and data.n_classes == 0
    a = data.test_a
    assert torch.equal(data.translate_back(data.translate(a)), a)
    assert torch.equal(data.translate(data.translate_back(a)), a)


def test_the_mappings_are_what_they_say():
    a = torch.arange(4.0).reshape(1, 1, 2, 2) / 3 * 2 - 1  # [[a, b], [c, d]]
    assert torch.equal(DATASETS.get("digits_invert")().translate(a), -a)
    rotated = DATASETS.get("digits_rotate")().translate(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert rotated.tolist() == [[[[2.0, 4.0], [1.0, 3.0]]]]  # counter-clockwise: top-right goes top-left


def test_halves_are_disjoint_and_cover_the_train_split():
    n = len(digits().train_images)
    half_a, half_b = unpaired_halves(n)
    assert set(half_a.tolist()).isdisjoint(half_b.tolist())
    assert sorted(half_a.tolist() + half_b.tolist()) == list(range(n))
    assert abs(len(half_a) - len(half_b)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_domains_come_from_the_two_halves(name):
    data, base = DATASETS.get(name)(), digits()
    half_a, half_b = unpaired_halves(len(base.train_images))
    assert torch.equal(data.domain_a_train, base.train_images[half_a])
    assert torch.equal(data.domain_b_train, data.translate(base.train_images[half_b]))
    assert torch.equal(data.test_a, base.test_images)
    assert data.shape == (1, 16, 16)


@pytest.mark.parametrize("name", NAMES)
def test_sample_pair_is_unpaired_and_seeded(name):
    data = DATASETS.get(name)()
    a, b = data.sample_pair(7, torch.Generator().manual_seed(3))
    assert a.shape == b.shape == (7, 1, 16, 16)
    a2, b2 = data.sample_pair(7, torch.Generator().manual_seed(3))
    assert torch.equal(a, a2) and torch.equal(b, b2)
    assert data.sample(5, torch.Generator().manual_seed(3)).shape == (5, 1, 16, 16)
    # every B image is the translation of an image of B's half; every A image is from A's half
    base = digits()
    half_a, half_b = unpaired_halves(len(base.train_images))
    source_b = data.translate(base.train_images[half_b]).flatten(1)
    source_a = base.train_images[half_a].flatten(1)
    assert (b.flatten(1)[:, None] == source_b[None]).all(-1).any(1).all()
    assert (a.flatten(1)[:, None] == source_a[None]).all(-1).any(1).all()
