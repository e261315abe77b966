"""Variant presets: registered with their papers, listed by the CLI, merged into trials by one rule.

The rule: a suite's ``params`` are suite-wide defaults that a cell's preset overrides; a value given for
the cell in ``grid``, or sampled by its search, that disagrees with the preset is an error naming both.
"""
from __future__ import annotations

import copy
import dataclasses

import pytest
from pydantic import ValidationError

from ganbench.cli import main
from ganbench.config import TrialConfig
from ganbench.registry import LOSSES, VARIANTS, UnknownNameError
from ganbench.suite import SuiteError, validate_suite
from ganbench.variants import PRESETS, Variant

REQUIRED = {"gan", "pacgan2", "pacgan3", "pacgan4", "unrolled5", "unrolled10", "instance_noise", "consensus",
            "r1", "r2", "r3gan", "ema"}
#: presets whose loss another change adds: checked only once it is registered
NEW_LOSSES = {name: p.parameters["loss"] for name, p in ((p.name, p) for p in PRESETS) if "loss" in p.parameters}

BASE = {
    "name": "v",
    "seeds": [0],
    "budget": {"steps": 10, "eval_every": 5},
    "grid": {"model": ["mlp"], "dataset": ["ring8"]},
    "params": {"loss": "nonsaturating", "batch_size": 16},
}


def suite(**sections) -> dict:
    raw = copy.deepcopy(BASE)
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(raw.get(section), dict):
            raw[section].update(values)
        else:
            raw[section] = values
    return raw


def error(raw: dict) -> str:
    with pytest.raises(SuiteError) as info:
        validate_suite(raw, source="suites/v.yaml")
    return str(info.value)


def cfg(**kw) -> TrialConfig:
    return TrialConfig(**{"model": "mlp", "dataset": "ring8", **kw})


def needs_loss(name: str) -> None:
    loss = NEW_LOSSES.get(name)
    if loss is not None and loss not in LOSSES:
        pytest.skip(f"variant {name!r} needs loss {loss!r}, which is not registered yet (losses.py)")


# --- the presets ----------------------------------------------------------------------------------------


def test_the_required_presets_are_registered_with_their_papers():
    assert REQUIRED <= set(VARIANTS.names())
    for name in VARIANTS.names():
        preset = VARIANTS.get(name)
        assert isinstance(preset, Variant) and preset.name == name
        assert preset.description and preset.reference
        assert set(preset.parameters) <= set(TrialConfig.model_fields) - {"variant", "seed", "steps", "eval_every"}


def test_each_preset_sets_what_its_paper_fixes():
    p = {name: dict(VARIANTS.get(name).parameters) for name in REQUIRED}
    assert p["gan"] == {}
    assert (p["pacgan2"], p["pacgan3"], p["pacgan4"]) == ({"pac": 2}, {"pac": 3}, {"pac": 4})
    assert (p["unrolled5"], p["unrolled10"]) == ({"unroll_steps": 5}, {"unroll_steps": 10})
    assert p["instance_noise"] == {"instance_noise": 0.1}  # constant: decay is the suite's (budget-relative)
    assert p["consensus"] == {"consensus": 10.0, "updates": "simultaneous"}
    assert (p["r1"], p["r2"]) == ({"r1": 10.0}, {"r2": 10.0})
    assert p["r3gan"]["loss"] == "rpgan" and p["r3gan"]["betas"] == (0.0, 0.99)
    assert p["r3gan"]["r1"] == p["r3gan"]["r2"] and VARIANTS.get("r3gan").tied == (("r1", "r2"),)
    assert p["ema"] == {"g_ema": 0.999}


def test_a_preset_is_frozen():
    preset = VARIANTS.get("pacgan2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.name = "x"
    with pytest.raises(TypeError):
        preset.parameters["pac"] = 3


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_preset_builds_a_valid_trial_for_mlp_on_ring8(name):
    needs_loss(name)
    preset = VARIANTS.get(name)
    config = cfg(loss=preset.parameters.get("loss", "nonsaturating"), variant=name)
    for key, value in preset.parameters.items():
        assert getattr(config, key) == value
    assert TrialConfig(**config.model_dump()) == config  # a stored config reads back as it was


def test_every_preset_runs_through_a_suite_grid():
    names = [n for n in VARIANTS.names() if n not in NEW_LOSSES or NEW_LOSSES[n] in LOSSES]
    configs = validate_suite(suite(grid={"variant": names})).trial_configs()
    assert [c.variant for c in configs] == names
    for config in configs:
        assert all(getattr(config, k) == v for k, v in VARIANTS.get(config.variant).parameters.items())


def test_bench_list_variants_prints_every_preset_with_its_reference(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one row per preset, unwrapped
    assert main(["list", "variants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for preset in PRESETS:
        row = [line for line in lines if line.split() and line.split()[0] == preset.name]
        assert len(row) == 1 and preset.reference in row[0], preset.name


# --- TrialConfig built directly ---------------------------------------------------------------------------


def test_a_config_with_just_the_variant_gets_the_preset():
    config = cfg(loss="nonsaturating", variant="pacgan2")
    assert config.pac == 2 and config.variant == "pacgan2"
    assert cfg(loss="nonsaturating", variant="consensus").updates == "simultaneous"


def test_a_config_that_disagrees_with_its_variant_names_both():
    with pytest.raises(ValidationError, match=r"pac = 4 disagrees with variant 'pacgan2' \(pac: 2\)"):
        cfg(loss="nonsaturating", variant="pacgan2", pac=4)
    with pytest.raises(ValidationError, match=r"pac = 1 disagrees with variant 'pacgan2'"):
        cfg(loss="nonsaturating", variant="pacgan2", pac=1)  # given as the default: still given


def test_an_unknown_variant_suggests_the_close_names():
    with pytest.raises(ValidationError, match=r"unknown variant 'pacgn2' \(did you mean 'pacgan2'"):
        cfg(loss="nonsaturating", variant="pacgn2")
    with pytest.raises(UnknownNameError):
        VARIANTS.get("unroled5")


def test_the_variant_is_hashed_only_when_set():
    plain = cfg(loss="nonsaturating")
    assert cfg(loss="nonsaturating", variant=None).config_hash() == plain.config_hash()
    packed = cfg(loss="nonsaturating", variant="pacgan2")
    assert packed.config_hash() != cfg(loss="nonsaturating", pac=2).config_hash() != plain.config_hash()
    assert cfg(loss="nonsaturating", variant="gan").config_hash() != plain.config_hash()
    assert packed.config_hash() == cfg(loss="nonsaturating", variant="pacgan2", pac=2).config_hash()


# --- the suite merge: params < preset < cell < searched ---------------------------------------------------


def test_params_are_defaults_that_a_cells_preset_overrides():
    configs = validate_suite(suite(params={"pac": 3, "betas": [0.5, 0.9]},
                                   grid={"variant": ["gan", "pacgan2"]})).trial_configs()
    assert [(c.variant, c.pac) for c in configs] == [("gan", 3), ("pacgan2", 2)]
    assert all(c.betas == (0.5, 0.9) for c in configs)


def test_a_grid_value_that_disagrees_with_the_cells_preset_names_both():
    msg = error(suite(grid={"variant": ["gan", "pacgan2"], "pac": [2, 4]}))
    assert "grid.pac[1] = 4 disagrees with variant 'pacgan2' (pac: 2)" in msg
    assert "grid.pac[0]" not in msg  # pac 2 agrees; with variant gan, pac is free


def test_an_agreeing_grid_value_is_fine():
    configs = validate_suite(suite(grid={"variant": ["pacgan2"], "pac": [2]})).trial_configs()
    assert configs[0].pac == 2


def test_params_that_set_the_variant_state_its_values_explicitly():
    assert "params.pac = 4 disagrees with variant 'pacgan2' (pac: 2)" in error(
        suite(params={"variant": "pacgan2", "pac": 4}))


def test_a_searched_value_that_disagrees_with_the_preset_names_both():
    search = {"n_trials": 2, "objective": {"metric": "modes_covered"},
              "space": {"unroll_steps": {"type": "int", "low": 1, "high": 5}}}
    msg = error(suite(grid={"variant": ["gan", "unrolled5"]}, search=search))
    assert "search.space.unroll_steps = 1 disagrees with variant 'unrolled5' (unroll_steps: 5)" in msg
    assert "unroll_steps = 5 disagrees" not in msg


def test_a_searched_variant_that_disagrees_with_a_grid_value_names_both():
    search = {"n_trials": 2, "objective": {"metric": "modes_covered"},
              "space": {"variant": {"type": "categorical", "choices": ["gan", "pacgan2"]}}}
    msg = error(suite(grid={"pac": [1]}, search=search))
    assert "search.space.variant: value 'pacgan2': grid.pac[0] = 1 disagrees with variant 'pacgan2' (pac: 2)" in msg


def test_suite_config_refuses_a_sampled_value_that_disagrees():
    s = validate_suite(suite(grid={"variant": ["unrolled5"]}))
    cell = s.cells()[0]
    assert s.config(cell, 0).unroll_steps == 5
    with pytest.raises(ValidationError, match="unroll_steps = 3 disagrees with variant 'unrolled5'"):
        s.config(cell, 0, {"unroll_steps": 3})


def test_a_searched_beta1_merges_into_the_presets_betas():
    needs_loss("r3gan")
    search = {"n_trials": 2, "objective": {"metric": "modes_covered"},
              "space": {"beta1": {"type": "categorical", "choices": [0.0, 0.5]}}}
    msg = error(suite(grid={"variant": ["r3gan"]}, search=search))
    assert "search.space.beta1 (betas) = (0.5, 0.99) disagrees with variant 'r3gan' (betas: (0.0, 0.99))" in msg


def test_a_preset_that_breaks_a_cross_key_rule_names_the_cell():
    msg = error(suite(grid={"variant": ["consensus"], "d_steps_per_g_step": [1, 3]}))
    assert "d_steps_per_g_step=3" in msg and "updates: simultaneous" in msg


def test_an_error_in_a_presets_value_points_at_the_variant(monkeypatch):
    monkeypatch.setitem(VARIANTS._items, "broken", Variant("broken", {"pac": 99}, "nobody", "a bad preset"))
    msg = error(suite(grid={"variant": ["gan", "broken"]}))
    assert "grid.variant[1] ('broken' sets pac): Input should be less than or equal to 16" in msg


# --- r3gan: one gamma for R1 and R2 -----------------------------------------------------------------------


def test_r3gan_ties_r1_and_r2_into_one_gamma():
    needs_loss("r3gan")
    default = cfg(variant="r3gan")
    assert default.loss == "rpgan" and default.betas == (0.0, 0.99) and default.r1 == default.r2 > 0
    assert (cfg(variant="r3gan", r1=2.0).r2, cfg(variant="r3gan", r2=0.5).r1) == (2.0, 0.5)
    with pytest.raises(ValidationError, match="r1 = 1.0 and r2 = 2.0 differ, but variant 'r3gan' ties r1, r2"):
        cfg(variant="r3gan", r1=1.0, r2=2.0)


def test_r3gan_gamma_is_a_suite_parameter():
    needs_loss("r3gan")
    configs = validate_suite(suite(grid={"variant": ["gan", "r3gan"], "r1": [0.1, 1.0]})).trial_configs()
    assert [(c.variant, c.r1, c.r2) for c in configs] == [("gan", 0.1, 0.0), ("gan", 1.0, 0.0),
                                                          ("r3gan", 0.1, 0.1), ("r3gan", 1.0, 1.0)]
    assert configs[2].loss == "rpgan" and configs[0].loss == "nonsaturating"  # params' loss: overridden
    configs = validate_suite(suite(grid={"variant": ["r3gan"], "r2": [3.0]})).trial_configs()
    assert (configs[0].r1, configs[0].r2) == (3.0, 3.0)
    # r1 in params is a suite-wide default, so the preset's gamma wins there (as for any preset key)
    configs = validate_suite(suite(params={"r1": 3.0}, grid={"variant": ["gan", "r3gan"]})).trial_configs()
    assert [(c.r1, c.r2) for c in configs] == [(3.0, 0.0), (10.0, 10.0)]


def test_r3gan_with_r1_and_r2_set_apart_names_both():
    needs_loss("r3gan")
    msg = error(suite(grid={"variant": ["r3gan"], "r1": [1.0], "r2": [2.0]}))
    assert "grid.r2[0] = 2.0 disagrees with grid.r1[0] = 1.0: variant 'r3gan' ties r1 and r2" in msg
    assert validate_suite(suite(grid={"variant": ["r3gan"], "r1": [2.0], "r2": [2.0]})).trial_configs()


def test_a_trial_and_a_suite_cell_fill_a_preset_by_the_one_merge():
    """Variant.fill is the preset merge of both TrialConfig and Suite.merge: r3gan's tied gamma follows r1."""
    r3gan = VARIANTS.get("r3gan")
    assert r3gan.fill({"r1": 5.0}) == {"loss": "rpgan", "r2": 5.0, "betas": (0.0, 0.99)}
    assert r3gan.fill({"r1": 5.0, "r2": 5.0, "loss": "rpgan", "betas": (0.0, 0.9)}) == {}
    trial = TrialConfig(model="mlp", dataset="ring8", variant="r3gan", r1=5.0, steps=10, eval_every=10)
    suite = validate_suite({"name": "fill", "seeds": [0], "budget": {"steps": 10, "eval_every": 10},
                            "grid": {"model": ["mlp"], "loss": ["rpgan"], "dataset": ["ring8"],
                                     "variant": ["r3gan"], "r1": [5.0]}})
    [cell] = suite.cells()
    assert suite.config(cell, 0) == trial and (trial.r2, trial.loss, trial.betas) == (5.0, "rpgan", (0.0, 0.99))
