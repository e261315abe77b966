"""The feature network behind FID, KID, precision/recall, density/coverage and IS, trained offline.

Inception-v3 features mean little on 16x16 digits and its weights cannot be downloaded
here, so the default feature network is a small CNN classifier trained on the dataset's
own train split (a few seconds on CPU), cached on disk per dataset, seed, recipe and data content:

    <cache>/features/<dataset.name>-seed<seed>-<recipe hash>-<dataset.data_hash>.pt

(the content hash: two MNIST folders of different images train two classifiers, and a changed folder a new one)

with <cache> = $GANBENCH_CACHE_DIR or ~/.cache/ganbench. Scores from different feature
networks are not comparable: record the file name (``feature_net_id``) beside every score.

Stacked digits (three digits as channels) are read by :class:`StackedFeatureNet`, the
single-digit net applied to each channel.

Optional: with ``GANBENCH_INCEPTION_WEIGHTS`` pointing at local FID Inception weights,
:func:`inception_feature_extractor` gives torchmetrics' FID Inception (needs torch-fidelity).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: bump when the architecture or the training recipe changes: old cache files are then ignored
RECIPE_VERSION = 1
#: the training recipe (part of the cache key)
RECIPE = {"epochs": 15, "batch_size": 64, "lr": 6e-3, "weight_decay": 1e-4, "max_shift": 1, "schedule": "onecycle"}
WIDTHS = (32, 64, 128)


class FeatureNet(nn.Module):
    """A small CNN classifier for (C, H, W) images in [-1, 1], H from 8 to 32.

    Two stride-2 4x4 convolutions (16 -> 8 -> 4 pixels), a 3x3 convolution and a global
    average pool give ``num_features`` features (the FID/KID/PRDC space, non-negative like
    Inception's pool features); a linear layer on top gives the class logits (the IS
    space). ``forward`` returns the features. About 1.7 M multiply-adds per 16x16 image.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, widths: tuple[int, int, int] = WIDTHS):
        super().__init__()
        w1, w2, w3 = widths
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w1, w2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w2, w3, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(w3, n_classes)
        self.num_features = w3  # torchmetrics reads this attribute
        self.n_classes = n_classes

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))

    def logits(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def logits_from_features(self, features: Tensor) -> Tensor:
        """The logits of inputs whose features are already computed (no second pass)."""
        return self.head(features)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


class StackedFeatureNet(nn.Module):
    """Stacked digits: the single-digit net on each of the three channels.

    ``features`` concatenates the per-channel features (3 x base.num_features); ``digits``
    reads the (n, 3) digits back; ``logits`` are over the 1,000 triples, label 100a + 10b + c,
    as the sum of per-channel log-softmaxes, so softmax(logits) = p(a) p(b) p(c).
    """

    def __init__(self, base: FeatureNet, channels: int = 3):
        super().__init__()
        self.base = base
        self.channels = channels
        self.num_features = channels * base.num_features
        self.n_classes = base.n_classes**channels

    def _per_channel(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        return x.reshape(n * c, 1, h, w)

    def features(self, x: Tensor) -> Tensor:
        return self.base.features(self._per_channel(x)).reshape(len(x), -1)

    def channel_log_probs(self, x: Tensor) -> Tensor:
        """(n, channels, n_digit_classes) log-probabilities."""
        return self._channel_log_probs(self.features(x))

    def _channel_log_probs(self, features: Tensor) -> Tensor:
        per_channel = features.reshape(len(features) * self.channels, -1)
        return self.base.head(per_channel).log_softmax(dim=1).reshape(len(features), self.channels, -1)

    def digits(self, x: Tensor) -> Tensor:
        """(n, channels) digits read by the single-digit classifier."""
        return self.digits_from_features(self.features(x))

    def digits_from_features(self, features: Tensor) -> Tensor:
        return self._channel_log_probs(features).argmax(dim=2)

    def logits(self, x: Tensor) -> Tensor:
        return self.logits_from_features(self.features(x))

    def logits_from_features(self, features: Tensor) -> Tensor:
        lp = self._channel_log_probs(features)
        grid = lp[:, 0]
        for c in range(1, self.channels):  # first channel most significant: index 100a + 10b + c
            grid = (grid[:, :, None] + lp[:, c][:, None, :]).flatten(1)
        return grid

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


def _random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image by up to max_shift pixels (padding with background -1)."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]  # (n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]  # (n, 1, 1, w)
    idx_n = torch.arange(n)[:, None, None, None]
    idx_c = torch.arange(x.shape[1])[None, :, None, None]
    return padded[idx_n, idx_c, rows, cols]


@torch.no_grad()
def accuracy(net: FeatureNet, images: Tensor, labels: Tensor, batch_size: int = 1024) -> float:
    was_training = net.training
    net.eval()
    correct = sum(int((net.logits(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(images), batch_size))
    net.train(was_training)
    return correct / len(images)


def train_feature_net(dataset, seed: int = 0) -> tuple[FeatureNet, float]:
    """Train a FeatureNet on dataset.train_images/labels; (net in eval mode, test accuracy).

    Adam with a one-cycle schedule, RECIPE["epochs"] epochs, random 1-pixel shifts, on one
    CPU thread; deterministic given the seed (the global RNG state is left as it was).
    """
    with _threads(1), torch.enable_grad():  # callers may be inside no_grad (an evaluation)
        return _train(dataset, seed)


@contextlib.contextmanager
def _threads(n: int):
    """Run with n intra-op threads, then restore. Batches of 64 tiny images give each op too
    little work to share: on the busy 2-core box 2 threads took 122 s against 8 s for 1
    (every op waits for a descheduled second thread); one thread is also what makes the
    trained weights independent of the caller's thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(dataset, seed: int) -> tuple[FeatureNet, float]:
    x, y = dataset.train_images.float(), dataset.train_labels.long()
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(x.shape[1], dataset.n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"])
    steps_per_epoch = -(-len(x) // RECIPE["batch_size"])
    total = RECIPE["epochs"] * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=RECIPE["lr"], total_steps=total)
    net.train()
    for _ in range(RECIPE["epochs"]):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), RECIPE["batch_size"]):
            idx = order[i:i + RECIPE["batch_size"]]
            loss = F.cross_entropy(net.logits(_random_shift(x[idx], RECIPE["max_shift"], g)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    acc = accuracy(net, dataset.test_images.float(), dataset.test_labels.long())
    return _freeze(net), acc


def _freeze(net: nn.Module) -> nn.Module:
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def recipe_hash() -> str:
    """Short hash of the architecture and training recipe: part of every cache file name."""
    spec = {"arch": "FeatureNet/s2-s2-c3-gap", "widths": WIDTHS, "recipe": RECIPE, "version": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


def cache_root(override: str | os.PathLike | None = None) -> Path:
    if override is not None:
        return Path(override)
    env = os.environ.get("GANBENCH_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "ganbench"


def feature_net_id(dataset, seed: int = 0) -> str:
    """Names the feature network behind a score, e.g. 'digits16-seed0-<recipe hash>-<data hash>' (record it
    beside scores): the data it was trained on is part of its name."""
    base = _base_dataset(dataset)
    return f"{base.name}-seed{seed}-{recipe_hash()}-{base.data_hash}"


def cache_path(dataset, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> Path:
    """<cache>/features/<feature_net_id>.pt, <cache> = cache_dir or $GANBENCH_CACHE_DIR or ~/.cache/ganbench."""
    return cache_root(cache_dir) / "features" / f"{feature_net_id(dataset, seed)}.pt"


def _base_dataset(dataset):
    """The single-digit set a stacked dataset's net is trained on (else the dataset itself)."""
    from ganbench.datasets.images import StackedDigits

    if isinstance(dataset, StackedDigits):
        assert dataset.base is not None
        return dataset.base
    return dataset


def load_feature_net(dataset, seed: int = 0, cache_dir: str | os.PathLike | None = None) -> tuple[nn.Module, float]:
    """The dataset's feature network and its test accuracy, trained once and cached on disk.

    A StackedDigits gets a StackedFeatureNet around the (cached) net of ``dataset.base``;
    its accuracy is the single-digit test accuracy. The cache file is written atomically
    (parallel workers never read half a file); a corrupt or mismatched file is retrained over.
    The net is in eval mode with requires_grad False, on the CPU.
    """
    base = _base_dataset(dataset)
    path = cache_path(base, seed, cache_dir)
    net = _load_cached(path, base)
    if net is None:
        start = time.perf_counter()
        net, acc = train_feature_net(base, seed)
        meta = {"dataset": base.name, "seed": seed, "recipe_hash": recipe_hash(), "recipe_version": RECIPE_VERSION,
                "data_hash": base.data_hash, "data_origin": base.origin,
                "train_s": time.perf_counter() - start, "torch": str(torch.__version__),
                "in_channels": int(base.train_images.shape[1]), "n_classes": int(base.n_classes)}
        _atomic_save({"state_dict": net.state_dict(), "test_accuracy": acc, "meta": meta}, path)
    else:
        net, acc = net
    if base is not dataset:
        return _freeze(StackedFeatureNet(net, channels=int(dataset.train_images.shape[1]))), acc
    return net, acc


def _load_cached(path: Path, dataset) -> tuple[FeatureNet, float] | None:
    if not path.exists():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):  # the throw-away init must not move the caller's RNG
            net = FeatureNet(int(dataset.train_images.shape[1]), dataset.n_classes)  # (training does not either)
        net.load_state_dict(blob["state_dict"])
        return _freeze(net), float(blob["test_accuracy"])
    except Exception:  # a truncated, corrupt or foreign file: train again and overwrite it
        return None


def _atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def inception_feature_extractor(weights_path: str | os.PathLike | None = None, feature: int = 2048) -> nn.Module:
    """torchmetrics' FID Inception-v3 (2048 pool features), from local weights only.

    ``weights_path`` defaults to $GANBENCH_INCEPTION_WEIGHTS (a pt_inception-2015-12-05-*.pth
    file). It takes uint8 images (N, 3, H, W) in [0, 255] and resizes them to 299 itself;
    pass it as ``feature=`` to torchmetrics' FID/KID with ``normalize=False``. Needs the
    torch-fidelity package. Not used by default: the digits CNN is the default feature net.
    """
    path = weights_path or os.environ.get("GANBENCH_INCEPTION_WEIGHTS")
    if not path:
        raise ValueError("no Inception weights: set GANBENCH_INCEPTION_WEIGHTS to a local "
                         "pt_inception-2015-12-05-*.pth file (no download is attempted)")
    if not Path(path).is_file():
        raise FileNotFoundError(f"Inception weights not found: {path}")
    from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

    if not _TORCH_FIDELITY_AVAILABLE:
        raise ModuleNotFoundError("the FID Inception feature extractor needs torch-fidelity: "
                                  "pip install torch-fidelity")
    from torchmetrics.image.fid import NoTrainInceptionV3

    return NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(feature)],
                              feature_extractor_weights_path=str(path))
