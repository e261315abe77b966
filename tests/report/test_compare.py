"""compare: two results folders, per cell: paired t / Wilcoxon on shared seeds, else Welch / Mann-Whitney; Holm.

The trials are synthetic (values drawn from known distributions): what is tested is the
statistics and the bookkeeping, not training.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.table import Table
from scipy import stats

from ganbench.report.compare import COLUMNS, INCONCLUSIVE, PAIRED, UNPAIRED, compare_runs, render, write_comparison
from ganbench.report.stats import holm
from ganbench.registry import METRICS, UnknownNameError
from ganbench.suite import SuiteError, validate_suite

SEEDS = list(range(6))
RAW = {
    "name": "cmp",
    "seeds": SEEDS,
    "budget": {"steps": 10, "eval_every": 5},
    "grid": {"model": ["mlp"], "loss": ["hinge", "minimax"], "dataset": ["ring8"]},
}
SUITE = validate_suite(RAW)
HINGE, MINIMAX = (SUITE.cell_label(c) for c in SUITE.cells())


def rows(cell: str, seeds=SEEDS, rng=None, **means: float) -> list[dict]:
    """Complete grid trials of one cell, each metric ~ N(mean, 0.02) over seeds."""
    rng = rng or np.random.default_rng(0)
    return [{"cell": cell, "seed": s, "status": "complete", **{m: rng.normal(mu, 0.02) for m, mu in means.items()}}
            for s in seeds]


def folder(path: Path, trial_rows: list[dict]) -> Path:
    path.mkdir(parents=True)
    (path / "suite.yaml").write_text(yaml.safe_dump(RAW, sort_keys=False))
    pd.DataFrame(trial_rows).to_parquet(path / "trials.parquet", index=False)
    return path


def row(df: pd.DataFrame, cell: str, metric: str) -> pd.Series:
    hit = df[(df["cell"] == cell) & (df["metric"] == metric)]
    assert len(hit) == 1
    return hit.iloc[0]


@pytest.fixture
def planted(tmp_path):
    """B beats A on both metrics in the hinge cell (frac higher, KL lower); minimax unchanged."""
    a = rows(HINGE, rng=np.random.default_rng(1), high_quality_frac=0.2, reverse_kl=0.8)
    a += rows(MINIMAX, rng=np.random.default_rng(2), high_quality_frac=0.5, reverse_kl=0.5)
    b = rows(HINGE, rng=np.random.default_rng(3), high_quality_frac=0.8, reverse_kl=0.2)
    b += rows(MINIMAX, rng=np.random.default_rng(2), high_quality_frac=0.5, reverse_kl=0.5)
    return folder(tmp_path / "a", a), folder(tmp_path / "b", b), a, b


def test_planted_difference_is_significant_and_better_follows_direction(planted):
    dir_a, dir_b, _, _ = planted
    df = compare_runs(dir_a, dir_b)
    assert list(df.columns) == COLUMNS
    assert set(df["metric"]) == {"high_quality_frac", "reverse_kl"}  # default: directed metrics present in both
    frac, kl = row(df, HINGE, "high_quality_frac"), row(df, HINGE, "reverse_kl")
    for r in (frac, kl):
        assert r["significant"] and r["p_welch"] < 1e-6 and r["n_a"] == r["n_b"] == 6
        assert r["p_mannwhitney"] == pytest.approx(2 / math.comb(12, 6))  # complete separation, exact test
        assert r["note"] == ""
    assert frac["better"] == "B" and frac["diff"] == pytest.approx(0.6, abs=0.05)
    assert kl["better"] == "B" and kl["diff"] < 0  # reverse_kl: lower is better
    assert kl["rel_diff"] == pytest.approx(kl["diff"] / abs(kl["mean_a"]))
    # same draws in both folders for minimax: no difference
    same = row(df, MINIMAX, "reverse_kl")
    assert not same["significant"] and same["better"] == "" and same["p_welch"] == pytest.approx(1.0)
    # swapping the folders swaps the winner
    assert row(compare_runs(dir_b, dir_a), HINGE, "reverse_kl")["better"] == "A"


def test_welch_p_matches_scipy(planted):
    dir_a, dir_b, a, b = planted
    x = [r["high_quality_frac"] for r in a if r["cell"] == HINGE]
    y = [r["high_quality_frac"] for r in b if r["cell"] == HINGE]
    r = row(compare_runs(dir_a, dir_b, metrics=["high_quality_frac"]), HINGE, "high_quality_frac")
    assert r["p_welch"] == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue, rel=1e-12)
    assert r["p_mannwhitney"] == pytest.approx(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    assert r["mean_a"] == pytest.approx(np.mean(x)) and r["mean_b"] == pytest.approx(np.mean(y))


def test_identical_folders_are_not_significant(planted):
    dir_a, _, _, _ = planted
    df = compare_runs(dir_a, dir_a)
    assert not df["significant"].any() and (df["better"] == "").all()
    assert (df["p_welch"] == 1.0).all() and (df["diff"] == 0).all()


def test_constant_samples(tmp_path):
    a = [{"cell": HINGE, "seed": s, "status": "complete", "steps_per_s": 100.0, "wall_s": 5.0} for s in SEEDS]
    b = [{**r, "steps_per_s": 120.0} for r in a]
    df = compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b))
    faster, same = row(df, HINGE, "steps_per_s"), row(df, HINGE, "wall_s")
    assert faster["significant"] and faster["p_welch"] == 0.0 and faster["better"] == "B"
    assert not same["significant"] and same["p_welch"] == 1.0 and same["p_mannwhitney"] == 1.0


def test_search_and_unfinished_rows_are_excluded(planted, tmp_path):
    dir_a, _, _, b = planted
    noise = {"cell": HINGE, "seed": 0, "high_quality_frac": 99.0, "reverse_kl": 99.0}
    extra = [{**noise, "status": s, "phase": "grid"} for s in ("diverged", "pruned", "failed")]
    extra.append({**noise, "status": "complete", "phase": "search"})
    b_rows = [{**r, "phase": p} for r, p in zip(b, ["confirm", None] * len(b))] + extra  # None: an old grid row
    df = compare_runs(dir_a, folder(tmp_path / "b2", b_rows))
    r = row(df, HINGE, "reverse_kl")
    assert r["n_b"] == 6 and r["mean_b"] == pytest.approx(np.mean([x["reverse_kl"] for x in b[:6]]))


def test_cell_only_in_one_folder_is_listed_with_note(tmp_path):
    a = rows(HINGE, reverse_kl=0.5)
    b = rows(HINGE, reverse_kl=0.5) + rows(MINIMAX, reverse_kl=0.3)
    df = compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b))
    assert list(df["cell"]) == [HINGE, MINIMAX]  # grid order
    only = row(df, MINIMAX, "reverse_kl")
    assert only["note"] == "only in B" and only["n_a"] == 0 and only["n_b"] == 6
    assert math.isnan(only["p_welch"]) and math.isnan(only["diff"]) and not only["significant"]
    flipped = row(compare_runs(tmp_path / "b", tmp_path / "a"), MINIMAX, "reverse_kl")
    assert flipped["note"] == "only in A"


def test_three_seeds_note_mann_whitney_floor(tmp_path):
    a = rows(HINGE, seeds=[0, 1, 2], rng=np.random.default_rng(1), reverse_kl=0.8)
    b = rows(HINGE, seeds=[3, 4, 5], rng=np.random.default_rng(2), reverse_kl=0.2)  # no seed in common: Welch
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["significant"] and r["test"] == UNPAIRED  # Welch can
    assert r["p_mannwhitney"] == pytest.approx(0.1) and "Mann-Whitney cannot reach p < 0.05" in r["note"]


def test_three_pairs_note_wilcoxon_floor(tmp_path):
    a = rows(HINGE, seeds=[0, 1, 2], rng=np.random.default_rng(1), reverse_kl=0.8)
    b = rows(HINGE, seeds=[0, 1, 2], rng=np.random.default_rng(2), reverse_kl=0.2)
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["significant"] and r["test"] == PAIRED.format(3)  # the paired t can
    assert r["p_wilcoxon"] == pytest.approx(0.25) and "Wilcoxon cannot reach p < 0.05 with 3 pairs" in r["note"]


def test_explicit_metrics_and_unknown_name(planted):
    dir_a, dir_b, _, _ = planted
    df = compare_runs(dir_a, dir_b, metrics=["reverse_kl", "wall_s"])
    assert list(df["metric"]) == ["reverse_kl", "wall_s"] * 2
    assert "A: wall_s not recorded" in row(df, HINGE, "wall_s")["note"]
    with pytest.raises(UnknownNameError, match="reverse_kl"):
        compare_runs(dir_a, dir_b, metrics=["reverse_k"])


def test_missing_folder_or_files_raise_suite_error(planted, tmp_path):
    dir_a, _, _, _ = planted
    gone = tmp_path / "nope"
    with pytest.raises(SuiteError, match=str(gone)):
        compare_runs(dir_a, gone)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "suite.yaml").write_text(yaml.safe_dump(RAW))
    with pytest.raises(SuiteError, match=f"{tmp_path / 'half'}.*trials.parquet"):
        compare_runs(tmp_path / "half", dir_a)


def test_render_and_write(planted, tmp_path):
    dir_a, dir_b, _, _ = planted
    df = compare_runs(dir_a, dir_b)
    table = render(df)
    assert isinstance(table, Table) and table.row_count == len(df)
    paths = write_comparison(df, tmp_path / "out", "a_vs_b")
    assert [p.name for p in paths] == ["a_vs_b.csv", "a_vs_b.md"]
    back = pd.read_csv(paths[0])
    assert list(back.columns) == COLUMNS and len(back) == len(df)
    md = paths[1].read_text()
    assert str(dir_a) in md and "reverse_kl ↓" in md and "✓" in md
    assert not list((tmp_path / "out").glob(".*.tmp"))  # no temp files left behind


def noisy_rows(cell: str, rng: np.random.Generator, sd: float, seeds=SEEDS, **means: float) -> list[dict]:
    """Like ``rows``, with the spread chosen."""
    return [{"cell": cell, "seed": s, "status": "complete", **{m: rng.normal(mu, sd) for m, mu in means.items()}}
            for s in seeds]


#: ten metrics with a direction: with two cells, a comparison makes 20 tests
DIRECTED = [n for n in METRICS.in_order() if METRICS.get(n).higher_is_better is not None][:10]


def test_planted_effect_is_found_after_holm_among_null_tests(tmp_path):
    """0.2 vs 0.8 (sd 0.1) over 6 paired seeds, in a family of 20 tests whose 19 others are null."""
    rng = np.random.default_rng(7)
    nulls = {m: 0.5 for m in DIRECTED[1:]}
    a = noisy_rows(HINGE, rng, 0.1, **{DIRECTED[0]: 0.2}, **nulls) + noisy_rows(MINIMAX, rng, 0.1, **nulls,
                                                                                 **{DIRECTED[0]: 0.5})
    b = noisy_rows(HINGE, rng, 0.1, **{DIRECTED[0]: 0.8}, **nulls) + noisy_rows(MINIMAX, rng, 0.1, **nulls,
                                                                                 **{DIRECTED[0]: 0.5})
    df = compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b), metrics=DIRECTED)
    assert df.attrs["n_tests"] == 20 and "Holm-Bonferroni over 20 tests" in render(df).caption
    planted = row(df, HINGE, DIRECTED[0])
    assert planted["test"] == PAIRED.format(6) and planted["n_pairs"] == 6
    assert planted["significant"] and planted["p_holm"] < 0.05
    assert planted["diff_ci95_low"] > 0 and planted["diff_ci95_low"] < planted["diff"] < planted["diff_ci95_high"]
    x = [r[DIRECTED[0]] for r in a if r["cell"] == HINGE]
    y = [r[DIRECTED[0]] for r in b if r["cell"] == HINGE]
    assert planted["p_paired_t"] == pytest.approx(stats.ttest_rel(y, x).pvalue, rel=1e-12)
    assert planted["p_value"] == planted["p_paired_t"]
    assert df["p_holm"].to_numpy() == pytest.approx(holm(df["p_value"]), nan_ok=True)
    assert df["significant"].sum() == 1  # the 19 null tests stay quiet


def test_holm_holds_the_family_wise_error_over_20_null_tests():
    """20 repetitions of a compare of two folders drawn from one distribution (20 tests each, 6 paired seeds):
    after Holm at most one repetition has any ✓; uncorrected, most would."""
    import tempfile

    with_false_positive = uncorrected = 0
    for rep in range(20):
        rng = np.random.default_rng(1000 + rep)
        means = {m: 0.5 for m in DIRECTED}
        draw = [noisy_rows(cell, rng, 0.1, **means) for cell in (HINGE, MINIMAX) for _ in "ab"]
        with tempfile.TemporaryDirectory() as tmp:
            dir_a = folder(Path(tmp) / "a", draw[0] + draw[2])
            dir_b = folder(Path(tmp) / "b", draw[1] + draw[3])
            df = compare_runs(dir_a, dir_b, metrics=DIRECTED)
        assert df.attrs["n_tests"] == 20 and (df["test"] == PAIRED.format(6)).all()
        with_false_positive += bool(df["significant"].any())
        uncorrected += bool((df["p_value"] < 0.05).any())
    assert with_false_positive <= 1
    assert uncorrected >= 10  # 1 - 0.95^20 = 64% of repetitions without the correction


def test_pairs_are_matched_by_seed_value_not_row_order(tmp_path):
    a = rows(HINGE, seeds=[0, 1, 2, 3, 4, 5], rng=np.random.default_rng(1), reverse_kl=0.5)
    b = rows(HINGE, seeds=[5, 4, 3, 2, 1, 0], rng=np.random.default_rng(2), reverse_kl=0.6)
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["test"] == PAIRED.format(6) and r["n_pairs"] == 6 and r["n_a"] == r["n_b"] == 6
    x = [v["reverse_kl"] for v in a]
    y = [v["reverse_kl"] for v in sorted(b, key=lambda v: v["seed"])]
    assert r["p_paired_t"] == pytest.approx(stats.ttest_rel(y, x).pvalue, rel=1e-12)
    assert r["p_wilcoxon"] == pytest.approx(stats.wilcoxon(y, x).pvalue)


def test_partly_shared_seeds_are_not_paired(tmp_path):
    """Pairing 3 of 6 values would test another sample than the means shown: Welch on all of them."""
    a = rows(HINGE, seeds=[0, 1, 2, 3, 4, 5], rng=np.random.default_rng(1), reverse_kl=0.5)
    b = rows(HINGE, seeds=[3, 4, 5, 6, 7, 8], rng=np.random.default_rng(2), reverse_kl=0.6)
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["test"] == UNPAIRED and r["n_a"] == r["n_b"] == 6
    assert "not paired: the seeds differ (6 in A, 6 in B, 3 in both)" in r["note"]
    x, y = [v["reverse_kl"] for v in a], [v["reverse_kl"] for v in b]
    assert r["p_value"] == pytest.approx(stats.ttest_ind(y, x, equal_var=False).pvalue, rel=1e-12)


def test_no_common_seed_falls_back_to_welch(tmp_path):
    a = rows(HINGE, seeds=[0, 1, 2, 3], rng=np.random.default_rng(1), reverse_kl=0.5)
    b = rows(HINGE, seeds=[10, 11, 12, 13], rng=np.random.default_rng(2), reverse_kl=0.7)
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["test"] == UNPAIRED and r["n_pairs"] == 0
    assert r["p_value"] == r["p_welch"] and math.isnan(r["p_paired_t"]) and math.isnan(r["p_wilcoxon"])
    assert r["diff_ci95_low"] < r["diff"] < r["diff_ci95_high"]


def test_a_small_difference_inside_the_spread_is_inconclusive(tmp_path):
    a = [{"cell": HINGE, "seed": s, "status": "complete", "reverse_kl": v} for s, v in enumerate([0.4, 0.5, 0.6])]
    b = [{**r, "reverse_kl": v} for r, v in zip(a, [0.6, 0.4, 0.58])]  # B - A = +0.027, seed-to-seed sd ~0.1
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert not r["significant"] and r["flag"] == INCONCLUSIVE
    assert r["n_seeds_for_80pct_power"] > 3  # more seeds than were run would be needed


def test_new_columns_keep_the_old_ones_in_order():
    old = ["cell", "metric", "n_a", "n_b", "mean_a", "mean_b", "diff", "rel_diff",
           "p_welch", "p_mannwhitney", "significant", "better", "note"]
    assert [c for c in COLUMNS if c in old] == old


def test_terminal_table_fits_120_columns_with_notes_as_footnotes(tmp_path):
    from rich.console import Console

    a = rows(HINGE, seeds=[0, 1, 2], reverse_kl=0.5, high_quality_frac=0.4)
    b = rows(HINGE, seeds=[3, 4, 5], reverse_kl=0.5, high_quality_frac=0.4) + rows(MINIMAX, reverse_kl=0.3)
    df = compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b))
    console = Console(width=120, record=True)
    console.print(render(df))
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 120
    # two distinct notes (the Mann-Whitney floor twice, "only in B" twice), each printed once, by number
    assert sum("[1] Mann-Whitney cannot reach" in line for line in lines) == 1
    assert sum("[2] only in B" in line for line in lines) == 1
