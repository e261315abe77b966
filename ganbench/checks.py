"""Deep checks of a suite, run by `bench.py run` and `validate` only: they build what the trials would.

Schema validation (``suite.load_suite``) reads the suite as data. These checks go further before
anything runs: every model is built for its data with its options (a model/data mismatch, a
missing local data set or an option the model would not honour is an error here, not mid-sweep),
stacked training (``execution.batch_trials``) is checked against what it supports, search
range ends included, and every trial's peak memory is estimated against the memory there is.
Every problem is reported at once as one SuiteError.

Models are built on PyTorch's meta device (``training.memory.meta_models``): shapes without
storage, so checking a suite with ``z_dim: 100000000`` allocates nothing, and the memory
estimate (``training.memory.estimate_memory``) runs one forward pass on meta tensors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from torch import nn

from ganbench.config import TrialConfig
from ganbench.datasets import Dataset
from ganbench.registry import DATASETS, UnknownNameError
from ganbench.roles import keys_where
from ganbench.suite import Suite, SuiteError, format_problems
from ganbench.training.memory import MemoryEstimate, estimate_memory, gb, meta_models
from ganbench.training.stacked import check_stackable, unsupported

#: TrialConfig keys the memory estimate does not read: trials differing only in these share one estimate
#: (the fields whose role sizes nothing, ``ganbench.roles``)
NOT_SIZED = keys_where(TrialConfig, sized=False)


def check_suite(suite: Suite, source: str | None = None, memory_bytes: int | None = None) -> None:
    """Raise SuiteError naming every cell that cannot run as asked.

    ``memory_bytes``: the most memory one trial may use (a stacked group of ``execution.batch_trials``
    trials: all of them together); a trial whose estimated peak (``training.memory.estimate_memory``)
    is above it is refused. None: this machine's physical memory. A GPU trial (``device: cuda``)
    is estimated the same way and held to the same limit (its weights and activations live in the
    GPU's memory, which this check does not query).
    """
    problems, built = model_problems(suite)
    if not problems:
        problems = stacking_problems(suite) + memory_problems(suite, built, memory_bytes)
    if problems:
        raise SuiteError(format_problems(source or f"suite {suite.name!r}", problems))


@dataclass
class Built:
    """One trial shape a suite can run, and its G and D on the meta device."""

    where: str  # "cell <label>", with the searched value(s) that make it
    cfg: TrialConfig
    data: Dataset
    models: tuple[nn.Module, nn.Module]


def trial_shapes(suite: Suite) -> list[tuple[dict[str, Any], str, TrialConfig]]:
    """(cell, where, config) of every trial shape the suite can run: each cell's; with a search, each
    cell at every range end of the space (a searched option may be one the model ignores), and at
    the high end of all its integer keys together (the largest trial for memory)."""
    shapes = []
    for cell in suite.cells():
        label = suite.cell_label(cell)
        shapes.append((cell, f"cell {label}", suite.config(cell, suite.seeds[0])))
        if suite.search is None:
            continue
        for key, param in suite.search.space.items():
            for value in param.extremes():
                shapes.append((cell, f"cell {label} with search.space.{key} = {value!r}",
                               suite.config(cell, suite.search.seed, {key: value})))
        largest = {key: max(param.extremes()) for key, param in suite.search.space.items()
                   if all(isinstance(v, int) and not isinstance(v, bool) for v in param.extremes())}
        if len(largest) > 1:
            try:
                cfg = suite.config(cell, suite.search.seed, largest)
            except ValueError:  # a combination the config refuses; each end was checked alone
                continue
            shapes.append((cell, f"cell {label} with search.space at its largest "
                                 f"({', '.join(f'{k} = {v!r}' for k, v in largest.items())})", cfg))
    return shapes


def model_problems(suite: Suite) -> tuple[list[str], list[Built]]:
    """Build each distinct model, dataset and option set once, on the meta device: a mismatch fails
    here, not mid-sweep. Returns the problems and what was built."""
    problems: dict[tuple, str] = {}  # once per model, dataset and error: the first cell that has it
    built, seen, datasets = [], set(), {}
    for cell, where, cfg in trial_shapes(suite):
        key = cfg.model_copy(update={"seed": 0}).config_hash()
        if key in seen:
            continue
        seen.add(key)
        if cfg.dataset not in datasets:
            try:
                datasets[cfg.dataset] = DATASETS.get(cfg.dataset)()  # outside the meta device: real data
            except (FileNotFoundError, ValueError) as err:  # a local-folder image set absent, or a damaged file
                datasets[cfg.dataset] = err
        data = datasets[cfg.dataset]
        if isinstance(data, Exception):
            problems.setdefault((cfg.dataset,), f"grid: dataset {cfg.dataset!r}: {data}")
            continue
        try:
            built.append(Built(where, cfg, data, meta_models(cfg, data)))
        except (RuntimeError, OverflowError) as err:  # torch: a size past what a tensor can address
            problems.setdefault((cfg.model, cfg.dataset, "size"), f"grid: model {cfg.model!r} with dataset "
                                f"{cfg.dataset!r} ({where}): cannot be built at these sizes ({err})")
        except (ValueError, UnknownNameError) as err:
            problems.setdefault((cfg.model, cfg.dataset, str(err)), f"grid: model {cfg.model!r} with dataset "
                                f"{cfg.dataset!r} (cell {suite.cell_label(cell)}): {err}")
    return list(problems.values()), built


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def stacked_group(suite: Suite) -> int:
    """The most trials one process trains together (``execution.batch_trials``, at most what the plan can
    group: the whole grid's trials, which batch across cells; a search's, which batch within a cell)."""
    if suite.search is None:
        most = len(suite.cells()) * len(suite.seeds)
    else:
        most = max(suite.search.n_trials, len(suite.seeds))
    return max(1, min(suite.execution.batch_trials, most))


def memory_problems(suite: Suite, built: list[Built], memory_bytes: int | None = None) -> list[str]:
    """Every trial shape whose estimated peak memory is above ``memory_bytes`` (None: this machine's)."""
    if memory_bytes is None:
        limit, limit_text = physical_memory(), f"this machine's memory ({gb(physical_memory())})"
    else:
        limit, limit_text = memory_bytes, f"the memory limit of {gb(memory_bytes)}"
    group = stacked_group(suite)
    estimates: dict[str, MemoryEstimate] = {}
    problems: list[str] = []
    over: dict[str, list[str]] = {}  # what is wrong -> where: trials of the same sizes are one problem
    unsized = {name: TrialConfig.model_fields[name].default for name in NOT_SIZED}
    for b in built:
        key = b.cfg.model_copy(update=unsized).config_hash()
        try:
            if key not in estimates:  # one estimate per distinct shape
                estimates[key] = estimate_memory(b.cfg, b.data, b.models)
        except (ValueError, RuntimeError, OverflowError) as err:
            problems.append(f"grid: model {b.cfg.model!r} with dataset {b.cfg.dataset!r} ({b.where}): {err}")
            continue
        estimate = estimates[key]
        total = group * estimate.total
        if total > limit:
            stacked = f"{group} stacked trials (execution.batch_trials) of {gb(estimate.total)} each: " \
                if group > 1 else ""
            what = (f"a trial needs about {gb(total)} ({stacked}{estimate.describe()}), more than {limit_text}; "
                    "lower batch_size, eval_samples, z_dim or the model's size")
            over.setdefault(what, []).append(b.where)
    problems += [f"memory: {'; '.join(dict.fromkeys(wheres))}: {what}" for what, wheres in over.items()]
    return problems


def stacking_problems(suite: Suite) -> list[str]:
    """Stacked training supports a subset of options; say which one blocks it before anything runs."""
    if suite.execution.batch_trials == 1:
        return []
    problems = []
    for cell in suite.cells():
        try:
            check_stackable([suite.config(cell, seed) for seed in suite.seeds])
        except ValueError as err:
            problems.append(f"execution.batch_trials: cell {suite.cell_label(cell)}: {err}")
    if suite.search is None or problems:
        return problems
    # a searched value may leave the supported subset (e.g. r1 > 0): check each range end
    cell = suite.cells()[0]
    for key, param in suite.search.space.items():
        for value in param.extremes():
            bad = unsupported(suite.config(cell, suite.search.seed, {key: value}))
            if bad:
                problems.append(f"execution.batch_trials: search.space.{key} = {value!r} cannot be batched: "
                                f"{'; '.join(bad)}")
    return problems
