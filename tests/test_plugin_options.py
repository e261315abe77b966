"""A plugin component's own options (ganbench.options): set by name, validated, hashed, searched and stacked
per member. The plugin is the README's example (examples/my_gan.py: smooth_ns and its real_target)."""
from __future__ import annotations

import math

import pytest
import torch

from ganbench import plugins
from ganbench.config import TrialConfig
from ganbench.registry import LOSSES
from ganbench.search.schema import Search
from ganbench.training.stacked import StackedLoss, batch_key, check_stackable
from tests.test_plugins import bench, isolated, own_folder  # noqa: F401 (fixtures)

CELL = dict(model="tiny_mlp", loss="smooth_ns", dataset="ring4")


@pytest.fixture
def my_gan(own_folder, isolated):  # noqa: F811
    plugins.import_plugins(["my_gan.py"], base=own_folder)


def test_an_option_set_by_its_dotted_name_or_under_the_components_name_is_the_same_trial(my_gan):
    dotted = TrialConfig(**CELL, **{"smooth_ns.real_target": 0.8})
    nested = TrialConfig(**CELL, smooth_ns={"real_target": 0.8})
    assert dotted.options == nested.options == {"smooth_ns": {"real_target": 0.8}}
    assert dotted.config_hash() == nested.config_hash() != TrialConfig(**CELL).config_hash()
    assert TrialConfig(**CELL).options == {}  # none given: nothing stored, so the id is the one before options


def test_a_misspelt_option_gets_did_you_mean_and_a_bad_value_names_the_option(my_gan):
    with pytest.raises(ValueError, match=r"smooth_ns.real_targt: unknown option of 'smooth_ns' \(did you mean "
                                         r"'real_target'\?\)"):
        TrialConfig(**CELL, **{"smooth_ns.real_targt": 0.8})
    with pytest.raises(ValueError, match=r"smooth_ns.real_target: Input should be less than or equal to 1"):
        TrialConfig(**CELL, **{"smooth_ns.real_target": 1.5})
    with pytest.raises(ValueError, match=r"options for 'hinge': not the model or loss of this trial"):
        TrialConfig(**CELL, options={"hinge": {"x": 1}})
    with pytest.raises(ValueError, match=r"options for 'tiny_mlp': it declares no options"):
        TrialConfig(**CELL, options={"tiny_mlp": {"hidden": 3}})


def test_the_loss_is_built_with_its_option(my_gan):
    """BCE with logits at logit L and target t is softplus(L) - t L: D's loss on a real logit 2, fake logit -inf."""
    loss = LOSSES.get("smooth_ns").from_config(TrialConfig(**CELL, **{"smooth_ns.real_target": 0.75}))
    real, fake = torch.tensor([2.0]), torch.tensor([-50.0])
    assert loss.d_loss(real, fake).item() == pytest.approx(math.log1p(math.exp(2.0)) - 0.75 * 2.0, abs=1e-6)
    assert LOSSES.get("smooth_ns").from_config(TrialConfig(**CELL)).real_target == 0.9  # the option's default


def test_stacked_members_with_different_options_each_train_their_own_loss(my_gan):
    base = dict(model="mlp", loss="smooth_ns", dataset="ring8", steps=10, eval_every=10, batch_size=4, device="cpu")
    cfgs = [TrialConfig(**base, **{"smooth_ns.real_target": t}) for t in (0.7, 1.0)]
    check_stackable(cfgs)  # options are per trial
    assert batch_key(cfgs[0]) == batch_key(cfgs[1])
    losses = [LOSSES.get("smooth_ns").from_config(c) for c in cfgs]
    stacked = StackedLoss(losses, torch.device("cpu"))
    real, fake = torch.randn(2, 4), torch.randn(2, 4)
    per_trial = stacked.d_loss(real, fake)
    assert torch.allclose(per_trial, torch.stack([loss.d_loss(real[i], fake[i]) for i, loss in enumerate(losses)]))
    assert per_trial[0] != per_trial[1]


def test_a_search_space_takes_an_option_by_its_dotted_name_and_refuses_a_typo(my_gan):
    space = {"smooth_ns.real_target": {"type": "float", "low": 0.7, "high": 1.0}}
    search = dict(n_trials=2, objective={"metric": "modes_covered"}, space=space)
    assert list(Search(**search).space) == ["smooth_ns.real_target"]
    with pytest.raises(ValueError, match="did you mean 'smooth_ns.real_target'"):
        Search(**{**search, "space": {"smooth_ns.real_targe": {"type": "float", "low": 0.7, "high": 1.0}}})


def test_validate_names_a_misspelt_option_in_a_suite_with_did_you_mean(own_folder, tmp_path):  # noqa: F811
    suite = (own_folder / "my_gan.yaml").read_text().replace("smooth_ns.real_target: [0.8]",
                                                             "smooth_ns.real_targt: [0.8]")
    (own_folder / "typo.yaml").write_text(suite)
    res = bench("validate", str(own_folder / "typo.yaml"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("error:") == 1, res.stderr
    assert "grid[1].smooth_ns.real_targt: unknown key" in res.stderr
    assert "(did you mean 'smooth_ns.real_target'?)" in res.stderr
    (own_folder / "bad.yaml").write_text(suite.replace("smooth_ns.real_targt: [0.8]", "smooth_ns.real_target: [2]"))
    res = bench("validate", str(own_folder / "bad.yaml"), cwd=tmp_path)
    assert res.returncode == 2 and "smooth_ns.real_target" in res.stderr and "less than or equal to 1" in res.stderr


def test_list_shows_a_plugins_options_with_their_defaults(own_folder, tmp_path):  # noqa: F811
    res = bench("list", "losses", "--import", str(own_folder / "my_gan.py"), cwd=tmp_path)
    assert res.returncode == 0 and "Options: smooth_ns.real_target=0.9" in " ".join(res.stdout.split()), res.stdout
