"""The real CLI end to end: a tiny suite through `bench.py run` on an embedded Ray, then resume and refusal."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

TINY = """\
name: tiny
seeds: [0]
budget: {steps: 30, eval_every: 10}
grid:
  model: [mlp]
  loss: [nonsaturating]
  dataset: [ring8]
  lr_d: [1.0e-3, 1.0e+30]     # the second one diverges
  device: [cpu, cuda]         # cuda fails on a CPU-only worker: the trial is 'failed', the sweep goes on
params: {batch_size: 32, hidden: 16, optimizer: sgd, lr_g: 1.0e-3, eval_samples: 200}
resources: {num_cpus: 1}
target: {metric: high_quality_frac, value: 0.0}
"""


def bench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_list_shows_every_family_with_descriptions():
    out = bench("list").stdout
    for name in ("minimax", "nonsaturating", "wgan-gp", "ring8", "grid25", "dirac", "mlp", "modes_covered"):
        assert name in out
    losses = bench("list", "losses").stdout
    assert "Goodfellow 2014" in losses and "ring8" not in losses


def test_validate_counts_the_planned_trials():
    res = bench("validate", "suites/ring-losses.yaml")
    assert res.returncode == 0
    assert "6 cells x 3 seeds = 18 trials" in res.stdout


def test_validate_prints_the_trials_it_plans_a_row_per_cell(tmp_path, capsys):
    from ganbench.cli import VALIDATE_ROWS, main

    assert main(["validate", "suites/ring-losses.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "planned: each cell x seeds 0, 1, 2; every cell model=mlp dataset=ring8" in lines
    assert lines[2].split() == ["#", "loss", "d_steps_per_g_step"] and lines[3].split() == ["1", "minimax", "1"]
    assert lines[-1].split() == ["6", "hinge", "3"]
    suite = tmp_path / "many.yaml"  # more cells than the table lists
    suite.write_text("name: many\nseeds: [0]\nbudget: {steps: 10, eval_every: 10}\n"
                     f"grid: {{model: [mlp], loss: [minimax], dataset: [ring8], lr_g: {list(range(1, 25))}}}\n")
    assert main(["validate", str(suite)]) == 0
    out = capsys.readouterr().out
    assert f"... and {24 - VALIDATE_ROWS} more cells (24 in all)" in out
    assert f" {VALIDATE_ROWS}  {VALIDATE_ROWS} " in out and f" {VALIDATE_ROWS + 1} " not in out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name: x\nseeds: [0]\nbudget: {steps: 1, eval_every: 1}\ngrid: {model: [mlp], loss: [hing], dataset: [ring8]}\n",
         ["grid.loss[0]", "did you mean 'hinge'", "nonsaturating"]),
        ("name: x\nseeds: [0\n", ["not valid YAML"]),
        ("name: x\nseeds: [0]\nbudget: {steps: 1, eval_every: 1}\n"
         "grid: {model: [mlp], loss: [minimax], dataset: [ring8], d_steps_per_g_step: [0]}\n",
         ["grid.d_steps_per_g_step[0]", "greater than or equal to 1"]),
    ],
)
def test_bad_suite_exits_2_with_one_clear_message_and_creates_nothing(tmp_path, text, expected):
    suite = tmp_path / "bad.yaml"
    suite.write_text(text)
    out = tmp_path / "out"
    res = bench("run", str(suite), "--out", str(out))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert str(suite) in res.stderr
    for fragment in expected:
        assert fragment in res.stderr
    assert not out.exists()


def test_missing_suite_file_exits_2(tmp_path):
    res = bench("run", str(tmp_path / "nope.yaml"))
    assert res.returncode == 2 and "no such suite file" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.ray
def test_run_writes_results_resumes_and_refuses_a_different_suite(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY)
    out = tmp_path / "results"
    res = bench("run", str(suite), "--out", str(out))
    failing = 0 if torch.cuda.is_available() else 3  # the cuda trials fail on a CPU-only worker: exit 3
    assert res.returncode == failing, res.stderr

    trials = pd.read_parquet(out / "trials.parquet")
    assert len(trials) == 4 and trials["trial_id"].is_unique
    by = {(r.lr_d, r.device): r for r in trials.itertuples()}
    assert by[(1e-3, "cpu")].status == "complete"
    assert by[(1e30, "cpu")].status == "diverged"
    if not torch.cuda.is_available():  # a CPU-only worker: the cuda trials fail, saying why; the sweep goes on
        assert {by[(1e-3, "cuda")].status, by[(1e30, "cuda")].status} == {"failed"}
        assert "device: cuda, but this worker has no usable CUDA GPU" in by[(1e-3, "cuda")].message
    else:
        assert by[(1e-3, "cuda")].status == "complete" and by[(1e-3, "cuda")].run_device.startswith("cuda")
    ok = by[(1e-3, "cpu")]
    assert ok.steps_done == 30 and ok.steps_to_threshold == 10 and ok.modes_covered <= 8
    assert math.isclose(ok.samples_per_s, ok.steps_per_s * 32 * 2, rel_tol=1e-9)

    curves = pd.read_parquet(out / "curves.parquet")
    steps = sorted(curves[(curves.trial_id == ok.trial_id) & (curves.metric == "modes_covered")].step)
    assert steps == [10, 20, 30]

    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 4 and set(board["n_planned"]) == {1}
    assert board["n_diverged"].sum() == 1 and board["n_failed"].sum() == 2
    md = (out / "leaderboard.md").read_text()
    assert md.count("| mlp ") == 4 and "-log 4" in md
    assert (out / "suite.yaml").exists() and (out / "run.json").exists()
    assert not list(out.glob(".*.tmp"))

    # Resume: finished trials (complete, diverged) are not rerun; failed ones are retried.
    again = bench("run", str(suite), "--out", str(out))
    assert again.returncode == failing, again.stderr
    assert "2 already finished" in again.stderr
    after = pd.read_parquet(out / "trials.parquet").set_index("trial_id")
    before = trials.set_index("trial_id")
    for tid in before.index[before.status.isin(["complete", "diverged"])]:
        assert after.loc[tid, "started_at"] == before.loc[tid, "started_at"]
    assert len(after) == 4

    # A different suite into the same folder is refused before anything is touched.
    snapshot = (out / "trials.parquet").read_bytes()
    res = bench("run", str(suite), "--out", str(out), "--set", "budget.steps=40")
    assert res.returncode == 2 and "different suite" in res.stderr
    assert (out / "trials.parquet").read_bytes() == snapshot

    # report rebuilds the same leaderboard table from the stored trials alone.
    csv_before = (out / "leaderboard.csv").read_text()
    assert bench("report", str(out)).returncode == 0
    assert (out / "leaderboard.csv").read_text() == csv_before


TINY_IMAGES = """\
name: tiny-images
seeds: [0]
budget: {steps: 2, eval_every: 2}
grid:
  model: [dcgan, cyclegan]
  loss: [hinge]
  dataset: [digits, digits_invert]
params: {batch_size: 8, z_dim: 8, hidden: 4, depth: 1, eval_samples: 100}
resources: {num_cpus: 1}
"""


def test_image_suite_links_each_cell_to_its_sample_grid_and_states_the_feature_network(tmp_path):
    suite = tmp_path / "tiny-images.yaml"
    suite.write_text(TINY_IMAGES.replace("  model: [dcgan, cyclegan]\n", "  model: [dcgan]\n")
                     .replace("[digits, digits_invert]", "[digits]").replace(" depth: 1,", ""))  # dcgan has no depth
    out = tmp_path / "results"
    res = bench("run", str(suite), "--out", str(out))
    assert res.returncode == 0, res.stderr
    trial_id = pd.read_parquet(out / "trials.parquet")["trial_id"].iloc[0]
    png = out / "samples" / f"{trial_id}-samples.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "leaderboard.md").read_text()
    assert f"[grid](samples/{trial_id}-samples.png)" in md and "feature" in md and "fid" in md
    assert "data:image/png;base64" in (out / "leaderboard.html").read_text()


def test_cyclegan_on_one_domain_data_is_refused_before_running(tmp_path):
    suite = tmp_path / "tiny-images.yaml"
    suite.write_text(TINY_IMAGES)
    res = bench("validate", str(suite))
    assert res.returncode == 2
    message = " ".join(res.stderr.split())  # rich wraps long lines
    assert "'cyclegan' translates between two domains" in message
    assert "'digits_invert' holds two unpaired domains" in message
