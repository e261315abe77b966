"""The real CLI on what a first day meets: own MNIST-format folders (each named by its content hash, each with its
own classifier), a metric that cannot be computed (NaN with its reason), a failing trial (exit 3)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.datasets.test_local import write_idx

ROOT = Path(__file__).resolve().parent.parent

MNIST = """\
name: tiny-mnist
seeds: [0]
budget: {steps: 2, eval_every: 2}
grid:
  model: [dcgan]
  loss: [hinge]
  dataset: [mnist]
params: {batch_size: 8, z_dim: 8, hidden: 4, eval_samples: 60}
resources: {num_cpus: 1}
"""

FAILING = """\
name: tiny-failing
seeds: [0]
budget: {steps: 10, eval_every: 10}
grid:
  model: [mlp]
  loss: [hinge]
  dataset: [ring8]
  device: [cpu, cuda]         # no worker of this run sees a GPU (CUDA_VISIBLE_DEVICES is empty): cuda fails
params: {batch_size: 16, hidden: 8, eval_samples: 100}
resources: {num_cpus: 1}
"""


def bench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def write_mnist(folder: Path, seed: int, test_from_train: bool) -> None:
    """80 training and 16 test 28x28 images in the IDX format; the test images copy training ones, or not."""
    rng = np.random.default_rng(seed)
    images, labels = rng.integers(0, 256, (96, 28, 28), dtype=np.uint8), np.arange(96) % 10
    test = slice(0, 16) if test_from_train else slice(80, 96)
    folder.mkdir(parents=True)
    for name, array in (("train-images-idx3-ubyte", images[:80]), ("train-labels-idx1-ubyte", labels[:80]),
                        ("t10k-images-idx3-ubyte", images[test]), ("t10k-labels-idx1-ubyte", labels[test])):
        write_idx(folder / name, array, gz=False)


def test_two_mnist_folders_train_two_classifiers_and_shared_test_images_make_memorization_nan(tmp_path):
    cache, suite = tmp_path / "cache", tmp_path / "tiny-mnist.yaml"
    suite.write_text(MNIST)
    runs = {}
    for name, test_from_train in (("shared", True), ("apart", False)):
        write_mnist(tmp_path / name / "mnist", seed=len(runs), test_from_train=test_from_train)
        out = tmp_path / f"results-{name}"
        res = bench("run", str(suite), "--out", str(out), GANBENCH_DATA_DIR=str(tmp_path / name),
                    GANBENCH_CACHE_DIR=str(cache))
        assert res.returncode == 0, res.stderr
        record = json.loads((out / "run.json").read_text())["datasets"]["mnist"]
        assert record["origin"] == f"local files in {tmp_path / name / 'mnist'}"
        row = pd.read_parquet(out / "trials.parquet").iloc[0]
        assert row.status == "complete" and row.data_hash == record["data_hash"]
        assert row.data_origin == record["origin"] and row.data_hash in row["image_eval.feature_net"]
        runs[name] = row
        noted = f"note: trial {row.trial_id}: nn_memorization: test and training sets share images"
        assert (noted in " ".join(res.stderr.split())) == test_from_train, res.stderr  # named at the end, exit 0

    shared, apart = runs["shared"], runs["apart"]
    assert shared.data_hash != apart.data_hash
    nets = sorted(p.name for p in (cache / "features").iterdir())
    assert len(nets) == 2 and all(any(r.data_hash in n for n in nets) for r in (shared, apart))
    # the test images also occur in the training set: nn_memorization has no scale; NaN with the reason, not a failure
    assert math.isnan(shared.nn_memorization)
    assert shared.metric_notes == ("nn_memorization: test and training sets share images (16 of 16 test images "
                                   "occur in the training set: median nearest-neighbour distance 0) [step 2]")
    assert math.isfinite(shared.fid) and math.isfinite(apart.nn_memorization) and apart.metric_notes == ""


def test_a_run_with_a_failed_trial_writes_everything_then_says_so_and_exits_3(tmp_path):
    suite = tmp_path / "tiny-failing.yaml"
    suite.write_text(FAILING)
    out = tmp_path / "results"
    res = bench("run", str(suite), "--out", str(out), CUDA_VISIBLE_DEVICES="")
    assert res.returncode == 3, res.stderr
    trials = pd.read_parquet(out / "trials.parquet").set_index("device")
    assert trials.loc["cpu", "status"] == "complete" and trials.loc["cuda", "status"] == "failed"
    failed = trials.loc["cuda"]
    assert "Traceback (most recent call last)" in failed.message and "training/loop.py" in failed.message
    assert (out / "leaderboard.csv").exists() and (out / "leaderboard.html").exists() and (out / "plots").is_dir()
    info = json.loads((out / "run.json").read_text())
    assert info["trials_run"] == 2 and list(info["failed_trials"]) == [failed.trial_id] and "timings" in info
    lines = " ".join(res.stderr.split())  # rich may wrap
    assert f"failed trial {failed.trial_id}: {failed.message.splitlines()[0]}" in lines
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("1 of the 2 trials this run ran failed") and "trials.parquet" in last, res.stderr
