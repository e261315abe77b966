"""Data sources, one file per family; importing this package registers them."""
from ganbench.datasets.base import Dataset, ModeMixture
from ganbench.datasets import images, toy  # noqa: F401  (registers them)
from ganbench.datasets.images import ImageDataset, StackedDigits

__all__ = ["Dataset", "ImageDataset", "ModeMixture", "StackedDigits"]
