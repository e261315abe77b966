"""One trial's image metrics: built once from the dataset, then called on each batch of fakes.

    evaluator = ImageEvaluator(dataset, device)       # loads the cached feature net, real statistics
    scores = evaluator(generator_samples)              # dict[str, float], ~2,500 samples per call

Reference sets (fixed, independent of the trial seed):
- FID: all train images, or a fixed subsample of ``max_real``; real statistics computed once
  (torchmetrics with ``reset_real_features=False``: each call only resets the fakes).
- KID, precision/recall, density/coverage: a fixed subsample of ``max_pairwise`` train
  features (their cost grows with n_real x n_fake; 2,500 = the usual number of fakes).
- Parzen: the test split cut in halves by a fixed permutation; the first half chooses
  sigma, the second is scored (each capped at ``max_parzen``).
- Memorization: nearest train image in pixel space, relative to the test split's distance.
  For stacked digits, per channel against the single-digit train/test splits. When at least half the
  test images also occur in the training set that distance is 0: nn_memorization is NaN, with the reason.

A metric that cannot be computed is NaN and its reason is in ``notes`` (``metrics.notes``); the others go on.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.metrics import images as im
from ganbench.metrics.features import feature_net_id, load_feature_net
from ganbench.metrics.notes import MetricUnavailable, guarded

REFERENCE_SEED = 0  # the reference subsamples are part of the protocol, not of the trial
#: pixel distance (images in [-1, 1]; one 8-bit level is 2/255) under which two images count as the same
SAME_IMAGE = 1e-4


def _fixed_subset(x: Tensor, n: int, salt: int) -> Tensor:
    if len(x) <= n:
        return x
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(REFERENCE_SEED + salt))
    return x[order[:n]]


class ImageEvaluator:
    """Image metrics of generated samples against one ImageDataset (or StackedDigits).

    ``__call__(fake)`` takes (n, C, H, W) images in [-1, 1] (any device, no gradient needed)
    and returns ``metric_names`` -> float: fid, kid, kid_std, precision, recall, density,
    coverage, inception_score, parzen_ll, parzen_ll_se, nn_memorization, feature_net_acc,
    and for stacked digits modes_covered and reverse_kl (their sampling-limited ideal at ``n_fake`` samples is
    ``metrics.modes.ideal_sampler``, reported beside them by the leaderboard). Non-finite samples give NaN scores.
    After a call, ``n_fake`` holds its sample count, ``parzen_sigma`` the Parzen
    bandwidth chosen on the validation half and ``notes`` why each NaN metric could not be computed
    (metric -> reason; empty when all were); ``meta`` describes the protocol
    (feature network id, sample counts, library versions) to store beside the scores.
    """

    def __init__(self, dataset, device: str | torch.device = "cpu", feature_seed: int = 0,
                 max_real: int = 10_000, max_pairwise: int = 2_500, max_parzen: int = 500,
                 nearest_k: int = im.NEAREST_K, kid_subsets: int = im.KID_SUBSETS, cache_dir=None):
        from ganbench.datasets.images import StackedDigits

        self.device = torch.device(device)
        self.stacked = isinstance(dataset, StackedDigits)
        net, self.feature_net_acc = load_feature_net(dataset, feature_seed, cache_dir)
        self.net = net.to(self.device)

        real = _fixed_subset(dataset.train_images, max_real, salt=1)
        real_features, _ = self._features(real)
        self.n_real = len(real)
        self._fid = im.fid_metric(self.net.num_features)
        self._fid.update(real_features, real=True)
        pairwise = _fixed_subset(real_features, max_pairwise, salt=2)
        self.n_real_pairwise = len(pairwise)
        self._kid = im.KernelDistance(pairwise, subsets=kid_subsets, seed=REFERENCE_SEED)
        self._prdc = im.PRDC(pairwise, nearest_k)

        test = dataset.test_images
        order = torch.randperm(len(test), generator=torch.Generator().manual_seed(REFERENCE_SEED + 3))
        half = len(test) // 2
        self._parzen_val = test[order[:half]][:max_parzen].flatten(1).double()
        self._parzen_test = test[order[half:]][:max_parzen].flatten(1).double()

        single = dataset.base if self.stacked else dataset
        self._mem_train = single.train_images.flatten(1).double()
        test_to_train = im.nearest_distances(single.test_images, self._mem_train)
        self._mem_scale = float(test_to_train.median())
        self._mem_unavailable = ""  # why nn_memorization cannot be computed on these data
        if not self._mem_scale > SAME_IMAGE:
            shared = int((test_to_train <= SAME_IMAGE).sum())
            self._mem_unavailable = (f"test and training sets share images ({shared} of {len(test_to_train)} test "
                                     f"images occur in the training set: median nearest-neighbour distance 0)")
        self.notes: dict[str, str] = {}

        self.n_fake = 0
        self.parzen_sigma = math.nan  # the bandwidth the last call chose on the validation half
        self.metric_names = ["fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
                             "inception_score", "parzen_ll", "parzen_ll_se", "nn_memorization", "feature_net_acc"]
        if self.stacked:
            self.metric_names += ["modes_covered", "reverse_kl"]
        from importlib.metadata import version

        self.meta = {
            "feature_net": feature_net_id(dataset, feature_seed), "feature_net_acc": self.feature_net_acc,
            "n_real": self.n_real, "n_real_pairwise": self.n_real_pairwise,
            "n_parzen_val": len(self._parzen_val), "n_parzen_test": len(self._parzen_test),
            "nearest_k": nearest_k, "kid_subsets": kid_subsets,
            "torchmetrics": version("torchmetrics"), "prdc": version("prdc"),
        }

    @torch.no_grad()
    def _features(self, images: Tensor, batch_size: int = 1024) -> tuple[Tensor, Tensor]:
        """(float64 CPU features, float64 CPU logits), one pass through the net."""
        feats, logits = [], []
        for i in range(0, len(images), batch_size):
            f = self.net.features(images[i:i + batch_size].to(self.device, torch.float32))
            feats.append(f.double().cpu())
            logits.append(self.net.logits_from_features(f).double().cpu())
        return torch.cat(feats), torch.cat(logits)

    @torch.no_grad()
    def __call__(self, fake: Tensor) -> dict[str, float]:
        fake = fake.detach()
        self.n_fake = len(fake)
        self.meta["n_fake"] = self.n_fake
        self.notes = notes = {}
        if not bool(torch.isfinite(fake).all()):
            out = {name: math.nan for name in self.metric_names}
            out["feature_net_acc"] = self.feature_net_acc
            notes.update({name: "the generated samples hold NaN or inf" for name in out if math.isnan(out[name])})
            return out
        features, logits = self._features(fake)
        out = guarded(notes, ["fid"], lambda: {"fid": self._fid_of(features)})
        out.update(guarded(notes, ["kid", "kid_std"], lambda: dict(zip(["kid", "kid_std"], self._kid(features)))))
        out.update(guarded(notes, ["precision", "recall", "density", "coverage"], lambda: self._prdc(features)))
        out.update(guarded(notes, ["inception_score"], lambda: {"inception_score": im.inception_score(logits)}))
        out.update(guarded(notes, ["parzen_ll", "parzen_ll_se"], lambda: self._parzen(fake)))
        out.update(guarded(notes, ["nn_memorization"], lambda: {"nn_memorization": self._memorization(fake)}))
        out["feature_net_acc"] = self.feature_net_acc
        if self.stacked:
            out.update(guarded(notes, ["modes_covered", "reverse_kl"], lambda: im.stacked_mode_metrics(
                self.net.digits_from_features(features.float().to(self.device)))))
        return out

    def _fid_of(self, features: Tensor) -> float:
        self._fid.reset()
        self._fid.update(features, real=False)
        return float(self._fid.compute())

    def _parzen(self, fake: Tensor) -> dict[str, float]:
        pixels = fake.flatten(1).double().cpu()
        ll, se, self.parzen_sigma = im.parzen_log_likelihood(pixels, self._parzen_test, self._parzen_val)
        return {"parzen_ll": ll, "parzen_ll_se": se}

    def _memorization(self, fake: Tensor) -> float:
        if self._mem_unavailable:
            raise MetricUnavailable(self._mem_unavailable)
        singles = fake.reshape(-1, *fake.shape[2:]) if self.stacked else fake  # stacked: one digit per channel
        return float(im.nearest_distances(singles, self._mem_train).median()) / self._mem_scale
