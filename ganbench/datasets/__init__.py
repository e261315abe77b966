"""Data sources, one file per family, registered by name (``catalog``: each file is imported at its name's first
lookup). This module imports no torch: reports read a dataset's record (``dataset_record``) through it, and its
classes (``Dataset``, ``ModeMixture``, ...) are imported from their files when first asked for."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganbench.datasets.base import Dataset, ModeMixture, TrainingSet
    from ganbench.datasets.cycle import CycleDataset
    from ganbench.datasets.images import ImageDataset, StackedDigits

__all__ = ["CycleDataset", "Dataset", "DatasetUnavailable", "ImageDataset", "ModeMixture", "StackedDigits",
           "TrainingSet", "dataset_identity", "dataset_record", "dataset_summary"]

#: the classes this package offers -> the file that defines them (imported at first use: they need torch)
_LAZY = {"Dataset": "base", "ModeMixture": "base", "TrainingSet": "base", "CycleDataset": "cycle",
         "ImageDataset": "images", "StackedDigits": "images"}


class DatasetUnavailable(FileNotFoundError):
    """A data set whose files are not on this machine (nothing is ever downloaded)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"ganbench.datasets.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dataset_record(name: str) -> dict:
    """What a results folder keeps of a dataset (run.json), so reports never need the data again:
    its primary metric and protocol line, its identity (``origin``: a folder, a package or "generated: ...";
    ``data_hash``: a hash of its content), its number of modes, and for a mode mixture its centres and
    std (for plots): ``Dataset.record``."""
    from ganbench.registry import DATASETS

    primary, protocol = dataset_summary(name)
    record: dict = {"primary_metric": primary, "protocol": protocol}
    try:
        data = DATASETS.get(name)()
    except DatasetUnavailable:
        return record
    if hasattr(data, "record"):
        record.update(data.record())
    else:  # a plugin's data source that is not a Dataset: its identity and number of modes
        record.update(data.identity())
        if getattr(data, "n_modes", None) is not None:
            record["n_modes"] = int(data.n_modes)
    return record


def dataset_identity(name: str) -> dict[str, str]:
    """A trial row's data columns: ``data_origin`` and ``data_hash`` of the registered dataset ``name``, as
    this process loads it (hashed once per process; a worker with other files at the same path says so)."""
    from ganbench.registry import DATASETS

    identity = DATASETS.get(name)().identity()
    return {"data_origin": identity["origin"], "data_hash": identity["data_hash"]}


def dataset_summary(name: str) -> tuple[str, str]:
    """(primary metric, protocol line) of a registered dataset, for reports.

    A report can be rebuilt where a local-folder image set is absent: it then reads as an
    image set led by FID, without its file-derived details.
    """
    from ganbench.registry import DATASETS

    try:
        data = DATASETS.get(name)()
    except DatasetUnavailable:
        return "fid", f"{name} (its local files are not on this machine)"
    return data.primary_metric, getattr(data, "protocol", "") or name
