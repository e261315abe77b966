"""The pictures of an image trial: a real-data grid beside the generated one, and a strip over training."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.config import TrialConfig
from ganbench.training import train
from ganbench.training.pictures import GRID_COLUMNS, STRIP_COLUMNS, STRIP_ROWS, strip_picture
from tests.training.test_image_training import grid_side as side

pytestmark = pytest.mark.usefixtures("one_thread")

IMAGE = dict(loss="hinge", dataset="digits", batch_size=16, z_dim=8, hidden=8, steps=6, eval_every=2,
             eval_samples=100)


def test_an_image_trial_leaves_a_real_grid_and_a_strip_with_a_row_per_evaluation():
    result = train(TrialConfig(model="dcgan", **IMAGE))
    pictures = result.pictures
    assert pictures["real"].shape == pictures["samples"].shape == (side(GRID_COLUMNS),) * 2
    assert pictures["strip"].shape == (side(3), side(STRIP_COLUMNS))  # evaluations at steps 2, 4, 6
    assert result.info["strip_steps"] == "2 4 6"
    assert not np.array_equal(pictures["real"], pictures["samples"])


def test_a_conditional_trials_real_grid_has_a_row_per_class_as_its_samples_do():
    result = train(TrialConfig(model="cgan", d_projection=True, **IMAGE))
    assert result.pictures["real"].shape == result.pictures["samples"].shape == (side(10), side(GRID_COLUMNS))


def test_a_long_runs_strip_keeps_at_most_strip_rows_evenly_spaced_first_and_last_included():
    rows = [(step, torch.zeros(STRIP_COLUMNS, 1, 4, 4)) for step in range(100, 10_100, 100)]
    picture, steps = strip_picture(rows)
    assert len(steps) == STRIP_ROWS and steps[0] == 100 and steps[-1] == 10_000
    assert picture.shape[0] == STRIP_ROWS * 5 + 1
    assert strip_picture(rows[:3])[1] == [100, 200, 300]


def test_a_cyclegan_strip_translates_the_same_held_out_digits_at_each_evaluation():
    cfg = TrialConfig(model="cyclegan", loss="lsgan", dataset="digits_invert", batch_size=4, hidden=4, depth=1,
                      steps=4, eval_every=2, eval_samples=50)
    result = train(cfg)
    assert result.pictures["strip"].shape == (side(2), side(STRIP_COLUMNS))
    assert "real" not in result.pictures  # its translation rows show the true B beside G_AB(A) already
