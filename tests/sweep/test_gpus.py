"""Trials on Ray-managed GPUs, verified with logical GPUs (Ray schedules GPUs a node declares, CUDA or not).

A `ray.cluster_utils.Cluster` whose nodes declare GPUs: fractional requests pack trials onto a GPU, whole
requests never share one, a request no node can fit is refused before anything runs. Where the worker has no
CUDA, `device: auto` trains on the CPU and says so. Concurrency is measured from the rows' start and finish times.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import torch

from ganbench.errors import UserError
from ganbench.suite import validate_suite

SUITE = {
    "name": "gpus", "seeds": list(range(10)), "budget": {"steps": 1000, "eval_every": 1000},
    "grid": {"model": ["mlp"], "loss": ["nonsaturating"], "dataset": ["ring8"]},
    "params": {"batch_size": 16, "hidden": 8, "depth": 1, "eval_samples": 100, "device": "auto"},
}


def suite(num_gpus: float, num_cpus: float = 0.25, **changes):
    raw = {**SUITE, "resources": {"num_cpus": num_cpus, "num_gpus": num_gpus}, **changes}
    return validate_suite(raw)


def most_at_once(rows: pd.DataFrame) -> int:
    """The largest number of trials running at one moment (from their start and finish times)."""
    events = []
    for start, end in zip(rows["started_at"], rows["finished_at"]):
        events += [(datetime.fromisoformat(start), 1), (datetime.fromisoformat(end), -1)]
    running = best = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):  # a finish before a start at the same instant
        running += change
        best = max(best, running)
    return best


@pytest.fixture(scope="module")
def cluster():
    """A head with nothing to schedule on, and two nodes: one with 1 logical GPU, one with 2."""
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "num_gpus": 0, "include_dashboard": False})
    c.add_node(num_cpus=8, num_gpus=1)
    c.add_node(num_cpus=8, num_gpus=2)
    ray.init(address=c.address)
    yield c
    ray.shutdown()
    c.shutdown()


def run(cluster, s, out: Path, **kw) -> pd.DataFrame:
    from ganbench.sweep.driver import run_suite

    run_suite(s, out, address=cluster.address, **kw)
    return pd.read_parquet(out / "trials.parquet")


@pytest.mark.ray
def test_quarter_gpus_pack_four_trials_on_each_gpu_and_never_more(cluster, tmp_path):
    rows = run(cluster, suite(0.25, seeds=list(range(16))), tmp_path / "quarter")
    assert len(rows) == 16 and (rows["status"] == "complete").all()
    assert most_at_once(rows) <= 4 * 3  # 3 logical GPUs
    for (node, gpu), group in rows.groupby(["ray_node_id", "ray_gpu_ids"]):
        assert gpu != "" and most_at_once(group) <= 4, (node, gpu)  # a quarter each: at most 4 per GPU
    assert most_at_once(rows) >= 8  # far more trials at once than 3 whole GPUs hold (measured: 12, 4 per GPU)
    # no CUDA here: device auto trains on the CPU and the row says so; the task saw Ray's GPU id
    if not torch.cuda.is_available():
        assert (rows["run_device"] == "cpu").all()
    assert (rows["cuda_visible_devices"] == rows["ray_gpu_ids"]).all()


@pytest.mark.ray
def test_whole_gpus_are_never_shared_and_two_gpus_come_from_one_node(cluster, tmp_path):
    ones = run(cluster, suite(1, seeds=list(range(6))), tmp_path / "one")
    assert most_at_once(ones) <= 3
    for _, group in ones.groupby(["ray_node_id", "ray_gpu_ids"]):
        assert most_at_once(group) == 1  # one trial per GPU at any moment
    twos = run(cluster, suite(2, seeds=[0, 1]), tmp_path / "two")
    assert all(len(ids.split(",")) == 2 for ids in twos["ray_gpu_ids"])  # both ids on the 2-GPU node
    assert twos["ray_node_id"].nunique() == 1


@pytest.mark.ray
def test_a_gpu_request_no_node_fits_is_refused_before_anything_runs(cluster, tmp_path):
    with pytest.raises(UserError, match=r"resources.num_gpus = 3: no node of the Ray cluster has that many "
                                        r"\(the largest has 2 GPUs\)"):
        run(cluster, suite(3), tmp_path / "three")
    assert not (tmp_path / "three").exists()


@pytest.mark.ray
def test_a_stacked_batch_asks_for_one_tasks_gpu_share_and_max_concurrent_bounds_tasks(cluster, tmp_path):
    rows = run(cluster, suite(0.5, seeds=list(range(8)), execution={"batch_trials": 4}), tmp_path / "stacked",
               max_concurrent=1)
    assert len(rows) == 8 and (rows["batch_trials"] == 4).all()
    assert rows["started_at"].nunique() == 2  # two tasks of four stacked trials, one after the other
    assert most_at_once(rows.drop_duplicates("started_at")) == 1


@pytest.mark.ray
def test_device_cuda_without_cuda_fails_that_trial_and_the_sweep_goes_on(cluster, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: a cuda trial would train")
    s = suite(0.5, seeds=[0], grid={**SUITE["grid"], "device": ["cpu", "cuda"]},
              params={k: v for k, v in SUITE["params"].items() if k != "device"})
    rows = run(cluster, s, tmp_path / "cuda").set_index("device")
    assert rows.loc["cpu", "status"] == "complete" and rows.loc["cuda", "status"] == "failed"
    assert "device: cuda, but this worker has no usable CUDA GPU" in rows.loc["cuda", "message"]
