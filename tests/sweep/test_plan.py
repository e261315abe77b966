"""Planning: the grid's jobs, stacked batches by shape across cells, finished trials skipped."""
from __future__ import annotations

from ganbench.config import TrialConfig
from ganbench.results import Status
from ganbench.suite import validate_suite
from ganbench.sweep.jobs import Job
from ganbench.sweep.plan import GridPlan, _batches
from tests.suite.test_suite import GOOD, with_


def test_stacked_batches_group_a_whole_grid_by_shape_not_by_cell():
    suite = validate_suite(with_(execution={"batch_trials": 4}))
    assert suite.suite_hash() != validate_suite(GOOD).suite_hash()
    jobs = GridPlan(suite, []).todo
    # 2 losses x k in {1, 3} x 2 seeds: k changes the loop, the loss is per-trial arithmetic
    assert len(jobs) == 2 and all(len(j.members) == 4 for j in jobs)
    for job in jobs:
        assert len({m.cfg.d_steps_per_g_step for m in job.members}) == 1
        assert {m.cfg.loss for m in job.members} == {"minimax", "hinge"}
        assert len({m.label for m in job.members}) == 2  # each member keeps its own cell
    assert sorted(m.trial_id for j in jobs for m in j.members) == sorted(c.config_hash() for c in suite.trial_configs())


def test_finished_trials_are_skipped_and_failed_ones_rerun():
    suite = validate_suite(GOOD)
    ids = [cfg.config_hash() for cfg in suite.trial_configs()]
    rows = [{"trial_id": ids[0], "status": Status.COMPLETE.value}, {"trial_id": ids[1], "status": "pruned"},
            {"trial_id": ids[2], "status": "diverged"}, {"trial_id": ids[3], "status": Status.FAILED.value}]
    plan = GridPlan(suite, rows)
    assert plan.already_done == 3 and plan.total == 8
    assert {job.trial_id for job in plan.todo} == set(ids[3:])


def cfg(**kw) -> TrialConfig:
    return TrialConfig(model="mlp", loss="nonsaturating", dataset="ring8", **kw)


def test_jobs_are_batched_across_cells_and_split_by_what_they_must_share():
    cfgs = [cfg(seed=s, lr_g=lr, d_steps_per_g_step=k) for s, lr, k in
            [(0, 1e-3, 1), (0, 2e-3, 2), (0, 3e-3, 1), (0, 4e-3, 1), (0, 5e-3, 2)]]
    jobs = [Job(c, f"t{i}", "cell-a") for i, c in enumerate(cfgs)] + [Job(cfg(seed=9), "t5", "cell-b")]
    batches = _batches(jobs, 2)
    assert [[m.trial_id for m in b.members] or [b.trial_id] for b in batches] == \
        [["t0", "t2"], ["t3", "t5"], ["t1", "t4"]]
    assert _batches(jobs, 1) == jobs


def test_the_longest_jobs_go_first_so_no_worker_idles_at_the_end():
    # 2 losses x k in {1, 3} x 3 seeds, batches of up to 4: k = 3 batches draw twice the examples per iteration
    suite = validate_suite(with_(seeds=[0, 1, 2], execution={"batch_trials": 4}))
    plan = GridPlan(suite, [])
    jobs = []
    while (job := plan.next_job()) is not None:
        jobs.append(job)
    work = [len(j.members or [j]) * (j.cfg.d_steps_per_g_step + 1) for j in jobs]
    assert work == sorted(work, reverse=True) == [12, 12, 6, 6]  # 6 per k, cut 3 + 3 (near-equal), not 4 + 2
    assert [j.cfg.d_steps_per_g_step for j in jobs] == [3, 3, 1, 1]


def test_every_worker_gets_a_batch_of_each_shape():
    # batches of up to 12 would put each k's 6 trials in one batch: with 2 workers each k is cut in two
    suite = validate_suite(with_(seeds=[0, 1, 2], execution={"batch_trials": 12}))
    assert [len(j.members) for j in GridPlan(suite, []).todo] == [6, 6]
    assert [len(j.members) for j in GridPlan(suite, [], workers=2).todo] == [3, 3, 3, 3]
    # never more batches than jobs: 8 workers, 6 trials of a shape, one trial each
    assert all(not j.members for j in GridPlan(suite, [], workers=8).todo)
