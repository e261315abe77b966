"""What every data source gives the training loop."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


class DatasetUnavailable(FileNotFoundError):
    """A data set whose files are not on this machine (nothing is ever downloaded)."""


class Dataset:
    """An infinite sampler of training data with a known shape."""

    #: shape of one example, e.g. (2,) for 2-D toy points
    shape: tuple[int, ...]
    #: the metric the progress display and leaderboard lead with
    primary_metric: str = "modes_covered"

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError


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

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        idx = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, self.centers.shape[1], generator=generator)
        return self.centers[idx] + self.std * noise
