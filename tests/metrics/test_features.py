"""The feature network: accuracy on digits, the disk cache, stacked triples, the Inception option."""
from __future__ import annotations

import pytest
import torch

from ganbench.datasets.images import ImageDataset, triple_digits
from ganbench.metrics import features as fm
from ganbench.registry import DATASETS

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return DATASETS.get("digits")()


@pytest.fixture(scope="module")
def digits_net(feature_net_cache, digits):
    return fm.load_feature_net(digits)


def tiny_dataset(name: str = "tiny") -> ImageDataset:
    """64 random 8x8 images: trains in milliseconds, for the cache mechanics."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(80, 1, 8, 8, generator=g) * 2 - 1
    y = torch.randint(0, 10, (80,), generator=g)
    return ImageDataset(name, x[:64], y[:64], x[64:], y[64:], n_classes=10)


def test_digits_net_reaches_95_percent_test_accuracy_and_is_frozen(digits_net, digits):
    net, acc = digits_net
    assert acc >= 0.95
    assert acc == pytest.approx(fm.accuracy(net, digits.test_images, digits.test_labels))
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    x = digits.test_images[:7]
    assert net(x).shape == (7, net.num_features) and torch.equal(net(x), net.features(x))
    assert torch.allclose(net.logits(x), net.logits_from_features(net.features(x)))


def test_second_load_reads_the_cache_without_retraining(digits_net, digits, feature_net_cache):
    net, acc = digits_net
    path = fm.cache_path(digits)
    assert path.parent == feature_net_cache / "features" and path.name.startswith("digits16-seed0-")
    stat = path.stat()
    net2, acc2 = fm.load_feature_net(digits)
    assert acc2 == acc
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), net2.state_dict().values()))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # not rewritten
    blob = torch.load(path, weights_only=True)
    assert set(blob) == {"state_dict", "test_accuracy", "meta"} and blob["meta"]["dataset"] == "digits16"
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]  # no temporary file left behind


def test_training_is_deterministic_given_the_seed_and_leaves_the_global_rng_alone():
    data = tiny_dataset()
    state = torch.random.get_rng_state()
    a, acc_a = fm.train_feature_net(data, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    b, acc_b = fm.train_feature_net(data, seed=3)
    c, _ = fm.train_feature_net(data, seed=4)
    assert acc_a == acc_b
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.head.weight, c.head.weight)


def test_corrupt_cache_file_is_trained_over(tmp_path):
    data = tiny_dataset()
    path = fm.cache_path(data, seed=0, cache_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")
    net, acc = fm.load_feature_net(data, cache_dir=tmp_path)
    blob = torch.load(path, weights_only=True)  # replaced by a whole, loadable file
    assert blob["test_accuracy"] == acc
    assert torch.equal(blob["state_dict"]["head.weight"], net.head.weight)


def test_cache_location_follows_the_environment(tmp_path, monkeypatch):
    data = tiny_dataset()
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path / "env"))
    assert fm.cache_path(data).parent == tmp_path / "env" / "features"
    monkeypatch.delenv("GANBENCH_CACHE_DIR")
    assert fm.cache_path(data).parent == fm.Path.home() / ".cache" / "ganbench" / "features"
    assert fm.recipe_hash() in fm.cache_path(data).name


@pytest.mark.parametrize("channels, size", [(1, 8), (3, 16), (1, 32)])
def test_feature_net_takes_8_to_32_pixel_images(channels, size):
    net = fm.FeatureNet(channels, 10)
    x = torch.rand(5, channels, size, size) * 2 - 1
    assert net.features(x).shape == (5, net.num_features)
    assert net.logits(x).shape == (5, 10)


def test_stacked_net_reads_test_triples_and_its_logits_are_the_product_of_channels(digits_net, feature_net_cache):
    stacked = DATASETS.get("stacked_digits")()
    net, acc = fm.load_feature_net(stacked)
    assert isinstance(net, fm.StackedFeatureNet)
    assert acc == digits_net[1]  # the single-digit net's accuracy, from the same cache file
    x, labels = stacked.test_images, stacked.test_labels
    with torch.no_grad():
        digits = net.digits(x)
        assert (digits == triple_digits(labels)).all(dim=1).double().mean() >= 0.85
        assert net.features(x[:4]).shape == (4, 3 * digits_net[0].num_features) == (4, net.num_features)
        logits = net.logits(x[:4])
        per_channel = net.channel_log_probs(x[:4]).exp()  # (4, 3, 10)
    assert logits.shape == (4, 1000)
    probs = logits.softmax(dim=1).reshape(4, 10, 10, 10)
    product = per_channel[:, 0, :, None, None] * per_channel[:, 1, None, :, None] * per_channel[:, 2, None, None, :]
    assert torch.allclose(probs, product, atol=1e-6)
    assert torch.equal(logits.argmax(1), digits[:4, 0] * 100 + digits[:4, 1] * 10 + digits[:4, 2])


def test_inception_extractor_needs_local_weights_and_torch_fidelity(tmp_path, monkeypatch):
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(ValueError, match="GANBENCH_INCEPTION_WEIGHTS"):
        fm.inception_feature_extractor()
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"")
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(weights))
    from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE

    if _TORCH_FIDELITY_AVAILABLE:
        pytest.skip("torch-fidelity is installed")
    with pytest.raises(ModuleNotFoundError, match="pip install torch-fidelity"):
        fm.inception_feature_extractor()


def test_training_works_from_inside_no_grad(tmp_path, monkeypatch):
    # an evaluation runs under no_grad; a cache miss there must still train the net
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path))
    with torch.no_grad():
        _, acc = fm.load_feature_net(tiny_dataset("nograd"))
    assert 0 <= acc <= 1 and fm.cache_path(tiny_dataset("nograd")).exists()


def test_loading_a_cached_net_leaves_the_global_random_stream_alone(tmp_path):
    # an image trial's gradient penalty draws from the global stream: a cache hit or miss must not change it
    data = tiny_dataset("rng")
    for _ in range(2):  # the first call trains (a miss), the second loads (a hit)
        torch.manual_seed(5)
        fm.load_feature_net(data, cache_dir=tmp_path)
        assert torch.equal(torch.rand(3), torch.manual_seed(5) and torch.rand(3))
