"""Plots from a real (tiny) results folder: which plots appear, that they are PNGs, what is skipped."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ganbench.report import plots
from ganbench.report.plots import short_labels, write_plots
from ganbench.results import ResultsStore, write_suite
from ganbench.suite import Suite, validate_suite
from ganbench.sweep.trial import run_trials

PARAMS = {"batch_size": 32, "hidden": 16, "eval_samples": 300, "device": "cpu"}


def make_suite(grid: dict, seeds=(0, 1), steps: int = 40) -> Suite:
    return validate_suite({"name": "p", "seeds": list(seeds), "budget": {"steps": steps, "eval_every": 20},
                           "grid": {"model": ["mlp"], **grid}, "params": PARAMS})


def run_folder(folder: Path, suite: Suite) -> Path:
    """The real training loop in-process (no Ray), written the way the sweep writes it."""
    store = ResultsStore(folder)
    for cfg in suite.trial_configs():
        [out] = run_trials([cfg], suite.axes())
        store.add({**out.row, "phase": "grid"}, out.curves, out.snapshots)
    write_suite(folder, suite.model_dump(mode="json"), {"suite_hash": suite.suite_hash()})
    return folder


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Path:
    suite = make_suite({"loss": ["minimax", "hinge"], "d_steps_per_g_step": [1, 2], "dataset": ["ring8"]})
    return run_folder(tmp_path_factory.mktemp("ring"), suite)


def names(paths: list[Path]) -> set[str]:
    return {p.name for p in paths}


def assert_pngs(paths: list[Path], folder: Path) -> None:
    for path in paths:
        assert path.parent == folder / "plots"
        assert path.read_bytes().startswith(b"\x89PNG"), path


def test_ring_suite_gets_every_plot_as_a_png(ring):
    paths = write_plots(ring)
    assert_pngs(paths, ring)
    curves = {f"curves_{m}.png" for m in ("modes_covered", "high_quality_frac", "reverse_kl", "reverse_kl_hq",
                                          "equilibrium_gap", "grad_norm_d", "grad_norm_g")}
    # k has 2 values -> k_effect and effects (its main effect); minimax is probabilistic -> equilibrium;
    # no Dirac data -> no dirac curve
    assert names(paths) == curves | {"effects.png", "equilibrium.png", "k_effect.png", "modes.png", "samples.png",
                                     "throughput.png"}
    assert sorted(p.name for p in (ring / "plots").iterdir()) == sorted(names(paths))  # no temp files left


def test_short_labels_drop_axes_with_one_value():
    suite = make_suite({"loss": ["minimax", "hinge"], "d_steps_per_g_step": [1, 2], "dataset": ["ring8"]})
    labels = short_labels(suite)
    assert labels["model=mlp loss=hinge d_steps_per_g_step=2 dataset=ring8"] == "loss=hinge k=2"
    assert len(set(labels.values())) == len(suite.cells())


def test_missing_samples_old_folder_and_search_rows_are_handled(ring, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "CURVE_METRICS", ("modes_covered",))  # the curves were checked above; saves time
    folder = Path(shutil.copytree(ring, tmp_path / "copy"))
    shutil.rmtree(folder / "samples")
    shutil.rmtree(folder / "plots", ignore_errors=True)
    trials = pd.read_parquet(folder / "trials.parquet").drop(columns=["phase"])  # folders from before phases
    # a search-phase trial of a cell with no seeded runs: it must not make that cell appear anywhere
    search = trials.iloc[[0]].assign(trial_id="search0", cell="model=mlp loss=nope", phase="search")
    pd.concat([trials, search]).to_parquet(folder / "trials.parquet", index=False)
    frames = plots.load_frames(folder)
    assert "search0" not in set(frames.seeded["trial_id"]) and len(frames.cells()) == 4
    paths = write_plots(folder)
    assert_pngs(paths, folder)
    assert "samples.png" not in names(paths)
    assert {"k_effect.png", "equilibrium.png", "modes.png", "throughput.png"} <= names(paths)


def test_single_k_and_1d_data(tmp_path):
    # one k value: no k_effect; hinge only: no equilibrium (V(D,G) is undefined for a critic)
    suite = make_suite({"loss": ["hinge"], "d_steps_per_g_step": [1], "dataset": ["gaussian1d"]}, seeds=(0,), steps=20)
    paths = write_plots(run_folder(tmp_path, suite))
    assert_pngs(paths, tmp_path)
    assert "k_effect.png" not in names(paths) and "equilibrium.png" not in names(paths)
    assert {"samples.png", "modes.png", "throughput.png", "curves_modes_covered.png"} <= names(paths)


def test_empty_folder_writes_nothing(tmp_path):
    suite = make_suite({"loss": ["hinge"], "dataset": ["ring8"]})
    write_suite(tmp_path, suite.model_dump(mode="json"), {})
    assert write_plots(tmp_path) == []
