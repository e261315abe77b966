"""Image metrics on data whose answers are known: held-out digits, noise, Gaussians, copies, triples."""
from __future__ import annotations

import math

import pytest
import torch

from ganbench.datasets.images import ImageDataset
from ganbench.metrics import images as im
from ganbench.metrics.features import load_feature_net
from ganbench.metrics.image_eval import ImageEvaluator
from ganbench.metrics.notes import MetricNotes
from ganbench.registry import DATASETS, METRICS

pytestmark = pytest.mark.usefixtures("one_thread")

NOISE_STDS = (0.1, 0.3, 0.6, 1.0)


@pytest.fixture(scope="module")
def digits():
    return DATASETS.get("digits")()


@pytest.fixture(scope="module")
def net(digits):
    return load_feature_net(digits)[0]


@pytest.fixture(scope="module")
def train_features(net, digits):
    return im.extract(net, digits.train_images)


def noisy(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (images + std * torch.randn(images.shape, generator=g)).clamp(-1, 1)


# --------------------------------------------------------------------------- FID / KID


def test_fid_and_kid_of_held_out_digits_are_near_zero_and_grow_with_noise(net, digits, train_features):
    clean = im.extract(net, digits.test_images)
    fid0 = im.fid(train_features, clean)
    kid0, kid0_std = im.kid(train_features, clean)
    assert abs(kid0) <= 2 * kid0_std  # unbiased: indistinguishable from 0
    fids = [im.fid(train_features, im.extract(net, noisy(digits.test_images, s))) for s in NOISE_STDS]
    kids = [im.kid(train_features, im.extract(net, noisy(digits.test_images, s)))[0] for s in NOISE_STDS]
    # FID of 359 held-out digits is not 0 (its bias at small n), but below every noisy set
    assert fid0 < fids[0] and fid0 < fids[1] / 2 and fid0 < fids[-1] / 10
    assert fids == sorted(fids) and kids == sorted(kids)
    assert kid0 < kids[0] and kids[-1] > 10 * kid0_std


def test_torchmetrics_fed_images_through_the_adapter_gives_the_same_fid(net, digits, train_features):
    from torchmetrics.image.fid import FrechetInceptionDistance

    fake = noisy(digits.test_images, 0.3)
    metric = FrechetInceptionDistance(feature=im.TorchmetricsFeature(net))  # our [-1, 1] floats as they are
    metric.update(digits.train_images, real=True)
    metric.update(fake, real=False)
    assert float(metric.compute()) == pytest.approx(im.fid(train_features, im.extract(net, fake)), rel=1e-5)


def test_kernel_distance_equals_torchmetrics_poly_mmd_on_the_same_subsets():
    from torchmetrics.image.kid import poly_mmd

    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(300, 16, generator=g).double(), torch.rand(200, 16, generator=g).double() + 0.05
    kd = im.KernelDistance(real, subsets=4, subset_size=50)
    fake_idx = torch.stack([torch.randperm(200, generator=g)[:50] for _ in range(4)])
    values = kd.subset_values(fake, fake_idx)
    real_idx = kd._real_part(50)[0]
    expected = torch.stack([poly_mmd(real[r], fake[f]) for r, f in zip(real_idx, fake_idx)])
    assert torch.allclose(values, expected, rtol=1e-9, atol=1e-12)
    assert kd(fake) == kd(fake)  # the fake subsets are seeded: equal fakes, equal scores


# --------------------------------------------------------------------------- PRDC


def test_prdc_of_a_set_against_itself_and_of_a_shifted_set():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 8, generator=g).double()  # continuous: no tied distances
    own = im.PRDC(x)(x)
    # Each real radius is the distance to the k-th nearest *other* point (prdc takes the (k+1)-th
    # smallest distance, the first being the point itself at 0). A strict '<' keeps the point and
    # its k-1 nearer neighbours inside, not the k-th on the boundary: every ball holds exactly k
    # fakes, so density = (1/k) * k = 1 (a non-strict '<=' would give (k+1)/k).
    assert own == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}
    assert own == pytest.approx(im.prdc_metrics(x, x))
    same = torch.randn(600, 8, generator=g).double()
    shifted = same + 1.5
    fresh, moved = im.PRDC(x)(same), im.PRDC(x)(shifted)
    assert fresh == pytest.approx(im.prdc_metrics(x, same))
    assert moved == pytest.approx(im.prdc_metrics(x, shifted))
    assert fresh["coverage"] > 0.9 and moved["density"] < fresh["density"] / 2
    assert moved["coverage"] < fresh["coverage"] / 2


# --------------------------------------------------------------------------- IS


def test_inception_score_spans_1_to_n_classes():
    assert im.inception_score(torch.zeros(100, 10)) == pytest.approx(1.0)
    confident = torch.full((100, 10), -50.0)
    confident[torch.arange(100), torch.arange(100) % 10] = 50.0
    assert im.inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    logits = torch.randn(500, 10, generator=torch.Generator().manual_seed(0)) * 3
    p = logits.double().softmax(1)
    exact = math.exp(float((p * (p.log() - p.mean(0).log())).sum(1).mean()))
    assert im.inception_score(logits) == pytest.approx(exact, rel=1e-6)


# --------------------------------------------------------------------------- Parzen


def test_parzen_estimate_of_a_gaussian_matches_its_expected_log_density():
    d, s = 2, 0.5
    g = torch.Generator().manual_seed(0)
    generated, validation, test = (s * torch.randn(n, d, generator=g) for n in (3000, 1000, 3000))
    ll, se, sigma = im.parzen_log_likelihood(generated, test, validation)
    analytic = -d / 2 * math.log(2 * math.pi * math.e * s**2)  # E log N(x; 0, s^2 I)
    # the window widens the density (bias about -d/2 log(1 + sigma^2/s^2) ~ -0.04) and SE ~ 0.018
    assert ll == pytest.approx(analytic, abs=0.1)
    assert se == pytest.approx(math.sqrt(d / 2) / math.sqrt(3000), rel=0.3)  # std of log N(x) is sqrt(d/2)
    assert sigma in im.PARZEN_SIGMAS and 0.05 < sigma < 0.5
    assert im.parzen_log_likelihood(generated, test, validation, sigmas=(0.3,))[2] == 0.3


# --------------------------------------------------------------------------- memorization


def test_nn_memorization_is_zero_for_copies_and_about_one_for_held_out_digits(digits):
    train, test = digits.train_images, digits.test_images
    assert im.nn_memorization(train[:500], train, test) == pytest.approx(0.0, abs=1e-6)
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))
    half = len(test) // 2
    assert im.nn_memorization(test[order[:half]], train, test[order[half:]]) == pytest.approx(1.0, abs=0.15)


# --------------------------------------------------------------------------- modes, cycles


def test_stacked_mode_metrics_of_collapsed_and_uniform_generators():
    collapsed = im.stacked_mode_metrics(torch.tensor([[3, 1, 4]]).repeat(2500, 1))
    assert collapsed == {"modes_covered": 1.0, "reverse_kl": pytest.approx(math.log(1000))}
    every = torch.arange(1000).repeat(3)
    assert im.stacked_mode_metrics(every) == {"modes_covered": 1000.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    digits = torch.stack([every // 100, every // 10 % 10, every % 10], dim=1)
    assert im.stacked_mode_metrics(digits) == im.stacked_mode_metrics(every)


def test_cycle_error_of_identities_and_translation_error_of_the_true_map_are_zero():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(8, 3, 16, 16, generator=g) * 2 - 1, torch.rand(8, 3, 16, 16, generator=g) * 2 - 1
    identity = torch.nn.Identity()
    assert im.cycle_error(identity, identity, a, b) == 0.0
    flip = lambda x: torch.flip(x, dims=(3,))  # noqa: E731
    assert im.translation_error(flip, a, flip(a)) == 0.0
    assert im.cycle_error(flip, flip, a, b) == 0.0  # a flip undoes itself
    shift = lambda x: x + 0.5  # noqa: E731
    assert im.cycle_error(shift, identity, a, b) == pytest.approx(0.5)
    assert im.translation_error(shift, a, a) == pytest.approx(0.5)


# --------------------------------------------------------------------------- the evaluator


@pytest.fixture(scope="module")
def evaluator(digits):
    return ImageEvaluator(digits)


def test_evaluator_scores_held_out_digits_above_noise_and_copies_as_memorized(evaluator, digits):
    rng = torch.random.get_rng_state()
    real = evaluator(digits.test_images)
    assert torch.equal(torch.random.get_rng_state(), rng)  # the training loop's random stream is untouched
    assert evaluator.n_real == len(digits.train_images) and evaluator.n_fake == len(digits.test_images)
    assert set(real) == set(evaluator.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) for v in real.values())
    assert real["nn_memorization"] == pytest.approx(1.0)  # the test split is its own reference
    assert real["feature_net_acc"] >= 0.95 and real["inception_score"] > 8
    noise = evaluator(noisy(digits.test_images, 0.6))
    assert evaluator.n_fake == len(digits.test_images)
    for name in ("fid", "kid"):
        assert noise[name] > 5 * real[name]
    for name in ("density", "coverage", "inception_score", "parzen_ll"):
        assert noise[name] < real[name]
    assert evaluator(digits.train_images[:400])["nn_memorization"] < 1e-3
    assert evaluator(digits.test_images) == real  # deterministic


def test_evaluator_on_stacked_digits_counts_modes(feature_net_cache):
    stacked = DATASETS.get("stacked_digits")()
    ev = ImageEvaluator(stacked, max_real=2000)
    assert {"modes_covered", "reverse_kl"} <= set(ev.metric_names)
    real = ev(stacked.test_images[:1500])
    # 1,500 uniform triples cover ~1000 (1 - e^-1.5) = 777 modes; misread channels add a few
    assert 700 < real["modes_covered"] < 850
    collapsed = ev(stacked.test_images[:1].repeat(300, 1, 1, 1))
    assert collapsed["modes_covered"] == 1 and collapsed["reverse_kl"] == pytest.approx(math.log(1000))
    assert collapsed["fid"] > real["fid"] and collapsed["coverage"] < real["coverage"]


def test_evaluator_gives_nan_for_non_finite_samples(evaluator, digits):
    fake = digits.test_images.clone()
    fake[3, 0, 2, 2] = float("nan")
    out = evaluator(fake)
    assert math.isnan(out["fid"]) and math.isnan(out["parzen_ll"])
    assert out["feature_net_acc"] == evaluator.feature_net_acc
    assert evaluator.notes["fid"] == "the generated samples hold NaN or inf" and "feature_net_acc" not in evaluator.notes


def test_every_image_metric_is_defined_with_its_direction(evaluator):
    for name in evaluator.metric_names + ["cycle_error", "translation_error"]:
        assert METRICS.get(name).description
    higher = {"precision", "recall", "density", "coverage", "inception_score", "parzen_ll", "nn_memorization"}
    lower = {"fid", "kid", "cycle_error", "translation_error"}
    assert all(METRICS.get(n).higher_is_better is True for n in higher)
    assert all(METRICS.get(n).higher_is_better is False for n in lower)
    assert all(METRICS.get(n).higher_is_better is None for n in ("kid_std", "parzen_ll_se", "feature_net_acc"))
    assert all(METRICS.get(n).kind == "images" for n in higher | lower)


# --------------------------------------------------------------------------- metrics that cannot be computed


def small_set(test_from_train: bool) -> ImageDataset:
    """80 random 8x8 images (a feature net trains in milliseconds); its test split copies training images or not."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(80, 1, 8, 8, generator=g) * 2 - 1, torch.randint(0, 10, (80,), generator=g)
    test = (x[:16], y[:16]) if test_from_train else (x[64:], y[64:])
    return ImageDataset("small", x[:64], y[:64], *test, n_classes=10)


def test_memorization_is_nan_with_its_reason_when_the_test_images_occur_in_training(tmp_path):
    ev = ImageEvaluator(small_set(test_from_train=True), cache_dir=tmp_path)
    out = ev(torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1)
    assert math.isnan(out["nn_memorization"])  # no ZeroDivisionError
    assert ev.notes == {"nn_memorization": "test and training sets share images (16 of 16 test images occur in "
                                           "the training set: median nearest-neighbour distance 0)"}
    assert all(math.isfinite(v) for name, v in out.items() if name != "nn_memorization")
    clean = ImageEvaluator(small_set(test_from_train=False), cache_dir=tmp_path)
    assert math.isfinite(clean(torch.rand(40, 1, 8, 8) * 2 - 1)["nn_memorization"]) and clean.notes == {}


def test_a_metric_that_raises_is_nan_with_its_reason_and_the_others_are_computed(tmp_path, monkeypatch):
    ev = ImageEvaluator(small_set(test_from_train=False), cache_dir=tmp_path)

    def broken(logits):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(im, "inception_score", broken)
    out = ev(torch.rand(40, 1, 8, 8) * 2 - 1)
    assert math.isnan(out["inception_score"]) and math.isfinite(out["fid"]) and math.isfinite(out["nn_memorization"])
    assert ev.notes == {"inception_score": "ZeroDivisionError: float division by zero"}

    def out_of_memory(logits):
        raise MemoryError()

    monkeypatch.setattr(im, "inception_score", out_of_memory)
    with pytest.raises(MemoryError):  # not a metric's failure: the trial fails
        ev(torch.rand(40, 1, 8, 8) * 2 - 1)


def test_notes_name_each_metric_its_reason_and_the_steps():
    notes = MetricNotes()
    assert not notes and notes.text() == ""
    for step in (10, 20, 30, 40):
        notes.add(step, {"nn_memorization": "test and training sets share images"})
    notes.add(40, {"fid": "ValueError: x"})
    assert notes.text() == ("nn_memorization: test and training sets share images [steps 10, ..., 40 (4 evaluations)]; "
                            "fid: ValueError: x [step 40]")
