"""Field roles: every TrialConfig field declares one, and stacking, sizing and search read the lists they derive."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import Field

from ganbench.checks import NOT_SIZED
from ganbench.config import Int, TrialConfig
from ganbench.roles import ROLES, keys_where, role, roles_of
from ganbench.search.schema import SEARCHABLE_KEYS
from ganbench.training.gan import MODEL_OPTIONS
from ganbench.training.stacked import SHARED_KEYS, batch_key, check_stackable

ROOT = Path(__file__).resolve().parent.parent


def test_every_trial_config_field_has_a_known_role():
    assert set(roles_of(TrialConfig)) == set(TrialConfig.model_fields)


def test_a_field_added_without_a_role_is_refused_where_it_is_declared():
    with pytest.raises(TypeError, match="every field needs a role.*width_of_something \\(no role\\)"):
        class Careless(TrialConfig):
            width_of_something: Int = 3
    with pytest.raises(TypeError, match="unknown role 'shaped'"):
        class Misspelt(TrialConfig):
            width_of_something: Int = Field(3, json_schema_extra={"role": "shaped"})
    with pytest.raises(ValueError, match="unknown role"):
        role("nope")


def test_the_key_lists_are_the_roles():
    fields = roles_of(TrialConfig)
    assert set(SHARED_KEYS) == {k for k, r in fields.items() if r.shared}
    assert set(NOT_SIZED) == {k for k, r in fields.items() if not r.sized}
    assert set(MODEL_OPTIONS) == {k for k, r in fields.items() if r.model_option}
    assert set(SEARCHABLE_KEYS) - {"beta1", "beta2"} == {k for k, r in fields.items() if r.tunable and r.searchable}
    # what the loop's shape rests on is shared; a trial's own seed, learning rates and loss are not
    assert {"model", "dataset", "batch_size", "z_dim", "hidden", "steps", "pac"} <= set(SHARED_KEYS)
    assert not {"seed", "loss", "lr_g", "lr_d", "betas", "r1", "r2"} & set(SHARED_KEYS)
    # a role that shares and sizes nothing is never a model option (a model option changes the networks)
    assert all(r.sized for r in ROLES.values() if r.model_option)


class Wider(TrialConfig):
    """A TrialConfig with one field more, as a later release (or a plugin's subclass) would add."""

    extra_width: Int = Field(3, json_schema_extra=role("shape"))
    extra_rate: float = Field(0.5, json_schema_extra=role("hyperparameter"))


def _stackable(**changes) -> Wider:
    return Wider(model="mlp", loss="nonsaturating", dataset="ring8", steps=10, eval_every=10, batch_size=8,
                 device="cpu", **changes)


def test_stacking_refuses_members_that_differ_in_a_shared_field_the_test_adds():
    assert keys_where(Wider, shared=True) == SHARED_KEYS + ("extra_width",)
    with pytest.raises(ValueError, match="must share 'extra_width'"):
        check_stackable([_stackable(seed=0), _stackable(seed=1, extra_width=4)])
    assert batch_key(_stackable(extra_width=4)) != batch_key(_stackable())


def test_stacking_takes_members_that_differ_in_a_per_trial_field_the_test_adds():
    check_stackable([_stackable(seed=0), _stackable(seed=1, extra_rate=0.1)])
    assert batch_key(_stackable(extra_rate=0.1)) == batch_key(_stackable())


def test_no_code_outside_the_loss_definitions_tests_a_loss_by_its_name():
    """What a loss needs (a double backward, a real batch in G, clipping, vmapping) is the loss's declaration."""
    name_test = re.compile(r"""\.loss\s*(==|!=|in|not in)\s*[("'{\[]""")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "ganbench").rglob("*.py"))
                 if path.name != "losses.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if name_test.search(line)]
    assert offenders == []
