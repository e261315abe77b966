"""What every data source gives the training loop."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


from ganbench.datasets import DatasetUnavailable  # noqa: F401  (defined torch-free, for reports)


#: (tensor, its copy) per (id(tensor), device): the tensor is kept alive, so its id is never reused
_DEVICE_COPIES: dict[tuple[int, str], tuple[Tensor, Tensor]] = {}


def on_device(tensor: Tensor, device: torch.device) -> Tensor:
    """``tensor`` on ``device``, copied once per process: a GPU trial samples its training batches
    on the GPU from a resident copy, with no host-to-device copy (and host sync) per step.
    Dataset objects are built once per process, so the cache holds each set once."""
    if tensor.device == device:
        return tensor
    key = (id(tensor), str(device))
    if key not in _DEVICE_COPIES:
        _DEVICE_COPIES[key] = (tensor, tensor.to(device))
    return _DEVICE_COPIES[key][1]


def content_hash(*parts: Tensor | np.ndarray | str | bytes) -> str:
    """The identity of some data: sha256 over each part's dtype, shape and bytes (a text part: its UTF-8),
    as 16 hex digits. Equal arrays hash equal whatever their device or memory layout."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            part = part.detach().cpu().contiguous().numpy()
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            h.update(f"{part.dtype.str}{part.shape}".encode())
            h.update(memoryview(part).cast("B"))
        else:
            h.update(part.encode() if isinstance(part, str) else bytes(part))
        h.update(b"\0")
    return h.hexdigest()[:16]


class Dataset:
    """An infinite sampler of training data with a known shape.

    ``sample(n, generator)`` returns its batch on ``generator.device``, drawing every random
    number from ``generator``: a CUDA generator keeps the whole step on the GPU.

    Its identity (``identity()``, recorded in run.json and in every trial's row): ``origin`` says where the data
    comes from (a local folder, a package, or "generated: <its parameters>") and ``data_hash`` hashes what
    ``content()`` returns (its arrays), once per object.
    """

    #: shape of one example, e.g. (2,) for 2-D toy points
    shape: tuple[int, ...]
    #: the metric the progress display and leaderboard lead with
    primary_metric: str = "modes_covered"
    #: where the data comes from: a local folder, a package, or "generated: <its parameters>"
    origin: str = "generated"

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def content(self) -> tuple[Tensor | np.ndarray | str | bytes, ...]:
        """What defines the data (its arrays, or the parameters it is generated from): ``data_hash`` hashes it."""
        raise NotImplementedError

    @functools.cached_property
    def data_hash(self) -> str:
        """``content_hash`` of ``content()``, computed once per object."""
        return content_hash(*self.content())

    def identity(self) -> dict[str, str]:
        """{"origin": where the data comes from, "data_hash": a hash of its content}."""
        return {"origin": self.origin, "data_hash": self.data_hash}

    def record(self) -> dict:
        """What a results folder keeps of the data (``datasets.dataset_record``, beside its primary metric and
        protocol): its identity, and its number of modes where it has them (mixtures, stacked digits' triples)."""
        record: dict = dict(self.identity())
        if getattr(self, "n_modes", None) is not None:
            record["n_modes"] = int(self.n_modes)  # type: ignore[attr-defined]
        return record


@dataclass(frozen=True)
class ModeMixture(Dataset):
    """Equal-weight isotropic Gaussians around known centres: the toy mode-collapse protocols.

    ``std`` is both the sampling spread and the unit of the quality rule: a generated
    sample is high quality within ``3 * std`` of its nearest centre.
    """

    centers: Tensor
    std: float
    protocol: str = ""

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return (self.centers.shape[1],)

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    @property
    def origin(self) -> str:  # type: ignore[override]
        centres = ", ".join("(" + ", ".join(f"{round(v, 4) + 0.0:g}" for v in c) + ")" for c in self.centers.tolist())
        return f"generated: {self.n_modes} equal-weight Gaussians, std {self.std:g}, centres {centres}"

    def content(self) -> tuple[Tensor | str, ...]:
        return self.centers.float(), f"std {self.std!r}"

    def record(self) -> dict:
        """The identity and number of modes, and the centres and std (for plots)."""
        return {**super().record(), "std": float(self.std), "centers": self.centers.tolist()}

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        device = generator.device
        idx = torch.randint(self.n_modes, (n,), generator=generator, device=device)
        noise = torch.randn(n, self.centers.shape[1], generator=generator, device=device)
        return on_device(self.centers, device)[idx] + self.std * noise


class TrainingSet(Dataset):
    """A fixed training set: ``size`` points drawn once from ``source``, then sampled uniformly with replacement.

    PacGAN's toy protocol trains on 100,000 points drawn once per run (fjxmlzn/PacGAN:
    synthetic_data_experiments/PacGAN/pacgan/datasets.py, ``GaussianPackingMixture``), not on fresh draws
    of the mixture. The points are drawn on the CPU from their own generator seeded with ``seed`` (the same
    set on any device), then kept on ``device``; ``sample(n, generator)`` draws n row indices from
    ``generator`` (every packing slot of every row independently, as ``pac`` consecutive rows).
    """

    def __init__(self, source: Dataset, size: int, seed: int, device: torch.device | str = "cpu"):
        self.source, self.size, self.seed = source, int(size), seed
        self.points = source.sample(self.size, torch.Generator().manual_seed(seed)).to(device)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self.points.shape[1:])

    @property
    def primary_metric(self) -> str:  # type: ignore[override]
        return self.source.primary_metric

    @property
    def origin(self) -> str:  # type: ignore[override]
        return f"{self.source.origin}; a fixed set of {self.size} points drawn once with seed {self.seed}"

    def content(self) -> tuple[Tensor, ...]:
        return (self.points,)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        idx = torch.randint(self.size, (n,), generator=generator, device=generator.device)
        return self.points[idx.to(self.points.device)].to(generator.device)
