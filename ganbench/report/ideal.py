"""The sampling-limited ideal beside the stacked-digits modes columns: what a perfect generator scores from n samples.

A generator that draws its 1,000 triples exactly uniformly still misses modes and is not balanced at a finite n
(``metrics.modes.ideal_sampler``: 918.0 modes and reverse KL 0.223 at n = 2,500; 1000.0 and 0.0193 at 26,000), so
a stacked-digits row reads against that, not against 1,000 and 0. Each cell's ideal is the mean over its complete
trials of the ideal at the trial's own evaluation sample count (``image_eval.n_fake``, else the config's
``eval_samples``). Toy mixtures get none: their modes count high-quality samples, a different quantity.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache

import pandas as pd

from ganbench.metrics.ideal import ideal_sampler

#: metric -> the column of its ideal, shown right after it (stacked datasets only)
IDEAL_COLUMNS = {"modes_covered": "modes_ideal", "reverse_kl": "reverse_kl_ideal"}


def is_stacked(record: dict | None) -> bool:
    """Stacked digits: ``dataset_record`` gives it ``n_modes`` but, unlike a mixture, no mode centres."""
    return bool(record) and record.get("n_modes") is not None and "centers" not in record


@lru_cache(maxsize=None)
def _ideal(n: int, n_modes: int) -> tuple[float, float]:
    return ideal_sampler(n, n_modes)


def _params(row: pd.Series) -> dict:
    try:
        return json.loads(row["params"]) if isinstance(row.get("params"), str) else {}
    except ValueError:
        return {}


def eval_sample_count(row: pd.Series) -> int | None:
    """How many generated samples the trial's final metrics were computed on."""
    for value in (row.get("image_eval.n_fake"), _params(row).get("eval_samples")):
        try:
            n = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(n) and n >= 1:
            return int(n)
    return None


def cell_ideal(done: pd.DataFrame, datasets: dict[str, dict], dataset: str | None = None) -> dict[str, float]:
    """{modes_ideal, reverse_kl_ideal} over a cell's complete trials, or {} when its data is not stacked digits.

    ``dataset``: the cell's dataset when the trials do not say (a single dataset in the suite's params)."""
    modes, kls = [], []
    for _, row in done.iterrows():
        name = _params(row).get("dataset") or row.get("dataset") or dataset
        record = datasets.get(name) if name is not None else None
        n = eval_sample_count(row)
        if is_stacked(record) and n is not None:
            m, kl = _ideal(n, int(record["n_modes"]))
            modes.append(m)
            kls.append(kl)
    if not modes:
        return {}
    return {IDEAL_COLUMNS["modes_covered"]: sum(modes) / len(modes),
            IDEAL_COLUMNS["reverse_kl"]: sum(kls) / len(kls)}


def ideal_header(datasets: dict[str, dict]) -> list[str]:
    """A header item explaining the ideal columns, where some dataset is stacked."""
    if not any(is_stacked(r) for r in datasets.values()):
        return []
    return ["modes_ideal / reverse_kl_ideal (stacked digits): what a perfect generator, drawing its modes uniformly, "
            "expects from the same number of evaluation samples n: K (1 - (1 - 1/K)^n) modes and "
            "K sum_c P(Binom(n, 1/K) = c) (c/n) log(cK/n) nats (ganbench/metrics/modes.py: ideal_sampler); "
            "a measured value near them is as good as sampling allows"]
