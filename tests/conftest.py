"""Session-wide test settings."""
from __future__ import annotations

import os

import pytest


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
