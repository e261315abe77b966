"""One folder, one run; every bad input and fault ends in one clear message (exit 2); nothing is lost.

Real Ray, real files, the real CLI in subprocesses where a run starts Ray; in-process where it fails before.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from ganbench.cli import main
from ganbench.results import ResultsStore
from tests.sweep.test_faults import SEARCH, executions, recorded, start, wait_for_rows

ROOT = Path(__file__).resolve().parents[2]

GRID = """\
name: {name}
seeds: [0, 1, 2]
budget: {{steps: {steps}, eval_every: 100}}
grid:
  model: [mlp]
  loss: [nonsaturating, hinge]
  dataset: [ring8]
params: {{batch_size: 64, hidden: 32, eval_samples: 300}}
max_retries: {retries}
"""


def grid_suite(tmp_path: Path, name: str = "grid", steps: int = 200, retries: int = 2) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(GRID.format(name=name, steps=steps, retries=retries))
    return path


def bench(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_error(stderr: str) -> str:
    """The single 'error:' message of a refused command (no traceback), on one line."""
    assert "Traceback" not in stderr, stderr
    text = " ".join(stderr.split())
    assert text.count("error:") == 1, stderr
    return text


def run_in_process(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, " ".join(capsys.readouterr().err.split())


# --- 1. one folder, one run -------------------------------------------------------------------


@pytest.mark.ray
def test_a_second_run_into_a_busy_folder_exits_2_naming_the_holder_and_the_first_completes(tmp_path):
    suite = grid_suite(tmp_path, steps=300)
    out = tmp_path / "out"
    first = start(suite, out, tmp_path / "first.log")
    deadline = time.time() + 120
    while not (out / "run.json").exists():
        assert first.poll() is None, first.communicate()
        assert time.time() < deadline
        time.sleep(0.2)
    second = bench("run", str(suite), "--out", str(out))
    assert second.returncode == 2
    message = one_error(second.stderr)
    assert f"PID {first.pid}" in message and "in use by another run" in message
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    rows = recorded(out)
    assert len(rows) == 6 and rows["trial_id"].is_unique and (rows["status"] == "complete").all()


def test_a_flush_keeps_rows_another_writer_added(tmp_path):
    a, b = ResultsStore(tmp_path), ResultsStore(tmp_path)
    a.add({"trial_id": "t1", "status": "complete"}, [("t1", 1, "m", 1.0)])
    b.add({"trial_id": "t2", "status": "complete"}, [("t2", 1, "m", 2.0)])  # b never saw t1
    a.add({"trial_id": "t3", "status": "failed"}, [])
    again = ResultsStore(tmp_path)
    assert sorted(r["trial_id"] for r in again.rows) == ["t1", "t2", "t3"]
    assert sorted(c[0] for c in again.curves) == ["t1", "t2"]


def test_a_folder_holding_another_suites_rows_is_refused_without_run_json(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame([{"trial_id": "x", "status": "complete", "suite_hash": "0123456789abcdef"}]).to_parquet(
        out / "trials.parquet")
    code, err = run_in_process(capsys, "run", str(grid_suite(tmp_path)), "--out", str(out))
    assert code == 2 and "holds a run of a different suite (trials.parquet: hash 0123456789abcdef" in err
    assert sorted(p.name for p in out.iterdir()) == ["trials.parquet"]  # untouched
    assert f"rerun with --out {out}-2 for a new folder, or --fresh to move the old run aside" in err


def test_a_published_folder_is_never_advised_to_be_moved_aside(capsys):
    published = ROOT / "results" / "ring-losses"  # tracked by git: --fresh would move it out of the checkout
    before = sorted(p.name for p in published.iterdir())
    code, err = run_in_process(capsys, "run", str(ROOT / "suites/ring-losses.yaml"), "--set", "budget.steps=10",
                               "--out", str(published))
    assert code == 2 and "holds a run of a different suite" in err
    assert f"rerun with --out {published}-2 for a new folder ({published} is published in this repository: " \
           f"--fresh would move it aside)" in err and "or --fresh" not in err
    assert sorted(p.name for p in published.iterdir()) == before


# --- 2. resume never follows paths out of the folder ------------------------------------------


@pytest.mark.ray
def test_a_copied_and_a_moved_interrupted_search_resume_into_their_own_journals(tmp_path):
    suite = tmp_path / "copy.yaml"
    suite.write_text(SEARCH.format(name="copy", steps=200, n_trials=6, pruner="none"))
    out = tmp_path / "out"
    first = start(suite, out, tmp_path / "first.log")
    wait_for_rows(first, out, 2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    # an older run.json recorded the journal's absolute path: a resume must not follow it
    info = json.loads((out / "run.json").read_text())
    info["optuna_storage"] = str(out.resolve() / "optuna.journal")
    (out / "run.json").write_text(json.dumps(info))
    original = (out / "optuna.journal").read_bytes()
    # killed while it held Optuna's journal lock (a symlink to the journal): moved, the link dangles
    lock = out / "optuna.journal.lock"
    if not os.path.lexists(lock):
        os.symlink(out.resolve() / "optuna.journal", lock)
    copied, moved = tmp_path / "copied", tmp_path / "moved"
    shutil.copytree(out, copied)
    out.rename(moved)
    for folder in (copied, moved):
        run = start(suite, folder, tmp_path / f"{folder.name}.log")
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        search = recorded(folder).query("phase == 'search'")
        assert len(search) == 6 and search["trial_id"].is_unique
        storage = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(folder / "optuna.journal")))
        study = optuna.load_study(study_name="copy | model=mlp loss=nonsaturating dataset=ring8", storage=storage)
        done = [t for t in study.trials if t.state.is_finished() and not t.user_attrs.get("interrupted")]
        assert len(done) == 6
        assert json.loads((folder / "run.json").read_text())["optuna_storage"] == "optuna.journal"
    assert not out.exists()  # nothing was written where the folder used to be
    assert (copied / "optuna.journal").read_bytes()[:len(original)] == original


def test_a_stale_journal_lock_is_removed_even_when_its_link_dangles(tmp_path):
    from ganbench.search.optuna_setup import clear_stale_journal_lock

    journal = tmp_path / "optuna.journal"
    assert not clear_stale_journal_lock(str(journal))
    os.symlink(tmp_path / "gone" / "optuna.journal", str(journal) + ".lock")  # dangling: os.path.exists is False
    assert clear_stale_journal_lock(str(journal))
    assert not os.path.lexists(str(journal) + ".lock")


def test_run_json_records_no_password_and_an_rdb_is_used_only_when_repeated(tmp_path):
    from ganbench.errors import UserError
    from ganbench.search.optuna_setup import redact
    from ganbench.sweep.driver import resolve_storage

    url = "postgresql://alice:s3cret@db.example:5432/optuna"
    assert redact(url) == "postgresql://alice:***@db.example:5432/optuna"
    assert resolve_storage(tmp_path, url) == (url, redact(url))
    (tmp_path / "run.json").write_text(json.dumps({"optuna_storage": redact(url)}))
    assert resolve_storage(tmp_path, url) == (url, redact(url))
    with pytest.raises(UserError, match="resume with --storage and that URL in full"):
        resolve_storage(tmp_path, None)
    with pytest.raises(UserError, match="not postgresql://bob") as refused:
        resolve_storage(tmp_path, "postgresql://bob@db.example/optuna")
    assert f"to start over: rerun with --out {tmp_path}-2 for a new folder, or --fresh" in str(refused.value)
    published = ROOT / "results" / "search-ring"  # its own journal, and tracked: only a new folder is advised
    with pytest.raises(UserError, match="resume without --storage") as refused:
        resolve_storage(published, url)
    assert f"--out {published}-2 for a new folder ({published} is published" in str(refused.value)


# --- 3. sizes, and out-of-memory kills --------------------------------------------------------


@pytest.mark.ray
def test_a_trial_killed_for_memory_becomes_a_failed_row_after_bounded_retries(tmp_path):
    # Ray's memory monitor set to kill any task at once (threshold ~0): each attempt is killed, and
    # after max_retries the trial is a failed row with Ray's reason; the sweep ends.
    suite = grid_suite(tmp_path, name="oom", steps=20000, retries=1)
    out = tmp_path / "out"
    t0 = time.time()
    run = bench("run", str(suite), "--out", str(out), "--set", "seeds=[0]", "--set", "grid.loss=[hinge]",
                env={"RAY_memory_usage_threshold": "0.001", "RAY_memory_monitor_refresh_ms": "100"}, timeout=240)
    assert run.returncode == 3, run.stderr  # everything written, then exit 3: the run had a failed trial
    assert "1 of the 1 trials this run ran failed" in run.stdout + run.stderr
    rows = recorded(out)
    assert len(rows) == 1 and rows.loc[0, "status"] == "failed"
    assert "memory" in rows.loc[0, "message"].lower()
    assert time.time() - t0 < 240


# --- 4. clusters that are not there ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, expected", [
    (None, "cannot reach the Ray head at 127.0.0.1:"),
    ("10.0.0.1", "expected HOST:PORT"),
    ("host:notaport", "expected HOST:PORT"),
])
def test_an_unreachable_or_malformed_address_exits_2_fast_and_creates_nothing(tmp_path, address, expected):
    out = tmp_path / "out"
    t0 = time.time()
    res = bench("run", str(grid_suite(tmp_path)), "--out", str(out), "--address",
                address or f"127.0.0.1:{free_port()}", timeout=60)
    assert res.returncode == 2 and time.time() - t0 < 30
    assert expected in one_error(res.stderr)
    assert not out.exists()


def _ray_runs_on_this_machine() -> bool:
    from ray._private.services import find_gcs_addresses  # the very lookup Ray's 'auto' makes

    return bool(find_gcs_addresses())


def test_address_auto_without_a_cluster_exits_2(tmp_path, capsys):
    if _ray_runs_on_this_machine():  # Ray's 'auto' joins any local cluster, e.g. another bench.py's embedded one
        pytest.skip("a Ray cluster runs on this machine, so --address auto has one to join")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    res = subprocess.run([sys.executable, str(ROOT / "bench.py"), "run", str(grid_suite(tmp_path)), "--out",
                          str(tmp_path / "out"), "--address", "auto"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 2 and "cannot join the Ray cluster" in one_error(res.stderr)
    assert not (tmp_path / "out").exists()


# --- 6. environment and file errors ------------------------------------------------------------


def test_out_that_is_a_file_or_under_a_file_is_refused(tmp_path, capsys):
    suite = grid_suite(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        code, err = run_in_process(capsys, "run", str(suite), "--out", str(out))
        assert code == 2 and "is a file, not a folder" in err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("storage, expected", [
    ("results.db", "not a database URL"),
    ("nosuchdb://x/y", "cannot open it"),
])
def test_a_bad_storage_is_refused_before_anything_is_made(tmp_path, capsys, storage, expected):
    suite = tmp_path / "s.yaml"
    suite.write_text(SEARCH.format(name="s", steps=100, n_trials=2, pruner="none"))
    out = tmp_path / "out"
    code, err = run_in_process(capsys, "run", str(suite), "--out", str(out), "--storage", storage)
    assert code == 2 and expected in err and "Traceback" not in err
    assert not out.exists() and not (ROOT / "results.db").exists()


def test_storage_on_a_suite_without_a_search_is_refused(tmp_path, capsys):
    code, err = run_in_process(capsys, "run", str(grid_suite(tmp_path)), "--out", str(tmp_path / "out"),
                               "--storage", "sqlite:///x.db")
    assert code == 2 and "has no search: block" in err and not (tmp_path / "out").exists()


@pytest.mark.ray
def test_more_cpus_per_trial_than_any_node_has_exits_2_and_makes_no_folder(tmp_path):
    out = tmp_path / "out"
    res = bench("run", str(grid_suite(tmp_path)), "--out", str(out), "--set", "resources.num_cpus=512")
    assert res.returncode == 2 and "resources.num_cpus = 512: no node" in one_error(res.stderr)
    assert not out.exists()


@pytest.mark.parametrize("damaged", ["trials.parquet", "run.json"])
def test_a_damaged_results_file_is_named_by_run_report_and_compare(tmp_path, capsys, damaged):
    folder = tmp_path / "ring"
    shutil.copytree(ROOT / "results" / "ring-losses", folder)
    data = (folder / damaged).read_bytes()
    (folder / damaged).write_bytes(data[: len(data) // 2])
    suite = folder / "suite.yaml"
    commands = [["report", str(folder)], ["run", str(suite), "--out", str(folder)]]
    if damaged == "trials.parquet":  # compare reads the trials, not run.json
        commands.append(["compare", str(ROOT / "results" / "ring-losses"), str(folder)])
    for args in commands:
        code, err = run_in_process(capsys, *args)
        assert code == 2 and f"{folder / damaged}: cannot be read" in err, (args, err)


def test_an_error_message_with_brackets_prints_them_as_written(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nseeds: [0]\nbudget: {steps: 1, eval_every: 1}\n"
                    "grid: {model: [mlp], loss: ['[bold]x[/bold]'], dataset: [ring8]}\n")
    code, err = run_in_process(capsys, "validate", str(path))
    assert code == 2 and "unknown loss '[bold]x[/bold]'" in err


# --- 9. signals ------------------------------------------------------------------------------


@pytest.mark.ray
def test_sigterm_mid_run_exits_143_with_a_hint_and_the_folder_resumes(tmp_path):
    suite = grid_suite(tmp_path, name="term", steps=400)
    out = tmp_path / "out"
    first = start(suite, out, tmp_path / "first.log")
    wait_for_rows(first, out, 1)
    first.send_signal(signal.SIGTERM)  # the driver alone, as `kill PID` or a job scheduler would
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    before = set(recorded(out)["trial_id"])
    second = start(suite, out, tmp_path / "second.log")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    rows = recorded(out)
    assert len(rows) == 6 and rows["trial_id"].is_unique
    assert not before & set(executions(tmp_path / "second.log"))


def _ignore_sigint() -> None:
    """What a non-interactive shell does to a job it starts in the background (`bench.py run ... &`)."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.ray
def test_sigint_stops_a_run_that_inherited_it_ignored_with_exit_130(tmp_path):
    suite = grid_suite(tmp_path, name="int", steps=400)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, str(ROOT / "bench.py"), "run", str(suite), "--out", str(out),
                            "--max-concurrent", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, preexec_fn=_ignore_sigint)
    wait_for_rows(run, out, 1)
    run.send_signal(signal.SIGINT)  # `kill -INT PID` from a script
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted: finished trials are saved" in err and "Traceback" not in err
    assert 1 <= len(recorded(out)) < 6  # what had finished is on disk; the rest did not run


# --- 8. exposure -----------------------------------------------------------------------------


@pytest.mark.ray
def test_the_local_ray_has_no_dashboard_and_uses_the_loopback_address():
    script = ("import socket, ray\n"
              "from ganbench.sweep.runner import start_ray\n"
              "start_ray(None)\n"
              "print(ray.nodes()[0]['NodeManagerAddress'])\n"
              "s = socket.socket(); print(s.connect_ex(('127.0.0.1', 8265))); s.close()\n"
              "print(ray.get_runtime_context().gcs_address)\n"
              "ray.shutdown()\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    node, dashboard, gcs = run.stdout.split()[-3:]
    assert node == "127.0.0.1" and gcs.startswith("127.0.0.1:")  # the servers listen on the loopback address
    assert dashboard != "0"  # nothing answers on the dashboard's port


@pytest.mark.ray
def test_no_ray_handle_of_the_run_is_alive_when_it_stops_its_ray(tmp_path, monkeypatch):
    """A Ray handle freed after ray.shutdown() can crash the driver (seen as SIGSEGV in resumed searches, at random):
    when a search run stops its Ray, no ActorHandle (its Optuna actor's, the prune hooks') or ObjectRef is alive;
    and when a block raises, ``handles_freed`` frees what its frames held though the traceback keeps them."""
    import gc
    import weakref

    import ray

    from ganbench.suite import load_suite
    from ganbench.sweep import runner
    from ganbench.sweep.driver import run_suite

    def live_handles() -> list[str]:
        gc.collect()
        kinds = (ray.actor.ActorHandle, ray.ObjectRef)
        return [type(o).__name__ for o in gc.get_objects() if issubclass(type(o), kinds)]

    seen: list[list[str]] = []
    disconnect = runner.RaySession.disconnect  # where ray.shutdown() runs

    def disconnect_and_look(session) -> None:
        if session.owned:
            seen.append(live_handles())
        disconnect(session)

    monkeypatch.setattr(runner.RaySession, "disconnect", disconnect_and_look)
    suite_file = tmp_path / "handles.yaml"
    suite_file.write_text(SEARCH.format(name="handles", steps=100, n_trials=3, pruner="median"))
    ray.shutdown()  # this run starts (and so stops) its own Ray
    run_suite(load_suite(suite_file), tmp_path / "out", max_concurrent=2)
    assert seen == [[]]

    class Held:
        pass

    def fails(held: Held) -> None:
        raise RuntimeError("trial failed")

    held = Held()
    alive = weakref.ref(held)
    with pytest.raises(RuntimeError) as caught:
        with runner.handles_freed():
            fails(held)
    del held  # now only the failed call's frame, kept by the traceback, holds it
    assert caught.value.__traceback__ is not None and alive() is None
