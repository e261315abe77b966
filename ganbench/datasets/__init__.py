"""Data sources, one file per family; importing this package registers them."""
from ganbench.datasets.base import Dataset, DatasetUnavailable, ModeMixture, TrainingSet
from ganbench.datasets import cycle, images, local, toy  # noqa: F401  (registers them)
from ganbench.datasets.cycle import CycleDataset
from ganbench.datasets.images import ImageDataset, StackedDigits

__all__ = ["CycleDataset", "Dataset", "DatasetUnavailable", "ImageDataset", "ModeMixture", "StackedDigits",
           "TrainingSet", "dataset_identity", "dataset_record", "dataset_summary"]


def dataset_record(name: str) -> dict:
    """What a results folder keeps of a dataset (run.json), so reports never need the data again:
    its primary metric and protocol line, its identity (``origin``: a folder, a package or "generated: ...";
    ``data_hash``: a hash of its content), its number of modes, and for a mode mixture its centres and
    std (for plots)."""
    from ganbench.registry import DATASETS

    primary, protocol = dataset_summary(name)
    record: dict = {"primary_metric": primary, "protocol": protocol}
    try:
        data = DATASETS.get(name)()
    except DatasetUnavailable:
        return record
    record.update(data.identity())
    if getattr(data, "n_modes", None) is not None:  # mixtures, and stacked digits' 1,000 triples
        record["n_modes"] = int(data.n_modes)
    if isinstance(data, ModeMixture):
        record.update(std=float(data.std), centers=data.centers.tolist())
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
