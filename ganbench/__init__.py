"""ganbench: benchmark GAN variants, losses and D:G step ratios with honest statistics.

The public API, imported on first use (PEP 562), so ``import ganbench`` stays light and imports no torch:

- registries: ``MODELS``, ``LOSSES``, ``DATASETS``, ``METRICS``, ``VARIANTS`` (``Registry``; ``register_variant``)
- components: ``GANLoss`` (losses), ``Dataset`` (data sources), ``Metric`` (a metric's definition), ``Variant``
- running: ``TrialConfig`` (one trial's typed config), ``train`` (Algorithm 1 on one trial)
- reading: ``read_results`` (a results folder's trials and curves), ``ResultsStore``, ``write_report``
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganbench.config import TrialConfig
    from ganbench.datasets.base import Dataset
    from ganbench.losses import GANLoss
    from ganbench.metrics import Metric
    from ganbench.registry import DATASETS, LOSSES, METRICS, MODELS, VARIANTS, Registry, register_variant
    from ganbench.report import write_report
    from ganbench.results import ResultsStore, read_results
    from ganbench.training import train
    from ganbench.variants import Variant

__version__ = "0.1.0"

#: public name -> the module that defines it
_SOURCES = {
    "DATASETS": "ganbench.registry", "LOSSES": "ganbench.registry", "METRICS": "ganbench.registry",
    "MODELS": "ganbench.registry", "VARIANTS": "ganbench.registry", "Registry": "ganbench.registry",
    "register_variant": "ganbench.registry",
    "GANLoss": "ganbench.losses", "Dataset": "ganbench.datasets.base", "Metric": "ganbench.metrics",
    "Variant": "ganbench.variants", "TrialConfig": "ganbench.config", "train": "ganbench.training",
    "read_results": "ganbench.results", "ResultsStore": "ganbench.results", "write_report": "ganbench.report",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
