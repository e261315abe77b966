"""The public API (``ganbench.__all__``): every name resolves, and ``import ganbench`` alone imports no torch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

import ganbench

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves():
    assert ganbench.__all__ == sorted(ganbench.__all__)
    for name in ganbench.__all__:
        assert getattr(ganbench, name) is not None, name
        assert name in dir(ganbench)
    from ganbench.datasets.base import Dataset
    from ganbench.losses import GANLoss
    from ganbench.registry import LOSSES
    from ganbench.training import train

    assert (ganbench.LOSSES, ganbench.GANLoss, ganbench.Dataset, ganbench.train) == (LOSSES, GANLoss, Dataset, train)
    try:
        ganbench.not_a_name
    except AttributeError as err:
        assert "not_a_name" in str(err)
    else:
        raise AssertionError("an unknown attribute resolved")


def test_import_ganbench_imports_no_torch():
    code = "import sys, ganbench; assert ganbench.__version__; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:3])"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_read_results_gives_the_trials_and_curves_of_a_published_folder():
    trials, curves = ganbench.read_results(ROOT / "results" / "dirac")
    assert len(trials) == len(pd.read_parquet(ROOT / "results/dirac/trials.parquet")) > 0
    assert list(curves.columns) == ["trial_id", "step", "metric", "value"] and set(curves["trial_id"]) <= set(trials["trial_id"])
