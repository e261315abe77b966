"""Sweeps that meet failures, with the real Ray and Optuna: a killed driver, a lost node, pruning.

Each test runs real trials (tiny MLPs, a few hundred steps), so each takes 10-60 s.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

SEARCH = """\
name: {name}
seeds: [1]
budget: {{steps: {steps}, eval_every: 50}}
grid:
  model: [mlp]
  loss: [nonsaturating]
  dataset: [ring8]
params: {{batch_size: 64, hidden: 32, eval_samples: 300}}
search:
  n_trials: {n_trials}
  sampler: random
  pruner: {pruner}
  seed: 7
  objective: {{metric: reverse_kl}}
  space:
    lr_g: {{type: float, low: 1.0e-6, high: 1.0e-1, log: true}}
    lr_d: {{type: float, low: 1.0e-6, high: 1.0e-1, log: true}}
"""


def start(suite: Path, out: Path, log: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "GANBENCH_EXECUTION_LOG": str(log)}
    return subprocess.Popen([sys.executable, str(ROOT / "bench.py"), "run", str(suite), "--out", str(out),
                             "--max-concurrent", "2", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def recorded(out: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(out / "trials.parquet")
    except (FileNotFoundError, OSError, ValueError):
        return pd.DataFrame()


def wait_for_rows(run: subprocess.Popen, out: Path, n: int, timeout: float = 240) -> None:
    """Until the running sweep has recorded n trials (it must not have ended)."""
    deadline = time.time() + timeout
    while len(recorded(out)) < n:
        assert run.poll() is None, run.communicate()
        assert time.time() < deadline, f"fewer than {n} trials recorded in {timeout:.0f}s"
        time.sleep(0.2)


def executions(log: Path) -> list[str]:
    return [line.split("\t")[0] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.ray
def test_sigkilled_driver_resumes_without_losing_or_redoing_trials(tmp_path):
    suite = tmp_path / "kill.yaml"
    suite.write_text(SEARCH.format(name="kill", steps=400, n_trials=8, pruner="none"))
    out = tmp_path / "out"
    first = start(suite, out, tmp_path / "first.log")
    wait_for_rows(first, out, 2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = recorded(out)
    assert 2 <= len(before) < 9

    second = start(suite, out, tmp_path / "second.log")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    final = recorded(out)
    search = final[final["phase"] == "search"]
    assert len(search) == 8 and sorted(search["status"].unique()) == ["complete"]
    assert len(final[final["phase"] == "confirm"]) == 1 and final["trial_id"].is_unique
    # nothing the first driver had recorded ran again; its rows are kept as they were
    assert not set(before["trial_id"]) & set(executions(tmp_path / "second.log"))
    kept = final.set_index("trial_id").loc[before["trial_id"], "finished_at"]
    assert list(kept) == list(before["finished_at"])
    # trials the dead driver left running were marked failed (not counted) and run again
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "optuna.journal")))
    study = optuna.load_study(study_name="kill | model=mlp loss=nonsaturating dataset=ring8", storage=storage)
    interrupted = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert interrupted and all(t.state == optuna.trial.TrialState.FAIL for t in interrupted)
    retried = {t.user_attrs["retry_of"] for t in study.trials if "retry_of" in t.user_attrs}
    assert retried == {t.number for t in interrupted}
    assert "marked failed and run again" in err


@pytest.mark.ray
def test_median_pruner_stops_bad_trials_early(tmp_path):
    suite = tmp_path / "prune.yaml"
    suite.write_text(SEARCH.format(name="prune", steps=300, n_trials=14, pruner="median"))
    out = tmp_path / "out"
    run = start(suite, out, tmp_path / "exec.log")
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    search = recorded(out).query("phase == 'search'")
    assert len(search) == 14  # pruned trials use budget like any other
    pruned = search[search["status"] == "pruned"]
    assert len(pruned) >= 1
    assert (pruned["steps_done"] < 300).all() and (pruned["steps_done"] >= 100).all()  # never before warm-up
    assert (pruned["pruned_by"] == "median").all()  # the rule that stopped each, in its row and message
    assert pruned["message"].str.endswith(": median").all()
    assert (search.loc[search["status"] == "complete", "steps_done"] == 300).all()
    board = pd.read_csv(out / "leaderboard.csv")
    assert board.loc[0, "search_pruned"] == len(pruned) and board.loc[0, "search_trials"] == 14
    for name in ("budget.csv", "budget.png", "objective.csv", "objective.png"):
        assert (out / name).stat().st_size > 0


GRID = """\
name: nodes
seeds: [0, 1, 2, 3]
budget: {steps: 600, eval_every: 200}
grid:
  model: [mlp]
  loss: [nonsaturating, hinge]
  dataset: [ring8]
params: {batch_size: 64, hidden: 32, eval_samples: 300}
max_retries: 3
"""


@pytest.mark.ray
def test_sweep_completes_when_a_node_dies_mid_sweep(tmp_path):
    import ray
    from ray.cluster_utils import Cluster

    from ganbench.suite import load_suite
    from ganbench.sweep.driver import run_suite

    suite_file = tmp_path / "nodes.yaml"
    suite_file.write_text(GRID)
    suite = load_suite(suite_file)
    out = tmp_path / "out"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    doomed = cluster.add_node(num_cpus=2)
    try:
        ray.init(address=cluster.address)
        head_id, doomed_id = cluster.head_node.node_id, doomed.node_id
        result: dict = {}

        def sweep() -> None:
            try:
                result["board"] = run_suite(suite, out, address=cluster.address)
            except BaseException as err:  # surfaced by the assert below
                result["error"] = err

        thread = threading.Thread(target=sweep)
        thread.start()
        deadline = time.time() + 120

        def on_doomed() -> int:
            rows = recorded(out)
            return int(rows["ray_node_id"].eq(doomed_id).sum()) if len(rows) else 0

        # kill the node once it has finished a trial, while it runs others (8 trials, 3 slots)
        while on_doomed() < 1 and time.time() < deadline and thread.is_alive():
            time.sleep(0.1)
        finished_there = on_doomed()
        cluster.remove_node(doomed, allow_graceful=False)  # its running trials die with it
        thread.join(timeout=400)
        assert not thread.is_alive() and "error" not in result, result.get("error")
    finally:
        ray.shutdown()
        cluster.shutdown()
    trials = recorded(out)
    assert len(trials) == 8 and trials["trial_id"].is_unique
    assert set(trials["status"]) == {"complete"}
    # the lost node did run trials before it died; everything after ran on the head
    assert trials["ray_node_id"].eq(doomed_id).sum() >= finished_there >= 1  # its rows are kept
    assert trials["ray_node_id"].eq(head_id).sum() >= 1
