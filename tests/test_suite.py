"""Suite validation: every kind of bad input is one SuiteError naming the file, key path and valid choices."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganbench.suite import SuiteError, load_suite, validate_suite

ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "name": "t",
    "seeds": [0, 1],
    "budget": {"steps": 10, "eval_every": 5},
    "grid": {"model": ["mlp"], "loss": ["minimax", "hinge"], "d_steps_per_g_step": [1, 3], "dataset": ["ring8"]},
    "params": {"batch_size": 16},
}


def with_(**changes) -> dict:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))  # deep copy
    for path, value in changes.items():
        node = raw
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return raw


DELETE = object()


def error(raw: dict) -> str:
    with pytest.raises(SuiteError) as info:
        validate_suite(raw, source="suites/x.yaml")
    message = str(info.value)
    assert message.startswith("suites/x.yaml:")
    return message


def test_good_suite_plans_cells_times_seeds_in_grid_order():
    suite = validate_suite(GOOD)
    configs = suite.trial_configs()
    assert len(suite.cells()) == 4 and len(configs) == 8
    assert [c.seed for c in configs[:2]] == [0, 1]
    assert len({c.config_hash() for c in configs}) == 8
    assert suite.axes()[:4] == ["model", "loss", "d_steps_per_g_step", "dataset"]


@pytest.mark.parametrize("path", sorted(str(p) for p in (ROOT / "suites").glob("*.yaml")))
def test_every_shipped_suite_is_valid(path):
    assert load_suite(path).trial_configs()


def test_issue_example_runs_as_written():
    suite = load_suite(ROOT / "suites/ring-losses.yaml")
    assert len(suite.trial_configs()) == 18
    assert suite.trial_configs()[0].betas == (0.5, 0.999)


def test_unknown_top_level_key_lists_valid_keys_and_suggests():
    msg = error(with_(budjet={"steps": 1}))
    assert "budjet: unknown key" in msg and "budget" in msg and "did you mean 'budget'" in msg


def test_unknown_nested_key_names_its_path():
    msg = error(with_(budget__stpes=3))
    assert "budget.stpes: unknown key" in msg and "eval_every" in msg


def test_unknown_param_lists_tunable_keys():
    msg = error(with_(params__lr=0.1))
    assert "params.lr: unknown key" in msg and "lr_g" in msg and "lr_d" in msg


def test_budget_key_in_params_points_to_budget():
    assert "set it as budget.steps" in error(with_(params__steps=3))


@pytest.mark.parametrize("axis, bad, valid", [("loss", "wgangp", "wgan-gp"), ("dataset", "ring", "ring8"),
                                               ("model", "mlpp", "mlp")])
def test_unknown_name_lists_the_registered_names(axis, bad, valid):
    msg = error(with_(**{f"grid__{axis}": [bad]}))
    assert f"grid.{axis}[0]" in msg and repr(valid) in msg


def test_wrong_type_names_the_key():
    msg = error(with_(params__batch_size="big"))
    assert "params.batch_size" in msg and "integer" in msg


def test_k_below_one_is_refused():
    msg = error(with_(grid__d_steps_per_g_step=[1, 0]))
    assert "grid.d_steps_per_g_step[1]" in msg and "greater than or equal to 1" in msg


def test_empty_grid_and_empty_axis_are_refused():
    assert "grid" in error(with_(grid={}))
    assert "grid.loss: empty" in error(with_(grid__loss=[]))


def test_missing_required_key():
    assert "budget: required key is missing" in error(with_(budget=DELETE))
    assert "grid.dataset: required key is missing" in error(with_(grid__dataset=DELETE))


def test_key_in_both_grid_and_params_is_refused():
    assert "params.loss: also set in grid.loss" in error(with_(params__loss="hinge"))


def test_target_metric_must_have_a_direction():
    assert "no direction" in error(with_(target={"metric": "d_real_mean", "value": 0.5}))


def test_several_problems_are_reported_together():
    msg = error(with_(params__lr=1, params__batch_size=0))
    assert "2 problems" in msg and "params.lr" in msg and "params.batch_size" in msg


def test_repeated_seeds_are_refused():
    assert "seeds repeat" in error(with_(seeds=[1, 1]))


def test_missing_file_and_bad_yaml_and_non_mapping(tmp_path):
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [unclosed\n")
    with pytest.raises(SuiteError, match=f"{bad}: not valid YAML"):
        load_suite(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(SuiteError, match="a suite is a YAML mapping"):
        load_suite(bad)


def test_overrides_apply_before_validation(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    suite = load_suite(path, ["budget.steps=7", "params.lr_g=0.5"])
    assert suite.budget.steps == 7 and suite.trial_configs()[0].lr_g == 0.5
    with pytest.raises(SuiteError, match="expected KEY.PATH=VALUE"):
        load_suite(path, ["budget.steps"])


def test_read_suite_takes_names_no_longer_registered(tmp_path):
    from ganbench.suite import read_suite

    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(with_(grid__loss=["a-loss-renamed-since"])))
    with pytest.raises(SuiteError, match="unknown loss 'a-loss-renamed-since'"):
        load_suite(path)
    assert read_suite(path).grid["loss"] == ["a-loss-renamed-since"]  # a report still reads it


def test_default_execution_keeps_the_suite_hash_of_earlier_runs():
    import json

    published = ROOT / "results/ring-losses"
    suite = load_suite(published / "suite.yaml")
    assert suite.suite_hash() == json.loads((published / "run.json").read_text())["suite_hash"]
