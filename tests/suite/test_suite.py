"""Suite validation: every kind of bad input is one SuiteError naming the file, key path and valid choices."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganbench.suite import SuiteError, load_suite, validate_suite

ROOT = Path(__file__).resolve().parents[2]

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


def test_an_unknown_keys_message_gives_each_key_with_its_default():  # as the README says
    msg = error(with_(params__lr=0.1))
    assert "lr_g=0.0001" in msg and "betas=[0.5, 0.999]" in msg and "optimizer=adam" in msg
    assert "loss (required)" in msg and "d_hidden=unset" in msg and "compile=false" in msg


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


# --- validation holes: each bad input is one SuiteError naming the file, the key path and the choices ---------


def write(tmp_path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def load_error(path, overrides=()) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(path, list(overrides))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


def test_unknown_grid_key_is_named_and_never_expanded():
    msg = error(with_(grid__lossy=[1, 2]))
    assert "grid.lossy: unknown key" in msg and "did you mean 'loss'" in msg and "lr_g" in msg
    # nine typo axes of ten values: 10**9 cells, refused by name and by count without building one of them
    typos = {f"grid__loss{i}": list(range(10)) for i in range(9)}
    msg = error(with_(**typos))
    assert all(f"grid.loss{i}: unknown key" in msg for i in range(9))
    assert "4,000,000,000 cells" in msg and "cap of 10,000 cells" in msg


def test_cells_and_trials_are_capped_before_anything_is_expanded():
    msg = error(with_(grid__r1=[i / 1000 for i in range(200)], grid__r2=[i / 1000 for i in range(100)]))
    assert "grid: 80,000 cells (" in msg and "200 r1" in msg and "cap of 10,000 cells" in msg
    msg = error(with_(seeds=list(range(30_000))))  # 4 cells
    assert "4 cells x (30000 seeds) = 120,000 trials" in msg and "cap of 100,000 trials" in msg
    search = {"n_trials": 10**9, "objective": {"metric": "reverse_kl"},
              "space": {"r1": {"type": "float", "low": 0, "high": 1}}}
    msg = error(with_(search=search))
    assert "1,000,000,000 search.n_trials" in msg and "cap of 100,000 trials" in msg


@pytest.mark.parametrize("change, where", [
    ({"params__lr_g": float("inf")}, "params.lr_g"),
    ({"params__lr_g": float("nan")}, "params.lr_g"),
    ({"params__betas": [0.5, float("nan")]}, "params.betas[1]"),
    ({"grid__r1": [0.0, float("inf")]}, "grid.r1[1]"),
    ({"target": {"metric": "high_quality_frac", "value": float("nan")}}, "target.value"),
    ({"budget__steps": float("inf")}, "budget.steps"),
    ({"resources": {"num_cpus": float("inf")}}, "resources.num_cpus"),
    ({"search": {"n_trials": 2, "objective": {"metric": "reverse_kl"},
                 "space": {"r1": {"type": "float", "low": 0.0, "high": float("inf")}}}}, "search.space.r1.high"),
])
def test_non_finite_numbers_are_refused_everywhere(change, where):
    msg = error(with_(**change))
    assert f"{where}: must be a finite number (not .inf or .nan)" in msg


def test_duplicate_yaml_keys_are_refused_naming_the_key_and_its_lines(tmp_path):
    text = (ROOT / "suites/quick.yaml").read_text()
    lines = text.splitlines()
    params = next(i for i, line in enumerate(lines) if line.startswith("params:")) + 1
    msg = load_error(write(tmp_path, text + "params: {batch_size: 8}\n"))
    assert f"params: key given on line {params} and line {len(lines) + 1}; keep one" in msg
    msg = load_error(write(tmp_path, text.replace("lr_g: 1.0e-3,", "lr_g: 1.0e-3, lr_g: 2.0e-3,")))
    assert f"params.lr_g: key given twice on line {params}" in msg
    nested = "name: x\nsearch:\n  space:\n    lr_g: {type: float}\n    lr_g: {type: int}\n"
    assert "search.space.lr_g: key given on line 4 and line 5" in load_error(write(tmp_path, nested))
    # otherwise it reads as yaml.safe_load does: merge keys may be overridden, python tags stay refused
    from ganbench.suite import load_yaml

    assert load_yaml("a: &a {x: 1, y: 2}\nb: {<<: *a, x: 3}\n") == {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 2}}
    for path in sorted((ROOT / "suites").glob("*.yaml")):
        assert load_yaml(path.read_text()) == yaml.safe_load(path.read_text())
    assert "could not determine a constructor" in load_error(write(tmp_path, "name: !!python/name:os.system\n"))


def test_seeds_lie_in_0_to_2_pow_32(tmp_path):
    from pydantic import ValidationError

    from ganbench.config import TrialConfig

    assert "seeds[1]: a seed must lie in 0 <= seed < 2**32" in error(with_(seeds=[0, 2**63]))
    assert "seeds[0]: a seed must lie in 0 <= seed < 2**32 (4294967296), got -1" in error(with_(seeds=[-1]))
    search = {"n_trials": 2, "objective": {"metric": "reverse_kl"}, "seed": 2**32,
              "space": {"r1": {"type": "float", "low": 0, "high": 1}}}
    assert "search.seed: a seed must lie in" in error(with_(search=search))
    with pytest.raises(ValidationError, match="a seed must lie in"):
        TrialConfig(model="mlp", loss="hinge", dataset="ring8", seed=2**32)
    assert validate_suite(with_(seeds=[0, 2**32 - 1])).trial_configs()[-1].seed == 2**32 - 1
    huge = write(tmp_path, yaml.safe_dump(GOOD).replace("- 1\n", "- 0x" + "f" * 3000 + "\n"))
    assert "seeds[1]: a seed must lie in 0 <= seed < 2**32 (4294967296), got a 12000-bit integer" in load_error(huge)


def test_repeated_grid_values_are_refused():
    msg = error(with_(grid__loss=["hinge", "minimax", "hinge"]))
    assert "grid.loss[2]: 'hinge' repeats grid.loss[0]" in msg
    assert "grid.betas[1]: [0.5, 0.9] repeats grid.betas[0]" in error(with_(grid__betas=[[0.5, 0.9], [0.5, 0.9]]))
    # values that differ as written but make the same trial
    assert "grid.lr_g: 0.001 and '1e-3' make the same trial" in error(with_(grid__lr_g=[0.001, "1e-3"]))


@pytest.mark.parametrize("change, where", [
    ({"params__g_steps_per_d_step": True}, "params.g_steps_per_d_step"),
    ({"grid__d_steps_per_g_step": [1, True]}, "grid.d_steps_per_g_step[1]"),
    ({"params__lr_g": False}, "params.lr_g"),
    ({"params__betas": [True, 0.9]}, "params.betas[0]"),
    ({"budget__steps": True}, "budget.steps"),
    ({"resources": {"num_cpus": True}}, "resources.num_cpus"),
    ({"execution": {"batch_trials": True}}, "execution.batch_trials"),
    ({"seeds": [0, True]}, "seeds[1]"),
    ({"max_retries": False}, "max_retries"),
    ({"target": {"metric": "high_quality_frac", "value": True}}, "target.value"),
    ({"search": {"n_trials": True, "objective": {"metric": "reverse_kl"},
                 "space": {"r1": {"type": "float", "low": 0, "high": 1}}}}, "search.n_trials"),
    ({"search": {"n_trials": 2, "objective": {"metric": "reverse_kl"},
                 "space": {"r1": {"type": "float", "low": False, "high": 1}}}}, "search.space.r1.low"),
])
def test_booleans_are_not_numbers(change, where):
    assert f"{where}: expected a number, got the boolean" in error(with_(**change))


def test_booleans_stay_booleans_and_lists_become_tuples():
    cfg = validate_suite(with_(params__compile=False, params__betas=[0.0, 0.9])).trial_configs()[0]
    assert cfg.compile is False and cfg.betas == (0.0, 0.9)


def test_unreadable_or_binary_suite_files_are_one_error_naming_the_file(tmp_path):
    import os

    assert "not UTF-8 text (byte 0xff at offset 0)" in load_error(write(tmp_path, bytes(range(255, 0, -1))))
    assert "not UTF-8 text" in load_error(write(tmp_path, "name: caf\xe9\n".encode("latin-1")))
    assert "not valid YAML: line 1: character '\\x00' is not allowed" in load_error(write(tmp_path, b"name: a\x00\n"))
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert "a folder, not a suite file" in load_error(folder)
    locked = write(tmp_path, yaml.safe_dump(GOOD), "locked.yaml")
    locked.chmod(0)
    try:
        if not os.access(locked, os.R_OK):  # root reads it anyway
            assert "cannot read the suite file: permission denied" in load_error(locked)
    finally:
        locked.chmod(0o644)


def test_bad_override_values_are_one_error_naming_the_override(tmp_path):
    path = write(tmp_path, yaml.safe_dump(GOOD))
    msg = load_error(path, ["budget.steps=["])
    assert "--set 'budget.steps=[': bad value (it is read as YAML): not valid YAML: line 1" in msg
    assert "key given twice" in load_error(path, ["params={a: 1, a: 2}"])
    msg = load_error(path, ["budget.steps.x=1"])
    assert "--set 'budget.steps.x=1': budget.steps is not a mapping (it is 10), so it has no key 'x'" in msg
    assert "grid.loss is not a mapping" in load_error(path, ["grid.loss.first=hinge"])
    assert "expected KEY.PATH=VALUE" in load_error(path, ["budget..steps=3"])
    assert "budget.steps: must be a finite number" in load_error(path, ["budget.steps=.inf"])


def test_yaml_that_is_not_plain_data_or_expands_is_refused(tmp_path):
    bomb = "name: x\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcde", "bcdef"))
    assert "too large: over 100,000 values" in load_error(write(tmp_path, bomb))
    assert "nested over 32 levels deep" in load_error(write(tmp_path, "params: &p {x: *p}\n"))
    assert "not valid YAML: nested too deeply" in load_error(write(tmp_path, "grid: " + "[" * 5000 + "]" * 5000))
    assert "1: a key must be a name (text), got int 1" in load_error(write(tmp_path, "1: 2\n"))
    assert "params.2: a key must be a name" in error(with_(params={2: 3}))
    msg = load_error(write(tmp_path, "description: 2001-12-14\n"))
    assert "description: date datetime.date(2001, 12, 14) is not a suite value" in msg and "quote a date" in msg
    assert "not valid YAML: month must be in 1..12" in load_error(write(tmp_path, "description: 2001-13-14\n"))
    assert "a whole number of over 4,300 digits" in load_error(write(tmp_path, "seeds: [" + "7" * 5000 + "]\n"))


def test_search_spaces_are_checked_without_being_listed():
    def search(space, sampler="tpe"):
        return with_(search={"n_trials": 2, "sampler": sampler, "objective": {"metric": "reverse_kl"}, "space": space})

    msg = error(search({"g_steps_per_d_step": {"type": "int", "low": 1, "high": 1e15}}, sampler="grid"))
    assert "the grid sampler's space has 1,000,000,000,000,000 points" in msg and "at most 100,000" in msg
    msg = error(search({"g_steps_per_d_step": {"type": "int", "low": 1, "high": 5, "step": 0.5}}))
    assert "search.space.g_steps_per_d_step: an int parameter needs a whole step, got 0.5" in msg
    msg = error(search({"betas": {"type": "categorical", "choices": [[0.5, 0.9], 0.5]}}))
    assert "search.space.betas: value 0.5 is invalid: Input should be a valid tuple" in msg
