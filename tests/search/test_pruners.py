"""The collapse-aware pruner: planted trajectories through the real StudyServer (journal storage in
tmp_path, no Ray), and one real training run whose D saturates."""
from __future__ import annotations

import math
import pickle

import pytest

from ganbench.search.optuna_setup import make_pruner
from ganbench.search.pruners import CollapsePruner, reported_metrics
from ganbench.search.schema import Search
from ganbench.search.server import StudyServer
from ganbench.suite import SuiteError, apply_overrides, validate_suite
from ganbench.sweep.studies import PruneHook
from tests.search.test_search import search, suite_with

HEALTHY = {"d_real_mean": 0.55, "d_fake_mean": 0.45}
SATURATED = {"d_real_mean": 0.995, "d_fake_mean": 0.004}
STEPS, EVAL_EVERY = 100, 5


def collapse_server(tmp_path, **kw) -> StudyServer:
    return StudyServer(str(tmp_path / "j"), "s", ["a"], search(pruner="collapse", **kw), STEPS, EVAL_EVERY)


def run_curve(s: StudyServer, values, extras) -> list[bool]:
    """Report one trial's evaluations (steps 5, 10, ...) until the pruner stops it; what it answered each time."""
    t = s.ask("a")
    answers = []
    for i, (value, extra) in enumerate(zip(values, extras)):
        answers.append(s.report("a", t.number, EVAL_EVERY * (i + 1), value, extra))
        if answers[-1]:
            break
    return answers


def finish_startup_trials(s: StudyServer, values=(0.1, 0.2, 0.15, 0.12, 0.18)) -> None:
    """Five complete trials with flat, healthy curves: the median rule is active from here on."""
    for value in values:
        t = s.ask("a")
        for step in (5, 10, 15):
            assert not s.report("a", t.number, step, value, {**HEALTHY, "modes_covered": 20.0})
        s.tell("a", t.number, "complete", value, f"id{t.number}")


def test_d_saturated_for_three_evaluations_in_a_row_is_pruned_as_saturated(tmp_path):
    s = collapse_server(tmp_path)
    answers = run_curve(s, [0.3] * 6, [SATURATED] * 6)
    assert answers == [False, False, True]
    assert s.pruned_by("a", 0) == "saturated"


def test_one_unsaturated_evaluation_restarts_the_count(tmp_path):
    s = collapse_server(tmp_path)
    answers = run_curve(s, [0.3] * 6, [SATURATED, SATURATED, HEALTHY, SATURATED, SATURATED, SATURATED])
    assert answers == [False] * 5 + [True]


def test_modes_dropping_to_at_most_half_the_best_so_far_is_pruned_as_collapsed(tmp_path):
    s = collapse_server(tmp_path)
    modes = [14.0, 20.0, 11.0, 8.0, 20.0]  # 11 > 20 / 2 continues; 8 <= 10 stops
    answers = run_curve(s, [0.3] * 5, [{**HEALTHY, "modes_covered": m} for m in modes])
    assert answers == [False, False, False, True]
    assert s.pruned_by("a", 0) == "collapsed"


def test_a_healthy_trial_runs_to_the_end(tmp_path):
    s = collapse_server(tmp_path)
    finish_startup_trials(s)
    values = [0.12 - 0.005 * i for i in range(10)]  # better than the median at every step
    answers = run_curve(s, values, [{**HEALTHY, "modes_covered": 18.0 + i % 3} for i in range(10)])
    assert answers == [False] * 10
    assert s.pruned_by("a", 5) is None


def test_a_trial_worse_than_the_median_of_five_finished_trials_is_pruned_as_median(tmp_path):
    s = collapse_server(tmp_path)
    finish_startup_trials(s)
    answers = run_curve(s, [2.0] * 3, [{**HEALTHY, "modes_covered": 20.0}] * 3)
    assert answers == [False, True]  # step 5 is warm-up (2 x eval_every), step 10 is not
    assert s.pruned_by("a", 5) == "median"


def test_a_non_finite_metric_is_pruned_as_diverged_but_a_nan_objective_is_left_to_the_trial(tmp_path):
    s = collapse_server(tmp_path)
    t = s.ask("a")
    assert not s.report("a", t.number, 5, math.nan, HEALTHY)  # the trial loop ends it as diverged
    assert s.report("a", t.number, 10, 0.3, {"d_real_mean": math.nan, "d_fake_mean": 0.4})
    assert s.pruned_by("a", t.number) == "diverged"


def test_critic_losses_send_no_d_probabilities_so_they_are_never_judged_saturated():
    assert reported_metrics("minimax") == ("d_real_mean", "d_fake_mean", "modes_covered")
    assert reported_metrics("nonsaturating") == reported_metrics("minimax")
    for critic in ("wgan", "wgan-gp", "hinge", "lsgan", "rsgan"):
        assert reported_metrics(critic) == ("modes_covered",)


def test_the_median_pruner_records_pruned_by_too(tmp_path):
    s = StudyServer(str(tmp_path / "j"), "s", ["a"], search(pruner="median"), STEPS, EVAL_EVERY)
    finish_startup_trials(s)
    assert run_curve(s, [2.0] * 3, [None] * 3) == [False, True]
    assert s.pruned_by("a", 5) == "median" and s.history("a")[5]["pruned_by"] == "median"


def test_a_stop_at_the_last_evaluation_is_forgotten_when_the_trial_completes(tmp_path):
    # the training loop never stops at the last evaluation, so that trial completes
    s = StudyServer(str(tmp_path / "j"), "s", ["a"], search(pruner="collapse"), 15, EVAL_EVERY)
    answers = run_curve(s, [0.3] * 3, [SATURATED] * 3)
    assert answers == [False, False, True]
    s.tell("a", 0, "complete", 0.3, "id0")
    assert s.pruned_by("a", 0) is None and s.history("a")[0]["state"] == "COMPLETE"


def test_pruner_options_reach_the_pruner_and_defaults_work():
    pruner = make_pruner(Search.model_validate(search(pruner="collapse")), 1000, 250)
    assert isinstance(pruner, CollapsePruner)
    settings = (pruner.saturation_evals, pruner.d_real_min, pruner.d_fake_max, pruner.collapse_fraction)
    assert settings == (3, 0.99, 0.01, 0.5)
    assert (pruner.median._n_startup_trials, pruner.median._n_warmup_steps) == (5, 500)  # as pruner: median
    tuned = make_pruner(Search.model_validate(
        search(pruner="collapse", pruner_options={"saturation_evals": 2, "collapse_fraction": 0.3})), 1000, 250)
    assert (tuned.saturation_evals, tuned.collapse_fraction) == (2, 0.3)


@pytest.mark.parametrize("change, fragment", [
    ({"pruner": "asha"}, "'none', 'median', 'hyperband' or 'collapse'"),
    ({"pruner": "median", "pruner_options": {"saturation_evals": 2}}, "pruner_options are the collapse pruner's"),
    ({"pruner": "collapse", "pruner_options": {"patience": 2}}, "patience"),
    ({"pruner": "collapse", "pruner_options": {"collapse_fraction": 1.5}}, "collapse_fraction"),
])
def test_bad_pruner_settings_say_what_is_valid(change, fragment):
    with pytest.raises(SuiteError) as info:
        validate_suite(suite_with(search(**change)), source="x.yaml")
    assert fragment in str(info.value)


def test_the_command_line_selects_the_pruner_its_options_and_the_search_seed():
    raw = apply_overrides(suite_with(search()), ["search.pruner=collapse", "search.seed=5",
                                                 "search.pruner_options.collapse_fraction=0.25"])
    suite = validate_suite(raw)
    chosen = suite.search
    assert (chosen.pruner, chosen.seed, chosen.pruner_options.collapse_fraction) == ("collapse", 5, 0.25)


def test_a_search_without_pruner_options_keeps_its_suite_hash():
    # the key was added later: leaving it out of the dump keeps earlier runs' suite_hash
    suite = validate_suite(suite_with(search()))
    assert "pruner_options" not in suite.model_dump(mode="json")["search"]
    tuned = validate_suite(suite_with(search(pruner="collapse", pruner_options={"saturation_evals": 2})))
    assert tuned.model_dump(mode="json")["search"]["pruner_options"]["saturation_evals"] == 2


def test_the_workers_hook_is_picklable_and_sends_only_the_metrics_the_pruner_reads():
    hook = PruneHook(None, "a", 3, "reverse_kl", reported_metrics("minimax"))
    assert pickle.loads(pickle.dumps(hook)) == hook
    metrics = {"reverse_kl": 0.2, "d_real_mean": 0.6, "d_fake_mean": 0.4, "g_loss": 1.0}  # no modes on this data
    assert hook.report_args(50, metrics) == ("a", 3, 50, 0.2, {"d_real_mean": 0.6, "d_fake_mean": 0.4})
    assert PruneHook(None, "a", 3, "reverse_kl").report_args(50, metrics)[-1] == {}  # other pruners: objective only


def test_a_real_trial_whose_d_saturates_is_stopped_by_the_collapse_pruner(tmp_path, one_thread):
    from ganbench.config import TrialConfig
    from ganbench.training.loop import train

    s = StudyServer(str(tmp_path / "j"), "s", ["a", "b"], search(pruner="collapse"), 300, 50)
    results = {}
    for label, loss in (("a", "minimax"), ("b", "wgan")):
        # D learns 10,000x faster than G: for minimax D(x) -> 1 and D(G(z)) -> 0 within 50 steps
        cfg = TrialConfig(model="mlp", loss=loss, dataset="ring8", steps=300, eval_every=50, lr_d=1e-2, lr_g=1e-6,
                          batch_size=64, hidden=32, eval_samples=300, seed=1)
        hook = PruneHook(None, label, s.ask(label).number, "reverse_kl", reported_metrics(loss))
        results[label] = train(cfg, on_eval=lambda step, m, hook=hook: s.report(*hook.report_args(step, m)))
    saturated = results["a"]
    assert (saturated.status, saturated.steps_done, s.pruned_by("a", 0)) == ("pruned", 150, "saturated")
    # the same learning rates with a critic: D's outputs are not probabilities, so the rule does not apply
    assert results["b"].status == "complete" and s.pruned_by("b", 0) is None
