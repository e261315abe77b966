"""Session-wide test settings."""
from __future__ import annotations

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def feature_net_cache(tmp_path_factory):
    """One feature-network cache for the session (subprocesses inherit it): the digits net trains once,
    and nothing is written to the user's ~/.cache."""
    path = tmp_path_factory.getbasetemp() / "ganbench-cache"
    before = os.environ.get("GANBENCH_CACHE_DIR")
    os.environ["GANBENCH_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("GANBENCH_CACHE_DIR", None)
    else:
        os.environ["GANBENCH_CACHE_DIR"] = before


@pytest.fixture
def one_thread():
    """Small models on a busy 2-core box: one intra-op thread is faster and steadier than two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
