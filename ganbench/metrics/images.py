"""Image metrics as functions on tensors: sample quality, likelihood, memorization, modes, cycles.

Features come from the feature network of ``metrics/features.py`` (``extract``); every
statistic is computed in float64. Sample-size dependence: FID is biased upwards at small
n and KID is unbiased but noisy (it can go below 0); record n_real and n_fake beside scores.

- FID (Heusel et al. 2017): torchmetrics' FrechetInceptionDistance on our features.
- KID (Binkowski et al. 2018): unbiased MMD^2 with torchmetrics' cubic polynomial kernel,
  mean and std over random subsets of ``min(1000, n)``. ``KernelDistance`` computes each
  kernel matrix once and sums its subset blocks (torchmetrics' own KID recomputes three
  1000x1000 kernels per subset: ~7 s for 100 subsets on 2 CPU cores); the values equal
  torchmetrics' ``poly_mmd`` on the same subsets (tested).
- precision/recall (Kynkaanniemi et al. 2019), density/coverage (Naeem et al. 2020): the
  ``prdc`` package's k-NN radii and formulas, k = 5.
- Inception score (Salimans et al. 2016): torchmetrics' InceptionScore on our logits.
- Parzen-window log-likelihood (Goodfellow et al. 2014, Table 1), nearest-neighbour
  memorization ratio, stacked-digits mode counts, CycleGAN cycle and translation errors.
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from ganbench.metrics.modes import reverse_kl_to_uniform

#: Parzen bandwidths: Goodfellow et al.'s log-spaced grid for [0, 1] pixels, doubled for [-1, 1]
PARZEN_SIGMAS = tuple(float(s) for s in 2 * np.logspace(-2, 0, 15))
NEAREST_K = 5  # Kynkaanniemi et al. / Naeem et al.
KID_SUBSETS = 100  # Binkowski et al.: 100 subsets of 1,000
KID_SUBSET_SIZE = 1000


# --------------------------------------------------------------------------- features


class TorchmetricsFeature(nn.Module):
    """Adapts a feature net for torchmetrics' ``feature=``: our [-1, 1] float images in, float64 out.

    torchmetrics leaves the input of a custom feature module as it is (FID/KID; keep
    ``normalize=False``: InceptionScore would turn floats into bytes) and reads
    ``num_features``; float64 outputs keep KID's kernels in float64 (FID casts to float64
    itself). ``output="logits"`` feeds InceptionScore.
    """

    def __init__(self, net: nn.Module, output: str = "features"):
        super().__init__()
        self.net = net
        self.output = output
        self.num_features = net.num_features if output == "features" else net.n_classes

    def forward(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            out = self.net.features(x) if self.output == "features" else self.net.logits(x)
        return out.double()


class Precomputed(nn.Module):
    """The identity as torchmetrics' feature module: for features computed once and reused."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x.double()


@torch.no_grad()
def extract(net: nn.Module, images: Tensor, batch_size: int = 1024) -> Tensor:
    """(n, net.num_features) float64 CPU features of images in [-1, 1], in batches."""
    device = next(net.parameters()).device
    out = [net.features(images[i:i + batch_size].to(device, torch.float32)).double().cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, net.num_features, dtype=torch.float64)


def _quiet():
    """torchmetrics warns about buffers and a std of one split; prdc prints its sample counts."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


def _sq_dists(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances between rows, |x|^2 + |y|^2 - 2 x.y (use float64)."""
    out = torch.addmm(x.square().sum(1)[:, None], x, y.T, alpha=-2)  # in place: twice as fast
    return out.add_(y.square().sum(1)[None, :]).clamp_min_(0)


def _distances(x: Tensor, y: Tensor) -> Tensor:
    return _sq_dists(x, y).sqrt_()


# --------------------------------------------------------------------------- FID


def fid_metric(num_features: int):
    """torchmetrics FID on precomputed features; real statistics survive ``reset()``."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    with _quiet():
        return FrechetInceptionDistance(feature=Precomputed(num_features), reset_real_features=False)


def fid(real_features: Tensor, fake_features: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (torchmetrics, float64)."""
    metric = fid_metric(real_features.shape[1])
    metric.update(real_features.double(), real=True)
    metric.update(fake_features.double(), real=False)
    return float(metric.compute())


# --------------------------------------------------------------------------- KID


def _poly_kernel(a: Tensor, b: Tensor) -> Tensor:
    """torchmetrics' KID kernel: (a.b / d + 1)^3 (in place: twice as fast as its expression)."""
    k = a @ b.T
    return k.div_(a.shape[1]).add_(1.0).pow_(3)


def _subset_sums(kernel: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """For each subset s: the sum of kernel[rows[s]][:, cols[s]] via 0/1 indicator products."""
    r = torch.zeros(len(rows), kernel.shape[0], dtype=kernel.dtype).scatter_(1, rows, 1.0)
    c = torch.zeros(len(cols), kernel.shape[1], dtype=kernel.dtype).scatter_(1, cols, 1.0)
    return ((r @ kernel) * c).sum(dim=1)


class KernelDistance:
    """Unbiased KID against fixed real features: mean and std of MMD^2 over random subsets.

    The real kernel and the real subsets (drawn once from ``seed``) are computed here; each
    call draws the fake subsets from ``seed`` too, so equal fakes give equal scores.
    The std is over subsets (``unbiased=False``, as torchmetrics).
    """

    def __init__(self, real_features: Tensor, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                 seed: int = 0):
        self.real = real_features.double()
        self.subsets, self.max_subset_size, self.seed = subsets, subset_size, seed
        self._k_rr = _poly_kernel(self.real, self.real)
        self._real_cache: dict[int, tuple[Tensor, Tensor]] = {}

    def _real_part(self, m: int) -> tuple[Tensor, Tensor]:
        if m not in self._real_cache:
            g = torch.Generator().manual_seed(self.seed)
            idx = torch.stack([torch.randperm(len(self.real), generator=g)[:m] for _ in range(self.subsets)])
            off_diag = _subset_sums(self._k_rr, idx, idx) - self._k_rr.diagonal()[idx].sum(dim=1)
            self._real_cache[m] = (idx, off_diag)
        return self._real_cache[m]

    def __call__(self, fake_features: Tensor) -> tuple[float, float]:
        values = self.subset_values(fake_features)
        return float(values.mean()), float(values.std(unbiased=False))

    def subset_values(self, fake_features: Tensor, fake_idx: Tensor | None = None) -> Tensor:
        """MMD^2 per subset (torchmetrics' ``maximum_mean_discrepancy`` formula)."""
        fake = fake_features.double()
        m = min(self.max_subset_size, len(self.real), len(fake))
        if m < 2:
            raise ValueError(f"KID needs at least 2 real and 2 fake samples, got {len(self.real)} and {len(fake)}")
        real_idx, real_sums = self._real_part(m)
        if fake_idx is None:
            g = torch.Generator().manual_seed(self.seed + 1)
            fake_idx = torch.stack([torch.randperm(len(fake), generator=g)[:m] for _ in range(self.subsets)])
        k_ff = _poly_kernel(fake, fake)
        fake_sums = _subset_sums(k_ff, fake_idx, fake_idx) - k_ff.diagonal()[fake_idx].sum(dim=1)
        cross = _subset_sums(_poly_kernel(self.real, fake), real_idx, fake_idx)
        return (real_sums + fake_sums) / (m * (m - 1)) - 2 * cross / m**2


def kid(real_features: Tensor, fake_features: Tensor, subsets: int = KID_SUBSETS,
        subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased KID over subsets of min(subset_size, n_real, n_fake)."""
    return KernelDistance(real_features, subsets, subset_size, seed)(fake_features)


# --------------------------------------------------------------------------- PRDC


class PRDC:
    """Precision, recall, density, coverage against fixed real features (the ``prdc`` package).

    The real k-NN radii are computed once; each call takes prdc's k-th-value radii and its
    four formulas, with the Euclidean distances from torch in float64 (prdc's own, through
    scikit-learn with n_jobs=8, was 2-3x slower here). Equal to ``prdc.compute_prdc`` (tested).
    """

    def __init__(self, real_features: Tensor, nearest_k: int = NEAREST_K):
        self.k = nearest_k
        self.real = real_features.double()
        self.real_radii = self._radii(self.real)

    def _radii(self, x: Tensor) -> np.ndarray:
        from prdc.prdc import get_kth_value

        d = _distances(x, x).fill_diagonal_(0.0).numpy()
        return get_kth_value(d, k=self.k + 1, axis=-1)  # k + 1: the point itself is its own 0th neighbour

    def __call__(self, fake_features: Tensor) -> dict[str, float]:
        fake = fake_features.double()
        if len(fake) <= self.k:
            raise ValueError(f"precision/recall need more than k={self.k} fake samples, got {len(fake)}")
        fake_radii = self._radii(fake)
        d = _distances(self.real, fake).numpy()
        inside_real = d < self.real_radii[:, None]  # [i, j]: fake j inside real i's k-NN ball
        return {
            "precision": float(inside_real.any(axis=0).mean()),
            "recall": float((d < fake_radii[None, :]).any(axis=1).mean()),
            "density": float(inside_real.sum(axis=0).mean() / self.k),
            "coverage": float((d.min(axis=1) < self.real_radii).mean()),
        }


def prdc_metrics(real_features: Tensor, fake_features: Tensor, nearest_k: int = NEAREST_K) -> dict[str, float]:
    """prdc.compute_prdc: precision, recall, density, coverage with k nearest neighbours."""
    import prdc

    with _quiet():
        out = prdc.compute_prdc(real_features.float().numpy(), fake_features.float().numpy(), nearest_k)
    return {k: float(v) for k, v in out.items()}


# --------------------------------------------------------------------------- IS


def inception_score(logits: Tensor, splits: int = 1, seed: int = 0) -> float:
    """exp(E_x KL(p(y|x) || p(y))) by torchmetrics' InceptionScore, mean over ``splits``.

    One split by default: with a few thousand samples, splitting only adds bias (the
    10-split protocol of Salimans et al. assumes 50,000 samples). Between 1 and n_classes.
    """
    from torchmetrics.image.inception import InceptionScore

    with _quiet(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # its random permutation of the samples
        metric = InceptionScore(feature=Precomputed(logits.shape[1]), splits=splits)
        metric.update(logits.double())
        mean, _ = metric.compute()
    return float(mean)


# --------------------------------------------------------------------------- Parzen


def _parzen_ll(x: Tensor, centers: Tensor, sigmas: Tensor, max_elems: int = 2**22) -> Tensor:
    """(n_sigmas, n) log-densities of x under Gaussian Parzen windows on centers, one per sigma.

    logsumexp_i(-q_i / 2s^2) = -q_min / 2s^2 + log sum_i exp(-(q_i - q_min) / 2s^2), with
    q_i the squared distances: the sum is >= 1, so nothing underflows; the distances are
    computed once per chunk for all sigmas.
    """
    n, d = centers.shape
    chunk = max(1, max_elems // n)
    lse = torch.empty(len(sigmas), len(x), dtype=torch.float64)
    for i in range(0, len(x), chunk):
        sq = _sq_dists(x[i:i + chunk], centers)
        q_min = sq.min(dim=1, keepdim=True).values
        sq.sub_(q_min)
        buf = torch.empty_like(sq)
        for j, sigma in enumerate(sigmas.tolist()):
            scale = -0.5 / sigma**2
            torch.mul(sq, scale, out=buf).exp_()
            lse[j, i:i + chunk] = buf.sum(dim=1).log_() + q_min[:, 0] * scale
    return lse - math.log(n) - d / 2 * torch.log(2 * math.pi * sigmas.square())[:, None]


def parzen_log_likelihood(generated: Tensor, test: Tensor, validation: Tensor,
                          sigmas: tuple[float, ...] | Tensor | None = None) -> tuple[float, float, float]:
    """Goodfellow et al. 2014 (Table 1): (mean test log-likelihood, its standard error, sigma).

    A Gaussian Parzen window with bandwidth sigma on the flattened generated samples;
    sigma maximizes the validation log-likelihood over ``sigmas`` (default PARZEN_SIGMAS);
    log p(x) = logsumexp_i(-|x - g_i|^2 / (2 sigma^2)) - log N - d/2 log(2 pi sigma^2), in
    nats, float64. The standard error is std / sqrt(n_test). Known to be a poor likelihood
    estimate in high dimension (Theis et al. 2016): kept for comparability with the paper.
    """
    g = generated.detach().flatten(1).double().cpu()
    grid = torch.as_tensor(PARZEN_SIGMAS if sigmas is None else sigmas, dtype=torch.float64)
    val_ll = _parzen_ll(validation.detach().flatten(1).double().cpu(), g, grid).mean(dim=1)
    sigma = grid[int(val_ll.argmax())]
    ll = _parzen_ll(test.detach().flatten(1).double().cpu(), g, sigma[None])[0]
    se = ll.std() / math.sqrt(len(ll)) if len(ll) > 1 else torch.tensor(float("nan"))
    return float(ll.mean()), float(se), float(sigma)


# --------------------------------------------------------------------------- memorization


def nearest_distances(x: Tensor, reference: Tensor, max_elems: int = 2**24) -> Tensor:
    """Euclidean distance from each row of x (flattened) to its nearest row of reference (float64)."""
    x = x.detach().flatten(1).double().cpu()
    ref = reference.detach().flatten(1).double().cpu()
    chunk = max(1, max_elems // max(1, len(ref)))
    return torch.cat([_sq_dists(x[i:i + chunk], ref).min(dim=1).values for i in range(0, len(x), chunk)]).sqrt()


def nn_memorization(generated: Tensor, train: Tensor, test: Tensor) -> float:
    """median NN distance generated -> train / median NN distance test -> train (pixel space).

    About 1 for a generator as novel as held-out data; towards 0 when it copies training
    images; above 1 when its samples lie further from the data than real digits do.
    """
    return float(nearest_distances(generated, train).median() / nearest_distances(test, train).median())


# --------------------------------------------------------------------------- modes


def stacked_mode_metrics(digits: Tensor, n_modes: int = 1000) -> dict[str, float]:
    """Stacked-digits mode counts (VEEGAN / PacGAN): ``digits`` (n, 3) or triple labels (n,).

    modes_covered: distinct triples among the samples (a mode counts with >= 1 sample);
    reverse_kl: KL(histogram of triples || uniform over n_modes), in nats. Every sample counts (no
    high-quality filter: the classifier's reading is the mode), so there is no ``reverse_kl_hq`` here.
    Even a perfect generator scores below n_modes and above 0 at a finite n: ``modes.ideal_sampler``
    (918.0 modes / 0.223 nats at 2,500 samples, 1000.0 / 0.0193 at 26,000), the leaderboard's
    ``modes_ideal`` / ``reverse_kl_ideal`` columns.
    """
    digits = digits.detach().long().cpu()
    if digits.dim() == 2:
        base = round(n_modes ** (1 / digits.shape[1]))
        labels = sum(digits[:, i] * base ** (digits.shape[1] - 1 - i) for i in range(digits.shape[1]))
    else:
        labels = digits
    return {"modes_covered": float(len(torch.unique(labels))), "reverse_kl": reverse_kl_to_uniform(labels, n_modes)}


# --------------------------------------------------------------------------- CycleGAN


ImageMap = Callable[[Tensor], Tensor]


@torch.no_grad()
def cycle_error(ab: ImageMap, ba: ImageMap, a: Tensor, b: Tensor) -> float:
    """(mean |ba(ab(a)) - a| + mean |ab(ba(b)) - b|) / 2, in [-1, 1] pixel units."""
    forward = (ba(ab(a)) - a).abs().mean()
    backward = (ab(ba(b)) - b).abs().mean()
    return float((forward.double() + backward.double()) / 2)


@torch.no_grad()
def translation_error(ab: ImageMap, a: Tensor, true_b: Tensor) -> float:
    """mean |ab(a) - true_b| for paired data, in [-1, 1] pixel units."""
    return float((ab(a) - true_b).abs().double().mean())
