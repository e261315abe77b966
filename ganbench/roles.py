"""The role of each TrialConfig field: what stacking, the memory estimate, the model and the search read of it.

Every field of ``TrialConfig`` declares one role (``Field(..., json_schema_extra={"role": "shape"})``),
and the key lists the harness needs are derived from the roles, never kept by hand:

- ``shared_keys``: what every member of a stacked batch must share (it fixes the stacked shapes
  or the loop); a stacked batch whose members differ in one is refused (``training.stacked``);
- ``unsized_keys``: what the memory estimate does not read (trials differing only there share an estimate);
- ``model_option_keys`` / ``cycle_option_keys``: what a model factory may take as keyword arguments;
- ``tunable_keys`` / ``searchable_keys``: what a suite may set per trial, and what a search may vary.

A class (a test's, a plugin's subclass) whose field has no role, or an unknown one, is refused when
it is defined: a new option cannot slip past stacking with member 0's value.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Role:
    """What a role says of a field."""

    meaning: str
    shared: bool = False  # stacked members must share it
    sized: bool = True  # the memory estimate may read it
    tunable: bool = True  # a suite sets it per trial (params/grid); else budget, seeds or target set it
    searchable: bool = True  # a search space may vary it
    model_option: bool = False  # a model factory may take it as a keyword argument
    cycle_option: bool = False  # CycleGAN's G step reads it


ROLES: dict[str, Role] = {
    "component": Role("the registered model or dataset: fixes every shape", shared=True, searchable=False),
    "loss": Role("the registered loss: per stacked member (what it changes in the loop is shared by "
                 "training.stacked.loss_structure)", searchable=False),
    "budget": Role("iterations and evaluations, from the suite's budget", shared=True, sized=False,
                   tunable=False, searchable=False),
    "seed": Role("the trial's seed, from the suite's seeds", sized=False, tunable=False, searchable=False),
    "target": Role("the quality threshold, from the suite's target", sized=False, tunable=False,
                   searchable=False),
    "placement": Role("where the trial runs", shared=True, sized=False, searchable=False),
    "speed": Role("how fast the same arithmetic runs", shared=True, sized=False),
    "shape": Role("fixes tensor shapes or the update's graph", shared=True),
    "loop": Role("a shared setting of the loop that sizes nothing (k, schedules, batch-norm settings)",
                 shared=True, sized=False),
    "architecture": Role("a model option that fixes the networks' shapes", shared=True, model_option=True),
    "model_option": Role("a model option each stacked member may set apart", model_option=True),
    "cycle_option": Role("an option of CycleGAN's G step", cycle_option=True),
    "hyperparameter": Role("a per-trial number that sizes nothing (learning rates, betas, init)", sized=False),
    "method": Role("a per-trial part of the method (penalties, unrolling, EMA, evaluation size)"),
    "plugin_options": Role("a plugin component's own options (per trial, each hashed and searched by its "
                           "dotted name)", searchable=False),
}


def role(name: str) -> dict[str, Any]:
    """``json_schema_extra`` for a field of this role (``Field(..., json_schema_extra=role("shape"))``)."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}; roles: {', '.join(ROLES)}")
    return {"role": name}


@functools.lru_cache(maxsize=None)  # a class's fields never change: batch_key asks once per trial planned
def roles_of(model: type) -> Mapping[str, Role]:
    """Every field of a pydantic model class by its role; TypeError naming each field without a known one."""
    found, missing = {}, []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        given = extra.get("role")
        if given not in ROLES:
            missing.append(f"{name} ({'no role' if given is None else f'unknown role {given!r}'})")
        else:
            found[name] = ROLES[given]
    if missing:
        raise TypeError(f"{model.__name__}: every field needs a role (json_schema_extra={{'role': ...}}, one of "
                        f"{', '.join(ROLES)}): {', '.join(missing)}")
    return MappingProxyType(found)  # cached: read-only


@functools.lru_cache(maxsize=None)
def keys_where(model: type, **wanted: bool) -> tuple[str, ...]:
    """The fields of ``model`` (in declaration order) whose role has every property asked, e.g. shared=True."""
    return tuple(name for name, r in roles_of(model).items()
                 if all(getattr(r, prop) == value for prop, value in wanted.items()))
