"""Deep checks of a suite, run by `bench.py run` and `validate` only: they build what the trials would.

Schema validation (``suite.load_suite``) reads the suite as data. These checks go further before
anything runs: every model is built for its data with its options (a model/data mismatch, a
missing local data set or an option the model would not honour is an error here, not mid-sweep),
and stacked training (``execution.batch_trials``) is checked against what it supports, search
range ends included. Every problem is reported at once as one SuiteError.
"""
from __future__ import annotations

from ganbench.registry import DATASETS, UnknownNameError
from ganbench.suite import Suite, SuiteError, format_problems
from ganbench.training.gan import make_models
from ganbench.training.stacked import check_stackable, unsupported


def check_suite(suite: Suite, source: str | None = None) -> None:
    """Raise SuiteError naming every cell that cannot run as asked."""
    problems = model_problems(suite)
    if not problems:
        problems = stacking_problems(suite)
    if problems:
        raise SuiteError(format_problems(source or f"suite {suite.name!r}", problems))


def model_problems(suite: Suite) -> list[str]:
    """Build each distinct model, dataset and option set once: a mismatch fails here, not mid-sweep."""
    problems, seen = [], set()
    configs = [(cell, suite.config(cell, suite.seeds[0])) for cell in suite.cells()]
    if suite.search is not None:  # a searched option may be one the model ignores: check each range end
        cell0 = suite.cells()[0]
        configs += [(cell0, suite.config(cell0, suite.search.seed, {key: value}))
                    for key, param in suite.search.space.items() for value in param.extremes()]
    for cell, cfg in configs:
        key = cfg.model_copy(update={"seed": 0}).config_hash()
        if key in seen:
            continue
        seen.add(key)
        try:
            data = DATASETS.get(cfg.dataset)()
        except FileNotFoundError as err:  # a local-folder image set that is not there
            problems.append(f"grid: dataset {cfg.dataset!r}: {err}")
            continue
        try:
            make_models(cfg, data)
        except (ValueError, UnknownNameError) as err:
            problems.append(f"grid: model {cfg.model!r} with dataset {cfg.dataset!r} (cell {suite.cell_label(cell)}): {err}")
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
