"""Data sources, one file per family; importing this package registers them."""
from ganbench.datasets.base import Dataset, DatasetUnavailable, ModeMixture
from ganbench.datasets import cycle, images, local, toy  # noqa: F401  (registers them)
from ganbench.datasets.cycle import CycleDataset
from ganbench.datasets.images import ImageDataset, StackedDigits

__all__ = ["CycleDataset", "Dataset", "DatasetUnavailable", "ImageDataset", "ModeMixture", "StackedDigits"]


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
