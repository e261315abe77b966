"""Data sources, one file per family; importing this package registers them."""
from ganbench.datasets.base import Dataset, ModeMixture
from ganbench.datasets import toy  # noqa: F401  (registers the toy sets)

__all__ = ["Dataset", "ModeMixture"]
