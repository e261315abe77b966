"""The authors' reverse KL (PacGAN MetricLogger: high-quality samples only); a perfect stacked-digits sampler."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from ganbench.metrics import metric
from ganbench.metrics.modes import EVAL_SAMPLES, ideal_sampler, mode_metrics
from ganbench.registry import DATASETS

RING = DATASETS.get("pacgan_ring")()  # 8 modes on the unit circle, std 0.01 (PacGAN's protocol)


def at_modes(counts: list[int]) -> torch.Tensor:
    """counts[i] samples exactly at mode i's centre (all high quality)."""
    return torch.cat([RING.centers[i].expand(c, 2) for i, c in enumerate(counts) if c])


def metric_logger_kl(samples: np.ndarray, means: np.ndarray, std: float, dis_thre: float = 3) -> float:
    """A port of fjxmlzn/PacGAN synthetic_data_experiments/PacGAN/pacgan/extensions.py, MetricLogger.do, with
    reverse KL = log(n_modes) - its 'entropy of coverage' (scipy.stats.entropy of the normalised histogram)."""
    detail_of_coverage = np.zeros(len(means))
    for x in samples:
        dis = np.sqrt((((x - means) ** 2) / std ** 2).sum(axis=1))
        if dis.min() < dis_thre:
            detail_of_coverage[dis.argmin()] += 1
    return math.log(len(means)) - stats.entropy(detail_of_coverage / detail_of_coverage.sum())


def test_registered_lower_is_better_in_nats_naming_its_source():
    m = metric("reverse_kl_hq")
    assert m.kind == "modes" and m.higher_is_better is False and m.unit == "nats"
    assert "fjxmlzn/PacGAN" in m.description and "MetricLogger" in m.description


def test_every_high_quality_sample_in_one_mode_of_eight_gives_log8():
    g = torch.Generator().manual_seed(0)
    collapsed = RING.centers[5] + 0.5 * RING.std * torch.randn(EVAL_SAMPLES, 2, generator=g)  # within 3 std: all HQ
    out = mode_metrics(collapsed, RING.centers, RING.std)
    assert out["high_quality_frac"] == 1.0 and out["modes_covered"] == 1
    assert out["reverse_kl_hq"] == pytest.approx(math.log(8), abs=1e-12)


def test_no_high_quality_sample_gives_the_stated_log_n_modes_not_nan():
    out = mode_metrics(torch.zeros(100, 2), RING.centers, RING.std)  # the ring's centre: 1 away (100 std) from all
    assert out["high_quality_frac"] == 0.0 and out["modes_covered"] == 0
    assert out["reverse_kl_hq"] == math.log(8)  # the authors' code: 0/0 -> NaN; stated here: the collapsed value


def test_high_quality_samples_spread_evenly_give_zero():
    out = mode_metrics(at_modes([7] * 8), RING.centers, RING.std)
    assert out["reverse_kl_hq"] == pytest.approx(0.0, abs=1e-12) and out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_a_far_sample_counts_in_reverse_kl_but_not_in_reverse_kl_hq():
    far = 1.5 * RING.centers[0].expand(20, 2)  # nearest mode 0, but 0.5 = 50 std away from it
    out = mode_metrics(torch.cat([at_modes([10] * 8), far]), RING.centers, RING.std)
    assert out["reverse_kl_hq"] == pytest.approx(0.0, abs=1e-12)  # 10 HQ samples in every mode
    # all 100 samples: mode 0 holds 30, the others 10 each
    assert out["reverse_kl"] == pytest.approx(0.3 * math.log(0.3 * 8) + 7 * 0.1 * math.log(0.1 * 8), abs=1e-12)
    assert out["high_quality_frac"] == 0.8 and out["modes_covered"] == 8


def test_agrees_with_a_port_of_the_authors_metric_logger_on_an_uneven_noisy_generator():
    g = torch.Generator().manual_seed(3)
    modes = torch.multinomial(torch.tensor([8.0, 4, 2, 1, 1, 0.5, 0.5, 0]), 2000, replacement=True, generator=g)
    samples = RING.centers[modes] + 2.0 * RING.std * torch.randn(2000, 2, generator=g)  # ~33% beyond 3 std
    out = mode_metrics(samples, RING.centers, RING.std)
    assert 0.2 < 1 - out["high_quality_frac"] < 0.5  # low-quality samples are there to be left out
    expected = metric_logger_kl(samples.double().numpy(), RING.centers.double().numpy(), RING.std)
    assert out["reverse_kl_hq"] == pytest.approx(expected, abs=1e-10)
    assert out["reverse_kl_hq"] != pytest.approx(out["reverse_kl"], abs=1e-4)


# --------------------------------------------------------------------------- a perfect stacked-digits sampler


def test_ideal_modes_are_the_closed_form_and_918_at_2500():
    modes, _ = ideal_sampler(2500, 1000)
    assert modes == pytest.approx(1000 * (1 - (1 - 1 / 1000) ** 2500), rel=1e-12)
    assert round(modes) == 918 and modes == pytest.approx(1000 * (1 - math.exp(-2.5)), abs=0.2)
    assert ideal_sampler(26000, 1000)[0] == pytest.approx(1000, abs=1e-6)


def test_one_sample_covers_one_mode_and_is_collapsed():
    assert ideal_sampler(1, 1000) == (pytest.approx(1.0), pytest.approx(math.log(1000)))
    assert ideal_sampler(7, 1) == (1.0, 0.0)  # one mode: always covered, always uniform


def test_ideal_kl_matches_the_large_n_expansion():
    # E KL(p^ || u) ~ (K - 1) / (2n) + O(1/n^2) for n >> K (chi-square / 2n)
    _, kl = ideal_sampler(200_000, 100)
    assert kl == pytest.approx(99 / 400_000, rel=0.01)


@pytest.mark.parametrize("n", [300, 2500])
def test_ideal_matches_a_seeded_monte_carlo_draw(n):
    k, reps = 1000, 2000
    counts = np.random.default_rng(n).multinomial(n, np.full(k, 1 / k), size=reps)
    covered = (counts > 0).sum(axis=1)
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(counts > 0, p * np.log(p * k), 0.0).sum(axis=1)
    modes, expected_kl = ideal_sampler(n, k)
    assert abs(covered.mean() - modes) < 4 * covered.std() / math.sqrt(reps)
    assert abs(kl.mean() - expected_kl) < 4 * kl.std() / math.sqrt(reps)


def test_leaderboard_puts_the_ideal_beside_the_stacked_modes_only():
    from ganbench.report.headline import headline_columns
    from ganbench.report.leaderboard import display_table, leaderboard
    from ganbench.suite import validate_suite

    suite = validate_suite({"name": "s", "seeds": [0, 1], "budget": {"steps": 10, "eval_every": 5},
                            "grid": {"model": ["dcgan"], "loss": ["hinge"], "dataset": ["stacked_digits", "ring8"]}})
    datasets = {"stacked_digits": {"primary_metric": "modes_covered", "protocol": "stacked", "n_modes": 1000},
                "ring8": {"primary_metric": "modes_covered", "protocol": "ring", "n_modes": 8, "std": 0.02,
                          "centers": [[2.0, 0.0]] * 8}}
    rows = []
    for dataset, n in (("stacked_digits", 2500), ("ring8", 2500)):
        for seed, modes in ((0, 800.0), (1, 810.0)):
            rows.append({"trial_id": f"{dataset}{seed}", "cell": dataset, "model": "dcgan", "loss": "hinge",
                         "dataset": dataset, "seed": seed, "status": "complete", "phase": "grid",
                         "params": json.dumps({"dataset": dataset, "eval_samples": n}),
                         "modes_covered": modes if dataset == "stacked_digits" else 7.0, "reverse_kl": 0.5})
    rows[1]["image_eval.n_fake"] = 26000  # the count the evaluator saw wins over the config's
    board, metrics = leaderboard(pd.DataFrame(rows), suite, datasets)
    stacked, ring = board[board["dataset"] == "stacked_digits"].iloc[0], board[board["dataset"] == "ring8"].iloc[0]
    at_2500, at_26000 = ideal_sampler(2500), ideal_sampler(26000)
    assert stacked["modes_ideal"] == pytest.approx((at_2500[0] + at_26000[0]) / 2)
    assert stacked["reverse_kl_ideal"] == pytest.approx((at_2500[1] + at_26000[1]) / 2)
    assert math.isnan(ring["modes_ideal"]) and math.isnan(ring["reverse_kl_ideal"])
    table, best = display_table(board, metrics, suite)
    columns = list(table.columns)
    assert columns[columns.index("modes_covered ↑") + 1] == "modes_ideal"
    assert columns[columns.index("reverse_kl ↓") + 1] == "reverse_kl_ideal"
    assert not best["modes_ideal"].any()  # a reference, never "the best"
    shown = headline_columns(table, metrics, suite, datasets)
    assert shown[shown.index("modes_covered ↑") + 1] == "modes_ideal"
