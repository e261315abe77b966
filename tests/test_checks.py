"""Deep checks before a run: every model is built for its data with its options; stacking is checked."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from ganbench.checks import check_suite
from ganbench.cli import main
from ganbench.config import TrialConfig
from ganbench.registry import DATASETS
from ganbench.suite import SuiteError, validate_suite
from ganbench.training.memory import estimate_memory
from tests.suite.test_suite import GOOD, ROOT, with_


def error(raw: dict) -> str:
    suite = validate_suite(raw, source="suites/x.yaml")  # valid as data: the deep checks find the rest
    with pytest.raises(SuiteError) as info:
        check_suite(suite, "suites/x.yaml")
    message = str(info.value)
    assert message.startswith("suites/x.yaml:")
    return message


def test_a_good_suite_passes():
    check_suite(validate_suite(GOOD))


def test_model_that_cannot_take_the_data_is_refused_before_running():
    msg = error(with_(grid__model=["dirac"]))
    assert "model 'dirac' with dataset 'ring8'" in msg and "1-D" in msg


@pytest.mark.parametrize("option, value", [("conditional", True), ("d_projection", True),
                                           ("cycle_weight", 5.0), ("identity_weight", 0.5)])
def test_an_option_the_model_ignores_is_refused_naming_it_and_what_the_model_uses(option, value):
    msg = error(with_(params={"batch_size": 16, option: value}))
    assert f"model 'mlp' does not use {option}={value!r}" in msg
    used = msg.split("the options it uses: ")[1].split(")")[0].split(";")[0]
    assert {"hidden", "depth", "d_maxout", "d_dropout", "d_norm", "g_norm"} <= set(used.split(", "))
    assert option not in used.split(", ")


def test_an_option_the_model_honours_is_accepted():
    check_suite(validate_suite(with_(grid__model=["dcgan"], grid__dataset=["digits"],
                                     params={"batch_size": 16, "hidden": 8, "d_norm": "spectral"})))


def test_a_searched_option_the_model_ignores_is_refused():
    search = {"n_trials": 2, "objective": {"metric": "reverse_kl"},
              "space": {"conditional": {"type": "categorical", "choices": [False, True]}}}
    assert "does not use conditional=True" in error(with_(search=search))


def test_stacking_is_checked_before_running():
    assert "d_dropout" in error(with_(execution={"batch_trials": 2}, params={"batch_size": 16, "d_dropout": 0.5}))
    # maxout D, batch-normalised G and simultaneous updates stack (PacGAN's protocol)
    pacgan = {"batch_size": 16, "d_maxout": 3, "g_norm": "batch", "updates": "simultaneous"}
    check_suite(validate_suite(with_(execution={"batch_trials": 2}, params=pacgan, grid__d_steps_per_g_step=[1])))
    # compiled stacks too (the stacked forward, once for all members)
    check_suite(validate_suite(with_(execution={"batch_trials": 2}, params={"batch_size": 16, "compile": True})))
    with pytest.raises(SuiteError, match="execution.batch_trials"):
        validate_suite(with_(execution={"batch_trials": 0}))


def test_a_stacked_search_refuses_a_searched_value_that_cannot_be_stacked():
    space = {"lr_g": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
             "d_dropout": {"type": "float", "low": 0.0, "high": 0.5}}
    search = {"n_trials": 4, "objective": {"metric": "reverse_kl"}, "space": space}
    message = error(with_(execution={"batch_trials": 2}, search=search))
    assert "search.space.d_dropout = 0.5 cannot be batched" in message and "no dropout" in message
    assert "lr_g" not in message
    check_suite(validate_suite(with_(execution={"batch_trials": 2}, search={**search, "space": {"lr_g": space["lr_g"]}})))


# -- memory ---------------------------------------------------------------------------------


def mlp_estimate(**params):
    cfg = TrialConfig(model="mlp", loss="minimax", dataset="ring8", **params)
    return estimate_memory(cfg, DATASETS.get("ring8")())


@pytest.mark.parametrize("hidden, depth, z_dim, batch", [(256, 3, 64, 8192), (2048, 2, 512, 16), (64, 1, 2, 100_000)])
def test_the_estimate_of_an_mlp_is_near_its_closed_form(hidden, depth, z_dim, batch):
    """Closed form from the layer sizes (float32, 4 bytes; data dimension d = 2, batch n):

    parameters  P_G = (z h + h) + (depth - 1)(h^2 + h) + (h d + d),  P_D = (d h + h) + (depth - 1)(h^2 + h) + (h + 1)
    state       16 (P_G + P_D): weights, gradients and Adam's two moments
    activations 4 n (A_G + 2 A_D): every layer output (pre- and post-activation) of G once and of D
                twice (its real and its fake batch), A_G = 2 depth h + d, A_D = 2 depth h + 1
    inputs      4 n (2 d + z): the real and the fake batch, and z
    """
    h, d, n = hidden, 2, batch
    p_g = (z_dim * h + h) + (depth - 1) * (h * h + h) + (h * d + d)
    p_d = (d * h + h) + (depth - 1) * (h * h + h) + (h + 1)
    closed = 16 * (p_g + p_d) + 4 * n * ((2 * depth * h + d) + 2 * (2 * depth * h + 1)) + 4 * n * (2 * d + z_dim)
    est = mlp_estimate(hidden=hidden, depth=depth, z_dim=z_dim, batch_size=batch, eval_samples=16)
    assert (est.params_g, est.params_d) == (4 * p_g, 4 * p_d)  # read exactly off the meta modules
    assert est.phase == "training" and est.batch == batch
    ratio = est.total / closed
    print(f"hidden={h} depth={depth} z={z_dim} n={n}: estimate {est.total:,} B, closed form {closed:,} B, "
          f"ratio {ratio:.2f}")
    assert 1.0 <= ratio <= 2.5  # never below the textbook count; its 3x activation factor costs at most 2x


def test_the_estimate_grows_linearly_with_the_batch():
    sizes = [2**20, 2**21, 2**22, 2**23]
    totals = [mlp_estimate(batch_size=n, eval_samples=16).total for n in sizes]
    steps = [b - a for a, b in zip(totals, totals[1:])]
    assert steps[1] == 2 * steps[0] and steps[2] == 2 * steps[1]  # affine in the batch, exactly
    assert 1.99 < totals[-1] / totals[-2] <= 2.0


def test_evaluation_counts_when_it_is_the_largest_batch():
    small_eval = mlp_estimate(batch_size=64, eval_samples=64)
    big_eval = mlp_estimate(batch_size=64, eval_samples=10**7)
    assert big_eval.phase == "evaluation" and big_eval.batch == 10**7
    assert big_eval.total > 1000 * small_eval.total


def test_cyclegan_and_dirac_are_estimated():
    data = DATASETS.get("digits_invert")()
    plain = estimate_memory(TrialConfig(model="cyclegan", loss="lsgan", dataset="digits_invert", batch_size=64), data)
    identity = estimate_memory(TrialConfig(model="cyclegan", loss="lsgan", dataset="digits_invert", batch_size=64,
                                           identity_weight=0.5), data)
    assert plain.per_sample_g > 0 and plain.per_sample_d > 0
    assert identity.per_sample_g == plain.per_sample_g * 3 // 2  # a third pass of each translator
    dirac = estimate_memory(TrialConfig(model="dirac", loss="minimax", dataset="dirac", z_dim=1, optimizer="sgd"),
                            DATASETS.get("dirac")())
    assert dirac.params_g == dirac.params_d == 4 and dirac.total < 10**6


def test_a_trial_above_the_memory_limit_is_refused_naming_cell_estimate_and_limit():
    suite = validate_suite(with_(params={"batch_size": 4096}))
    one = mlp_estimate(batch_size=4096).total
    check_suite(suite, memory_bytes=one + 1)
    with pytest.raises(SuiteError) as info:
        check_suite(suite, "suites/x.yaml", memory_bytes=one - 1)
    message = str(info.value)
    assert message.startswith("suites/x.yaml: memory: cell model=mlp loss=minimax d_steps_per_g_step=1 dataset=ring8; ")
    assert all(f"cell {suite.cell_label(cell)}" in message for cell in suite.cells())  # same sizes: one problem
    assert "a trial needs about" in message
    assert f"{one / 1e9:.3g} GB" in message and f"more than the memory limit of {(one - 1) / 1e9:.3g} GB" in message


def test_stacked_trials_count_together_and_a_search_is_sized_at_its_largest():
    one = mlp_estimate(batch_size=16).total
    stacked = validate_suite(with_(execution={"batch_trials": 2}))
    check_suite(validate_suite(GOOD), memory_bytes=one + 1)
    with pytest.raises(SuiteError, match="2 stacked trials"):
        check_suite(stacked, memory_bytes=one + 1)
    # each range end alone fits; both at their high end together do not
    space = {"batch_size": {"type": "int", "low": 16, "high": 2**16}, "hidden": {"type": "int", "low": 8, "high": 1024}}
    search = {"n_trials": 2, "objective": {"metric": "reverse_kl"}, "space": space}
    ends = [mlp_estimate(batch_size=2**16, hidden=128).total, mlp_estimate(batch_size=16, hidden=1024).total]
    both = mlp_estimate(batch_size=2**16, hidden=1024).total
    assert max(ends) < both
    with pytest.raises(SuiteError) as info:
        check_suite(validate_suite(with_(params={}, search=search)), memory_bytes=max(ends) + 1)
    assert "with search.space at its largest (batch_size = 65536, hidden = 1024)" in str(info.value)
    assert "search.space.batch_size = 65536:" not in str(info.value)


#: runs bench.py validate in a fresh process of its own, so RUSAGE_CHILDREN is that validate's alone
RSS_PROBE = """
import json, resource, subprocess, sys
done = subprocess.run([sys.executable, "bench.py", "validate", sys.argv[1]], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "stderr": done.stderr,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@pytest.mark.parametrize("params", [{"batch_size": 1_000_000_000}, {"z_dim": 100_000_000}],
                         ids=["batch_size", "z_dim"])
def test_validate_refuses_an_oversized_trial_without_allocating_it(tmp_path, params):
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(with_(params=params)))
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], cwd=ROOT, capture_output=True, text=True,
                           check=True, timeout=300)
    out = json.loads(probe.stdout)
    stderr = " ".join(out["stderr"].split())  # rich wraps long lines
    print(f"{params}: peak RSS {out['maxrss_kib'] / 1024:.0f} MiB; {stderr}")
    assert out["rc"] == 2 and "Traceback" not in out["stderr"]
    assert "memory: cell model=mlp" in stderr and "a trial needs about" in stderr and " GB" in stderr
    assert "more than this machine's memory" in stderr
    assert out["maxrss_kib"] < 1024 * 1024  # KiB on Linux: under 1 GiB


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "suites").glob("*.yaml")))
def test_every_published_suite_validates(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["validate", path]) == 0


@pytest.mark.parametrize("override", ["z_dim=9223372036854775807", "hidden=4294967296"])
def test_sizes_past_what_a_tensor_can_address_are_refused_not_crashed(override):
    key, value = override.split("=")
    msg = error(with_(params={"batch_size": 16, key: int(value)}))
    assert "cannot be built at these sizes" in msg
