"""What a report knows of a suite's datasets, read from the results folder (run.json), never from the data.

The driver records each dataset's primary metric, protocol line and, for mode mixtures, the mode
centres and std (``datasets.dataset_record``). Folders written before that record existed fall
back to the registry, and to the bare name when the dataset is no longer registered.
"""
from __future__ import annotations

from pathlib import Path

from ganbench.datasets import dataset_record
from ganbench.registry import UnknownNameError
from ganbench.results import read_run_info
from ganbench.suite import Suite, suite_datasets


def dataset_records(folder: Path, suite: Suite) -> dict[str, dict]:
    """name -> {primary_metric, protocol[, n_modes, std, centers]} for every dataset of the suite."""
    recorded = (read_run_info(folder) or {}).get("datasets", {})
    return {name: recorded.get(name) or _from_registry(name) for name in suite_datasets(suite)}


def _from_registry(name: str) -> dict:
    try:
        return dataset_record(name)
    except UnknownNameError:
        return {"primary_metric": None, "protocol": f"{name} (not registered on this machine)"}
