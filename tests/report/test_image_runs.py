"""An image run's report: image metrics over training, real data beside generated samples, the strip over training,
all on the HTML page (through the real CLI, as a user runs it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = """\
name: tiny-image-report
seeds: [0]
budget: {steps: 4, eval_every: 2}
grid:
  model: [dcgan]
  loss: [hinge]
  dataset: [digits]
params: {batch_size: 8, z_dim: 8, hidden: 4, eval_samples: 100}
resources: {num_cpus: 1}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("image-run")
    (tmp / "suite.yaml").write_text(SUITE)
    out = tmp / "results"
    res = subprocess.run([sys.executable, str(ROOT / "bench.py"), "run", str(tmp / "suite.yaml"), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return out


def test_an_image_run_plots_its_metrics_over_training_and_real_beside_generated(folder):
    assert (folder / "plots" / "image_metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "plots" / "image_samples.png").exists()
    trial = pd.read_parquet(folder / "trials.parquet").iloc[0]
    assert trial["strip_steps"] == "2 4"
    for name in ("samples", "real", "strip"):
        assert (folder / "samples" / f"{trial['trial_id']}-{name}.png").exists(), name


def test_the_tables_link_the_strip_and_the_page_shows_every_picture(folder):
    trial_id = pd.read_parquet(folder / "trials.parquet")["trial_id"].iloc[0]
    assert f"[strip](samples/{trial_id}-strip.png)" in (folder / "leaderboard.md").read_text()
    assert pd.read_csv(folder / "leaderboard.csv")["strip"].iloc[0] == f"samples/{trial_id}-strip.png"
    page = (folder / "leaderboard.html").read_text()
    assert "Image metrics over training" in page and "Real data, generated samples, strip over training" in page
    assert page.count('<img class="grid"') == 2  # the last grid and the strip, in the row


def test_a_folder_from_before_the_strip_draws_no_empty_picture_panel(folder, tmp_path):
    import shutil

    from ganbench.report.plots import write_plots

    old = shutil.copytree(folder, tmp_path / "old")
    for picture in [*old.glob("samples/*-real.png"), *old.glob("samples/*-strip.png")]:
        picture.unlink()
    written = {p.name for p in write_plots(old, ["image_metrics.png", "image_samples.png"])}
    assert written == {"image_metrics.png"}
