"""A list of grids (sklearn ParameterGrid): cells concatenated, every cell with every axis, errors at grid[i]."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ganbench.cli import main
from ganbench.report.plots import short_labels
from ganbench.suite import load_suite, suite_datasets, validate_suite
from ganbench.sweep.plan import GridPlan
from tests.suite.test_suite import error

ROOT = Path(__file__).resolve().parents[2]

#: Mescheder et al. 2018's Dirac-GAN table in miniature: heterogeneous cells, each under both update rules
DIRAC = {
    "name": "dirac-methods",
    "seeds": [0],
    "budget": {"steps": 50, "eval_every": 25},
    "grid": [
        {"loss": ["minimax", "nonsaturating", "wgan", "wgan-gp"], "updates": ["alternating", "simultaneous"]},
        {"loss": ["minimax"], "instance_noise": [0.7], "updates": ["alternating", "simultaneous"]},
        {"loss": ["minimax"], "r1": [0.3], "updates": ["alternating", "simultaneous"]},
    ],
    "params": {"model": "dirac", "dataset": "dirac", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1,
               "batch_size": 8, "z_dim": 1, "eval_samples": 8},
}

#: suite_hash of every shipped suite before grid could be a list: a mapping grid keeps its hash
SHIPPED_HASHES = {
    "cyclegan-digits.yaml": "db46ce76b0246612", "digits-dcgan.yaml": "92e6b7e787a83e42",
    "dirac.yaml": "c5cde57573433d15", "grid-losses.yaml": "acccde0388d04307", "quick.yaml": "75d5ee072ff237df",
    "ring-losses.yaml": "a0ad121362f0c532", "search-ring.yaml": "16e9562a45d1cb52",
    "stacked-digits-modes.yaml": "94ad1dabf8f0a86b", "variants-ring.yaml": "8122e2043d003135",
}


def suite_with(grid=None, **changes) -> dict:
    raw = yaml.safe_load(yaml.safe_dump(DIRAC))  # deep copy
    if grid is not None:
        raw["grid"] = grid
    raw.update(changes)
    return raw


def test_a_list_of_grids_concatenates_each_product_and_fills_the_axes_a_mapping_leaves_out():
    suite = validate_suite(DIRAC)
    assert suite.axes() == ["loss", "updates", "instance_noise", "r1"]
    cells = suite.cells()
    assert len(cells) == 8 + 2 + 2 and len(suite.trial_configs()) == 12
    assert cells[0] == {"loss": "minimax", "updates": "alternating", "instance_noise": 0.0, "r1": 0.0}
    assert cells[7] == {"loss": "wgan-gp", "updates": "simultaneous", "instance_noise": 0.0, "r1": 0.0}
    assert cells[9] == {"loss": "minimax", "updates": "simultaneous", "instance_noise": 0.7, "r1": 0.0}
    assert cells[10] == {"loss": "minimax", "updates": "alternating", "instance_noise": 0.0, "r1": 0.3}
    assert suite.cell_label(cells[11]) == "loss=minimax updates=simultaneous instance_noise=0.0 r1=0.3"
    # each filled value is the one the trial gets: cells and configs agree on every axis
    for cell in cells:
        cfg = suite.config(cell, 0)
        assert all(getattr(cfg, axis) == value for axis, value in cell.items())
    assert len({cfg.config_hash() for cfg in suite.trial_configs()}) == 12


def test_grids_and_axis_values_read_a_mapping_and_a_list_alike():
    suite = validate_suite(DIRAC)
    assert suite.grids() == DIRAC["grid"]
    assert suite.axis_values("loss") == ["minimax", "nonsaturating", "wgan", "wgan-gp"]
    assert suite.axis_values("updates") == ["alternating", "simultaneous"]
    assert suite.axis_values("r1") == [0.0, 0.3] and suite.axis_values("instance_noise") == [0.0, 0.7]
    assert suite.axis_values("model") == [] and suite_datasets(suite) == ["dirac"]  # params, not an axis
    mapping = load_suite(ROOT / "suites/ring-losses.yaml")
    assert mapping.grids() == [mapping.grid]
    assert all(mapping.axis_values(a) == mapping.grid[a] for a in mapping.axes())
    # a filled-in value most cells share (r1=0.0, instance_noise=0.0) says nothing; an even split (updates) does
    labels = short_labels(suite)
    assert labels[suite.cell_label(suite.cells()[10])] == "loss=minimax updates=alternating r1=0.3"
    assert labels[suite.cell_label(suite.cells()[0])] == "loss=minimax updates=alternating"


def test_a_filled_axis_takes_the_value_of_the_cells_preset():
    suite = validate_suite(suite_with(grid=[{"loss": ["rpgan"], "variant": ["r3gan"]},
                                            {"loss": ["minimax"], "r2": [0.3]}],
                                      params={"model": "mlp", "dataset": "ring8"}))
    assert suite.cells() == [{"loss": "rpgan", "variant": "r3gan", "r2": 10.0},  # r3gan sets r2 = 10
                             {"loss": "minimax", "variant": None, "r2": 0.3}]
    assert [cfg.r2 for cfg in suite.trial_configs()] == [10.0, 0.3]


@pytest.mark.parametrize("path", sorted((ROOT / "suites").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_mapping_suite_keeps_its_hash_and_plans_as_the_same_grid_in_a_list(path):
    suite = load_suite(path)
    assert suite.suite_hash() == SHIPPED_HASHES[path.name]
    raw = yaml.safe_load(path.read_text())
    as_list = validate_suite({**raw, "grid": [raw["grid"]]})
    assert as_list.cells() == suite.cells() and as_list.axes() == suite.axes()
    assert [c.config_hash() for c in as_list.trial_configs()] == [c.config_hash() for c in suite.trial_configs()]
    assert as_list.suite_hash() != suite.suite_hash()  # a list is another suite text


def test_a_cell_given_twice_across_grids_is_refused_naming_both():
    msg = error(suite_with(grid=[{"loss": ["minimax", "hinge"]}, {"loss": ["wgan"], "r1": [0.3]},
                                 {"loss": ["hinge"], "r1": [0.0]}]))  # grid[0]'s hinge cell has r1 0.0 filled in
    assert "grid[2]: cell loss=hinge r1=0.0 is also a cell of grid[0]; give each cell once" in msg
    msg = error(suite_with(grid=[{"loss": ["hinge"], "lr_g": [0.001]}, {"loss": ["hinge"], "lr_g": ["1e-3"]}],
                           params={"model": "dirac", "dataset": "dirac"}))
    assert "grid[0] and grid[1]: cells loss=hinge lr_g=0.001 and loss=hinge lr_g=1e-3 make the same trial" in msg


def test_errors_point_into_the_grid_that_holds_them():
    msg = error(suite_with(grid=[{"loss": ["minimax"]}, {"loss": ["hinge"], "lossy": [1]}]))
    assert "grid[1].lossy: unknown key; valid keys: " in msg and "did you mean 'loss'" in msg and "r1" in msg
    assert "grid[1].r1[0]: Input should be greater than or equal to 0" in error(
        suite_with(grid=[{"loss": ["minimax"]}, {"loss": ["hinge"], "r1": [-1.0]}]))
    assert "grid[1].loss[1]: 'hinge' repeats grid[1].loss[0]" in error(
        suite_with(grid=[{"loss": ["minimax"]}, {"loss": ["hinge", "hinge"]}]))
    assert "grid[1].dataset: required key is missing (set it in every mapping of grid, or in params)" in error(
        suite_with(grid=[{"loss": ["minimax"], "dataset": ["dirac"]}, {"loss": ["hinge"]}],
                   params={"model": "dirac"}))
    assert "params.r1: also set in grid[2].r1; keep one" in error(suite_with(params={**DIRAC["params"], "r1": 1.0}))
    # a mapping grid keeps its messages
    assert "grid.r1[0]: Input should be greater than or equal to 0" in error(
        suite_with(grid={"loss": ["minimax"], "r1": [-1.0]}))


@pytest.mark.parametrize("grid, expected", [
    ([], "grid: empty; give at least one entry"),
    ({}, "grid: empty; give at least one entry"),
    ([{"loss": ["minimax"]}, {}], "grid[1]: empty; give at least one entry"),
    ([{"loss": ["minimax"]}, 5], "grid[1]: must be a mapping of axis -> list of values, got 5"),
    ("minimax", "grid: must be a mapping of axis -> list of values (or a list of such mappings), got 'minimax'"),
    ([{"loss": "minimax"}], "grid[0].loss: Input should be a valid list"),
    ([{"loss": []}], "grid[0].loss: empty list; give at least one value"),
])
def test_a_badly_shaped_grid_is_one_message_naming_the_key(grid, expected, tmp_path, capsys):
    assert expected in error(suite_with(grid=grid))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(suite_with(grid=grid)))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 1 and expected in " ".join(err.split())


def test_the_size_cap_counts_the_cells_of_every_grid():
    big = {"loss": ["minimax"], "lr_g": [(i + 1) / 1e4 for i in range(100)], "lr_d": [(i + 1) / 1e4 for i in range(60)]}
    validate_suite(suite_with(grid=[big], params={"model": "dirac", "dataset": "dirac"}))  # 6,000 cells: fine
    msg = error(suite_with(grid=[big, {**big, "loss": ["hinge"]}], params={"model": "dirac", "dataset": "dirac"}))
    assert ("grid: 12,000 cells (grid[0]: 1 loss x 100 lr_g x 60 lr_d + grid[1]: 1 loss x 100 lr_g x 60 lr_d) "
            "is over the cap of 10,000 cells") in msg


def test_a_searched_suite_takes_a_list_of_grids():
    space = {"lr_g": {"type": "float", "low": 0.01, "high": 0.5, "log": True}}
    searched = {"n_trials": 4, "objective": {"metric": "dirac_distance"}, "space": space}
    raw = suite_with(search=searched, params={k: v for k, v in DIRAC["params"].items() if k != "lr_g"})
    suite = validate_suite(raw)
    assert len(suite.cells()) == 12
    assert all(suite.config(cell, 0, {"lr_g": 0.2}).lr_g == 0.2 for cell in suite.cells())
    assert "search.space.r1: also set in grid[2].r1" in error({**raw, "search": {**searched, "space": {
        "r1": {"type": "float", "low": 0.0, "high": 1.0}}}})
    # a searched preset may not change a value filled in for a cell's label
    variants = {"variant": {"type": "categorical", "choices": ["gan", "r1"]}}
    msg = error({**raw, "search": {**searched, "space": variants}})
    assert ("search.space.variant: value 'r1': r1 (filled in for grid[0], which leaves it out) = 0.0 disagrees "
            "with variant 'r1' (r1: 10.0)") in msg
    assert "search.space.variant: value 'r1': grid[2].r1[0] = 0.3 disagrees with variant 'r1'" in msg


def test_the_grid_plan_runs_every_cell_once_per_seed():
    suite = validate_suite(suite_with(seeds=[0, 1]))
    plan = GridPlan(suite, [])
    assert plan.total == 24 and len(plan.todo) == 24
    order = [job.label for job in reversed(plan.todo)]
    assert sorted(order) == sorted(suite.cell_label(c) for c in suite.cells() for _ in (0, 1))
    # longest first (simultaneous updates draw one batch per iteration, alternating ones two), else grid order
    simultaneous = [label for label in order if "simultaneous" in label]
    assert order == [label for label in order if label not in simultaneous] + simultaneous
    expected = [suite.cell_label(c) for c in suite.cells() if c["updates"] == "alternating"]
    assert order[:len(order) - len(simultaneous)][::2] == expected


@pytest.mark.ray
def test_a_list_grid_suite_runs_end_to_end_with_one_leaderboard_row_per_cell(tmp_path):
    import ray

    # and a preset: its cell reads r1 = 10 (r1's preset), the others variant = None (null in the tables)
    raw = {**DIRAC, "grid": DIRAC["grid"] + [{"loss": ["nonsaturating"], "variant": ["r1"]}]}
    path = tmp_path / "dirac-methods.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    out = tmp_path / "out"
    try:
        assert main(["run", str(path), "--out", str(out)]) == 0
    finally:
        ray.shutdown()  # the embedded Ray would outlive the test: others start their own clusters
    suite = load_suite(path)
    assert suite.cells()[-1] == {"loss": "nonsaturating", "updates": "alternating", "instance_noise": 0.0,
                                 "r1": 10.0, "variant": "r1"}
    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 13 and (trials["status"] == "complete").all()
    assert sorted(trials["cell"]) == sorted(suite.cell_label(c) for c in suite.cells())  # the rows' own labels
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 13 and (board["n_seeds"] == 1).all()
    axes = board[suite.axes()].astype(object)
    assert axes.where(axes.notna(), None).to_dict("records") == suite.cells()
    assert board["dirac_distance_mean"].notna().all()
