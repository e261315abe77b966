"""compare: two results folders, per cell, with Welch and Mann-Whitney tests.

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

from ganbench.report.compare import COLUMNS, compare_runs, render, write_comparison
from ganbench.registry import UnknownNameError
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
    b = rows(HINGE, seeds=[0, 1, 2], rng=np.random.default_rng(2), reverse_kl=0.2)
    r = row(compare_runs(folder(tmp_path / "a", a), folder(tmp_path / "b", b)), HINGE, "reverse_kl")
    assert r["significant"]  # Welch can
    assert r["p_mannwhitney"] == pytest.approx(0.1) and "Mann-Whitney cannot reach p < 0.05" in r["note"]


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
