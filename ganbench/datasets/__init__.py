"""Data sources, one file per family; importing this package registers them."""
from ganbench.datasets.base import Dataset, DatasetUnavailable, ModeMixture
from ganbench.datasets import cycle, images, local, toy  # noqa: F401  (registers them)
from ganbench.datasets.cycle import CycleDataset
from ganbench.datasets.images import ImageDataset, StackedDigits

__all__ = ["CycleDataset", "Dataset", "DatasetUnavailable", "ImageDataset", "ModeMixture", "StackedDigits"]
