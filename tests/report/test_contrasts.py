"""compare DIR --by AXIS: contrasts of one axis's levels within a run, paired on the other axes and the seed.

The folder is planted (rows written by ResultsStore, values drawn from known distributions): k = 3 adds exactly
2 modes on every loss and seed, the loss does nothing, so the statistics and the bookkeeping are what is tested.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from scipy import stats

from ganbench.cli import main
from ganbench.report.compare import compare_runs, render
from ganbench.report.contrasts import (CONTRAST_COLUMNS, MAIN, PRIMARY, THROUGHPUT, contrasts, render_contrasts,
                                       write_contrasts)
from ganbench.results import ResultsStore, write_suite
from ganbench.suite import validate_suite

SEEDS = list(range(6))
K = "d_steps_per_g_step"


def raw(name: str = "planted", **grid) -> dict:
    return {"name": name, "seeds": SEEDS, "budget": {"steps": 10, "eval_every": 5},
            "grid": {"model": ["mlp"], "loss": ["minimax", "hinge"], K: [1, 3], "dataset": ["ring8"], **grid}}


def planted(folder: Path, suite_raw: dict, value, rng_seed: int = 0) -> Path:
    """One complete grid trial per (cell, seed); value(cell, seed, rng) -> the row's metrics."""
    suite = validate_suite(suite_raw)
    rng = np.random.default_rng(rng_seed)
    store = ResultsStore(folder)
    for cell in suite.cells():
        for seed in SEEDS:
            label = suite.cell_label(cell)
            store.add({"trial_id": f"{label}|{seed}", "cell": label, **cell, "seed": seed, "status": "complete",
                       "phase": "grid", **value(cell, seed, rng)}, [])
    write_suite(folder, suite.model_dump(mode="json"), {"suite_hash": suite.suite_hash(),
                                                        "started_at": "2026-01-01T00:00"})
    return folder


def k_matters(cell: dict, seed: int, rng: np.random.Generator) -> dict:
    """modes_covered: +2 at k = 3 on every loss and seed (over a per-seed base both levels share); the loss is
    pure noise everywhere; wall_s doubles at k = 3."""
    base = 4 + 0.5 * seed  # what a seed fixes: shared by every cell, removed by the pairing
    return {"modes_covered": base + 2 * (cell[K] == 3) + rng.normal(0, 0.3),
            "high_quality_frac": rng.normal(0.5, 0.05), "reverse_kl": rng.normal(0.3, 0.05),
            "wall_s": rng.normal(10, 0.5) * (2 if cell[K] == 3 else 1), "queue_s": rng.normal(0.1, 0.01)}


@pytest.fixture
def folder(tmp_path):
    return planted(tmp_path / "planted", raw(), k_matters)


def row(df: pd.DataFrame, metric: str, within: str = MAIN, a: str | None = None, b: str | None = None) -> pd.Series:
    hit = df[(df["metric"] == metric) & (df["within"] == within)]
    if a is not None:
        hit = hit[(hit["level_a"] == a) & (hit["level_b"] == b)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_planted_effect_is_found_after_holm_and_the_null_axis_is_not(folder):
    df = contrasts(folder, K)
    assert list(df.columns) == CONTRAST_COLUMNS
    primary = df[df["holm_family"] == PRIMARY]
    assert set(primary["metric"]) == {"modes_covered", "high_quality_frac", "reverse_kl"}  # the headline metrics
    assert set(primary["within"]) == {"loss=minimax", "loss=hinge", MAIN}
    assert df.attrs["n_tests"] == len(primary) == 9
    main = row(df, "modes_covered")
    assert main["n_pairs"] == 12 and main["significant"] and main["p_holm"] < 1e-6 and main["better"] == "3"
    assert main["diff"] == pytest.approx(2, abs=0.2) and main["diff_ci95_low"] < 2 < main["diff_ci95_high"]
    assert main["diff_ci95_low"] > 0
    for loss in ("minimax", "hinge"):
        assert row(df, "modes_covered", f"loss={loss}")["significant"]
        assert row(df, "modes_covered", f"loss={loss}")["n_pairs"] == 6
    assert not primary[primary["metric"] != "modes_covered"]["significant"].any()  # noise stays quiet
    # the main effect's test is the paired t over (loss, seed) pairs
    trials = pd.read_parquet(folder / "trials.parquet").sort_values(["loss", "seed"])
    x = trials[trials[K] == 1]["modes_covered"].to_numpy()
    y = trials[trials[K] == 3]["modes_covered"].to_numpy()
    assert main["p_paired_t"] == pytest.approx(stats.ttest_rel(y, x).pvalue, rel=1e-9)
    assert main["p_wilcoxon"] == pytest.approx(stats.wilcoxon(y - x).pvalue)

    by_loss = contrasts(folder, "loss")
    assert set(by_loss["within"]) == {f"{K}=1", f"{K}=3", MAIN}
    assert by_loss.attrs["n_tests"] == 9 and not by_loss[by_loss["holm_family"] == PRIMARY]["significant"].any()
    assert row(by_loss, "modes_covered")["diff"] == pytest.approx(0, abs=0.3)


def test_holm_is_over_the_whole_comparison(folder):
    df = contrasts(folder, K)
    from ganbench.report.stats import holm

    primary = df[df["holm_family"] == PRIMARY]
    assert primary["p_holm"].to_numpy() == pytest.approx(holm(primary["p_paired_t"]))
    assert (df["p_holm"] >= df["p_paired_t"]).all()


def test_throughput_is_reported_apart_unless_asked(folder):
    df = contrasts(folder, K)
    speed = df[df["metric"] == "wall_s"]
    assert list(speed["within"]) == [MAIN] and (speed["holm_family"] == THROUGHPUT).all()
    assert speed.iloc[0]["significant"] and speed.iloc[0]["better"] == "1"  # corrected among the throughput tests
    assert df.attrs["n_throughput"] == 2  # wall_s and queue_s, not in the 9
    both = contrasts(folder, K, include_throughput=True)
    assert both.attrs["n_tests"] == 15 and (both["holm_family"] == PRIMARY).all()
    assert set(both[both["metric"] == "wall_s"]["within"]) == {"loss=minimax", "loss=hinge", MAIN}
    named = contrasts(folder, K, metrics=["wall_s", "modes_covered"])
    assert named.attrs["n_tests"] == 6 and set(named["metric"]) == {"wall_s", "modes_covered"}


def test_two_folder_compare_corrects_throughput_apart(tmp_path):
    a = planted(tmp_path / "a", raw(), k_matters, rng_seed=1)
    b = planted(tmp_path / "b", raw(), k_matters, rng_seed=2)
    df = compare_runs(a, b)
    assert set(df[df["holm_family"] == THROUGHPUT]["metric"]) == {"wall_s", "queue_s"}
    assert df.attrs["n_tests"] == 3 * 4 and df.attrs["n_throughput"] == 2 * 4
    assert "throughput metrics apart, over 8" in str(render(df).caption)
    assert compare_runs(a, b, include_throughput=True).attrs["n_tests"] == 5 * 4


def test_levels_missing_a_partner_are_noted_not_paired(tmp_path):
    def sparse(cell, seed, rng):
        out = k_matters(cell, seed, rng)
        if cell["loss"] == "hinge" and cell[K] == 3 and seed >= 4:
            out["modes_covered"] = math.nan  # two seeds without a value at B
        return out

    df = contrasts(planted(tmp_path / "s", raw(), sparse), K, metrics=["modes_covered"])
    hinge = row(df, "modes_covered", "loss=hinge")
    assert hinge["n_pairs"] == 4 and "2 value(s) without a partner seed left out" in hinge["note"]
    assert row(df, "modes_covered")["n_pairs"] == 10


def test_written_files(folder, tmp_path):
    paths = write_contrasts(contrasts(folder, K), tmp_path / "out")
    assert [p.name for p in paths] == [f"compare-by-{K}.csv", f"compare-by-{K}.md"]
    back = pd.read_csv(paths[0])
    assert list(back.columns) == CONTRAST_COLUMNS
    md = paths[1].read_text()
    assert "3 vs 1" in md and "modes_covered ↑" in md and "Holm-Bonferroni over 9 tests" in md
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_cli_compare_by(folder, capsys):
    assert main(["compare", str(folder), "--by", K]) == 0
    out = capsys.readouterr().out
    assert f"{K}: B = 3 vs A = 1" in out and "main effect" in out and "Holm-Bonferroni over 9 tests" in out
    assert (folder / f"compare-by-{K}.csv").is_file() and (folder / f"compare-by-{K}.md").is_file()


@pytest.mark.parametrize("args, message", [
    (["--by", "dataset"], "ran one level of it"),
    (["--by", "lr_q"], "not an axis"),
    ([], "give two folders"),
])
def test_cli_compare_by_refusals_exit_2(folder, capsys, args, message):
    assert main(["compare", str(folder), *args]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err and "Traceback" not in err


def test_two_folders_without_a_common_cell_exit_2_naming_what_differs(tmp_path, capsys):
    a = planted(tmp_path / "a", {**raw("a"), "grid": {**raw()["grid"], "loss": ["minimax"]}}, k_matters)
    b = planted(tmp_path / "b", {**raw("b"), "grid": {**raw()["grid"], "loss": ["hinge"]}}, k_matters)
    assert main(["compare", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "no cell in common" in err and "Holm" not in err
    assert f"loss: minimax in {a} vs hinge in {b}" in err and "--by AXIS" in err
    assert not list(b.glob("compare-*"))


def test_terminal_tables_keep_every_label_whole_at_80_columns(tmp_path):
    grid = {"loss": ["nonsaturating", "minimax"], "lr_d": [0.0001, 0.0002]}
    folder = planted(tmp_path / "wide", {**raw("wide"), "grid": {**raw()["grid"], **grid}}, k_matters)
    df = contrasts(folder, K)
    console = Console(width=80, record=True)
    console.print(render_contrasts(df))
    text = console.export_text()
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in text
    for stratum in ("nonsaturating 0.0001", "minimax 0.0002"):  # long: shown by id, whole in the legend
        assert any(line.startswith("w") and line.endswith(f" = {stratum}") for line in lines), stratum
    for metric in ("modes_covered ↑", "high_quality_frac ↑", "reverse_kl ↓"):
        assert metric in text

    two = compare_runs(folder, planted(tmp_path / "wide2", {**raw("wide"), "grid": {**raw()["grid"], **grid}},
                                       k_matters, rng_seed=5))
    console = Console(width=80, record=True)
    console.print(render(two))
    text = console.export_text()
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    for cell in dict.fromkeys(two["cell"]):
        short = " ".join(p for p in cell.split() if p not in ("model=mlp", "dataset=ring8"))
        assert any(line.rstrip().endswith(f" = {short}") for line in text.splitlines()), short
    assert "high_quality_frac ↑" in text


def test_leaderboard_gains_the_effects_table_and_plot(folder):
    from ganbench.report import write_report

    write_report(folder)
    effects = pd.read_csv(folder / "effects.csv")
    assert set(effects["axis"]) == {"loss", K} and (effects["within"] == MAIN).all()
    k = effects[(effects["axis"] == K) & (effects["metric"] == "modes_covered")].iloc[0]
    assert k["significant"] and k["diff"] == pytest.approx(2, abs=0.2)
    assert not effects[effects["axis"] == "loss"]["significant"].any()
    board = (folder / "leaderboard.md").read_text()
    assert "## Effects" in board and (folder / "effects.md").read_text() in board
    assert (folder / "plots" / "effects.png").stat().st_size > 1000
    assert "Main effect of each axis" in (folder / "leaderboard.html").read_text()
