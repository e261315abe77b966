"""Each fixed part of a run is measured into run.json; Ray starts after the suite's checks and stops beside
the report's plots.

Facts only: which keys, which signs, which messages and exit codes; how long anything takes is for benchmarks/.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from ganbench.suite import SuiteError
from ganbench.sweep import runner
from ganbench.sweep.runner import RaySession
from ganbench.sweep.timings import KEYS, RunClock, record_timings, timings_line
from tests.sweep.test_reliability import bench, free_port, one_error

TINY = """\
name: tiny-timed
seeds: [0]
budget: {steps: 30, eval_every: 10}
grid:
  model: [mlp]
  loss: [nonsaturating, hinge]
  dataset: [ring8]
params: {batch_size: 32, hidden: 16, eval_samples: 200}
"""


@pytest.mark.ray
def test_a_run_records_every_timing_in_run_json_keeping_its_other_keys_and_prints_them(tmp_path):
    suite, out = tmp_path / "tiny.yaml", tmp_path / "out"
    suite.write_text(TINY)
    res = bench("run", str(suite), "--out", str(out), "--timings")
    assert res.returncode == 0, res.stderr
    info = json.loads((out / "run.json").read_text())
    assert {"suite", "suite_hash", "environment", "command", "started_at", "datasets", "trials_planned"} <= set(info)
    timings = info["timings"]
    assert set(timings) == set(KEYS)
    assert all(isinstance(v, float) and v >= 0 for v in timings.values()), timings
    assert timings["total_s"] >= timings["first_dispatch_s"]  # the first trial started within the run
    lines = res.stdout.splitlines()
    assert lines[-1].startswith("timings: ray_start ") and "plots " in lines[-1]
    # the summary printed before run_suite returned, and the plots and the page were written before the exit
    summary = lines.index("tiny-timed: 2 cells")
    assert summary < next(i for i, line in enumerate(lines) if line.startswith("tables in"))
    assert (out / "leaderboard.html").exists() and (out / "plots" / "curves_modes_covered.png").exists()


def test_an_unreachable_address_with_timings_still_exits_2_with_the_same_message_and_creates_nothing(tmp_path):
    suite, out = tmp_path / "tiny.yaml", tmp_path / "out"
    suite.write_text(TINY)
    res = bench("run", str(suite), "--out", str(out), "--address", f"127.0.0.1:{free_port()}", "--timings",
                timeout=60)
    assert res.returncode == 2 and "cannot reach the Ray head at 127.0.0.1:" in one_error(res.stderr)
    assert not out.exists() and "timings:" not in res.stdout


# --- Ray's start, after the suite's checks (no Ray started: start_ray is replaced) --------------------------


def test_a_suite_that_cannot_run_fails_before_ray_starts(monkeypatch, tmp_path):
    # torch work in a thread beside ray.init crashed the driver: the checks run first, Ray after them
    from ganbench.suite import validate_suite
    from ganbench.sweep.driver import run_suite

    started = []
    monkeypatch.setattr(runner, "start_ray", lambda address, *rest: started.append(address) or True)
    wide = validate_suite({"name": "wide", "seeds": [0], "budget": {"steps": 10, "eval_every": 10},
                           "grid": {"model": ["mlp"], "loss": ["hinge"], "dataset": ["ring8"]},
                           "params": {"hidden": 1_000_000, "depth": 8}})
    with pytest.raises(SuiteError):
        run_suite(wide, tmp_path / "out")
    assert started == [] and not (tmp_path / "out").exists()


def test_a_ray_this_session_started_stops_with_it(monkeypatch):
    stopped = []
    monkeypatch.setattr(runner, "start_ray", lambda address, *rest: True)
    monkeypatch.setattr(runner.ray, "shutdown", lambda: stopped.append(True))
    with RaySession() as session:
        session.start(None, 2)
        assert session.owned
    assert stopped == [True]
    monkeypatch.setattr(runner, "start_ray", lambda address, *rest: False)  # a caller's Ray, already up
    with RaySession() as session:
        session.start(None, 2)
    assert stopped == [True]  # left running


@pytest.mark.ray
def test_a_local_ray_stopped_in_the_background_is_gone_once_the_session_stops():
    import threading

    import ray

    ray.shutdown()  # this session starts its own
    with RaySession() as session:
        session.start(None, 2)
        assert session.owned and ray.get(ray.put(7)) == 7
        session.disconnect()
        assert not ray.is_initialized() and threading.active_count() == 1  # a fork is safe now
        node = session._node
        processes = [info.process for infos in node.all_processes.values() for info in infos]
        assert processes and all(p.poll() is None for p in processes)  # left running until stopped
        session.stop_in_background()
    assert all(p.poll() is not None for p in processes)  # the raylet, the GCS and the rest have exited
    assert threading.active_count() == 1


@pytest.mark.ray
def test_the_driver_works_while_the_cluster_is_full_and_every_result_still_arrives():
    from ganbench.suite import validate_suite
    from ganbench.sweep.jobs import Job

    suite = validate_suite({**yaml.safe_load(TINY), "name": "waits"})
    jobs = [Job(cfg, cfg.config_hash(), cfg.loss) for cfg in suite.trial_configs()]
    events: list[str] = []
    with RaySession() as session:
        session.start(None, 2)
        runner.run_jobs(lambda: jobs.pop() if jobs else None, suite.axes(), runner.RayOptions(max_concurrent=1),
                        on_start=lambda job: events.append("start"),
                        on_result=lambda job, out: events.append(out.row["status"]),
                        while_waiting=lambda: events.append("wait"))
    # one slot: each trial is dispatched, the driver works while it trains, then its result comes back
    assert events == ["start", "wait", "complete"] * 2


# --- the clock and the record ---------------------------------------------------------------------------------


def test_the_clock_takes_the_first_worker_start_and_never_makes_a_negative_wait():
    clock = RunClock()
    early = datetime.fromtimestamp(clock.started, timezone.utc) - timedelta(seconds=1)  # a worker's clock behind
    clock.trial_done({"started_at": (early + timedelta(seconds=5)).isoformat()})
    clock.trial_done({"started_at": early.isoformat()})
    clock.trial_done({"status": "failed"})  # a lost worker's row has no start
    timings = clock.timings()
    assert timings["first_dispatch_s"] == 0.0 and timings["train_s"] > 0
    assert set(timings) == set(KEYS)


def test_a_run_that_started_no_trial_has_no_first_dispatch():
    timings = RunClock().timings()
    assert timings["first_dispatch_s"] is None and timings["train_s"] == 0.0
    assert "first_dispatch -" in timings_line(timings)


def test_recording_timings_keeps_every_other_key_of_run_json(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"suite": "s", "environment": {"torch": "2"}}))
    record_timings(tmp_path, {"total_s": 1.5})
    assert json.loads((tmp_path / "run.json").read_text()) == {"suite": "s", "environment": {"torch": "2"},
                                                               "timings": {"total_s": 1.5}}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temp file left


# --- joining a cluster whose head uses token authentication ---------------------------------------------------


@pytest.mark.parametrize("token", [True, False])
def test_a_driver_joins_with_a_token_exactly_when_ray_start_would_use_one(tmp_path, token):
    # `ray start --head` turns token authentication on when a token file exists; a joining driver must as well
    import os
    import secrets
    import subprocess
    import sys

    if token:
        (tmp_path / ".ray").mkdir()
        (tmp_path / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")} | {"HOME": str(tmp_path)}
    code = "import os; from ganbench.sweep.runner import use_the_clusters_token as u; u(); " \
           "print(os.environ.get('RAY_AUTH_MODE'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("token" if token else "None")
