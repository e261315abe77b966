"""Optuna objects built from a `search:` block: sampler, pruner, storage."""
from __future__ import annotations

import os
import re
from pathlib import Path

import optuna

from ganbench.errors import UserError
from ganbench.search.pruners import CollapsePruner
from ganbench.search.schema import CollapseOptions, Search

JOURNAL_NAME = "optuna.journal"


def make_sampler(search: Search, seed: int) -> optuna.samplers.BaseSampler:
    if search.sampler == "tpe":
        # constant_liar: trials running in parallel are not all sampled at the same point
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search.sampler == "grid":
        space = {name: p.grid_values() for name, p in search.space.items()}
        return optuna.samplers.GridSampler(space, seed=seed)
    if search.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if search.sampler == "qmc":
        # the QMC sequence is fixed by `seed`; the trial number picks the point
        return optuna.samplers.QMCSampler(seed=search.seed, warn_independent_sampling=False)
    raise ValueError(f"unknown sampler {search.sampler!r}")


def trial_seed(search: Search, number: int) -> int:
    """The sampler's seed for trial ``number``: a function of the suite's seed and the number
    only, so a resumed sweep draws the same parameters as an uninterrupted one."""
    return (search.seed * 1_000_003 + number) % 2**32


def make_pruner(search: Search, steps: int, eval_every: int) -> optuna.pruners.BasePruner:
    # median (also collapse's fallback): no pruning before 5 trials have finished, nor at the first
    # (noisiest) evaluation
    startup, warmup = 5, min(2 * eval_every, steps)
    if search.pruner == "none":
        return optuna.pruners.NopPruner()
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
    if search.pruner == "collapse":
        options = search.pruner_options or CollapseOptions()
        return CollapsePruner(n_startup_trials=startup, n_warmup_steps=warmup, **options.model_dump())
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=eval_every, max_resource=steps)
    raise ValueError(f"unknown pruner {search.pruner!r}")


def redact(url: str) -> str:
    """The URL with its password replaced by ***: what may be written to run.json or printed."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL sqlalchemy parses: hide anything between user: and @
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def check_storage_url(url: str) -> None:
    """A --storage value is a database URL that opens; the journal default needs no --storage."""
    if "://" not in url:
        raise UserError(f"--storage {url!r}: not a database URL; give one such as postgresql://user@host/db or "
                        f"sqlite:////abs/path.db (without --storage the studies go to {JOURNAL_NAME} in the results folder)")
    try:
        open_storage(url)
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise UserError(f"--storage {redact(url)}: cannot open it ({type(err).__name__}: {first})") from None


def clear_stale_journal_lock(journal: str) -> bool:
    """Remove a journal lock left by a killed run; True if there was one.

    Optuna's file lock is a symlink ``<journal>.lock`` -> the journal. A run killed while it held it
    leaves it behind, and once the folder is moved the link dangles: Optuna then retries forever
    (its grace period needs the link's target to stat). Call only while holding the results
    folder's lock, so no live run can own it.
    """
    lock = journal + ".lock"
    if not os.path.lexists(lock):
        return False
    os.unlink(lock)
    return True


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """A journal file path, or any URL Optuna's RDBStorage accepts (sqlite:///, postgresql://, mysql://)."""
    if "://" in url:
        return optuna.storages.RDBStorage(url)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(url))
