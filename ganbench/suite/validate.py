"""The suite as data, checked: every problem found, each at its key path, as one SuiteError.

Validation is about the suite as data (text, keys given once, types, finite numbers, ranges,
registered names, a bounded number of cells and trials); nothing is built or expanded before its
size is known. ``validate_schema`` stops after the shape and the schema (a results folder's suite,
``io.read_suite``); ``validate_suite`` goes on to the trial keys and every cell's config.
"""
from __future__ import annotations

import datetime
import functools
import math
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ganbench.config import TUNABLE_KEYS, TrialConfig, brief
from ganbench.options import component_options, is_option_key, option_keys
from ganbench.registry import suggest
from ganbench.suite.merge import Disagreement
from ganbench.suite.schema import Suite, SuiteError, _freeze

#: caps on what one suite may plan, checked before anything is expanded (split a larger study into suites)
MAX_CELLS = 10_000
MAX_TRIALS = 100_000
#: caps on the data a suite holds once YAML aliases are expanded
MAX_VALUES = 100_000
MAX_DEPTH = 32


def validate_suite(raw: dict, source: str = "<suite>") -> Suite:
    """``raw`` as a Suite, every trial it plans valid; raise SuiteError with every problem found."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: a suite is a YAML mapping with keys {', '.join(Suite.model_fields)}")
    suite = validate_schema(raw, source)
    problems = _check_keys(suite) + _check_search_keys(suite)
    too_large = _check_size(suite)
    problems += too_large or _check_trials(suite)  # nothing is expanded past the caps
    if not problems:
        problems = _check_search_values(suite)
    if problems:
        raise SuiteError(format_problems(source, problems))
    return suite


def validate_schema(raw: Any, source: str) -> Suite:
    """``raw`` as a Suite by its shape and schema only: no trial keys, model, loss or dataset lookups."""
    problems = _shape_problems(raw)
    if problems:
        raise SuiteError(format_problems(source, problems))
    try:
        return Suite.model_validate(raw)
    except ValidationError as err:
        raise SuiteError(format_problems(source, _suite_problems(err))) from None


def format_problems(source: str, problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    if len(unique) == 1:
        return f"{source}: {unique[0]}"
    return f"{source}: {len(unique)} problems\n" + "\n".join(f"  - {p}" for p in unique)


def _name(key: Any) -> str:
    """A mapping key as a key path shows it: text as it is (shortened), anything else as its repr."""
    return (key if len(key) <= 60 else key[:57] + "...") if isinstance(key, str) else brief(key)


def format_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{len(items)} problems\n" + "\n".join(f"  - {p}" for p in items)


def _shape_problems(raw: Any) -> list[str]:
    """The suite as plain data: text keys; null, booleans, numbers, text, lists and mappings only; bounded.

    YAML aliases can make a small text hold a huge value (each alias repeats its anchor) or one
    that contains itself; both are refused here, before anything walks or compares the values.
    """
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    seen = 0
    while stack:
        value, path, depth = stack.pop()
        path = path if len(path) <= 80 else path[:77] + "..."
        seen += 1
        if seen + len(stack) > MAX_VALUES:
            return problems + [f"too large: over {MAX_VALUES:,} values (a YAML alias counts as often as it is used)"]
        if depth > MAX_DEPTH:
            return problems + [f"{path}: nested over {MAX_DEPTH} levels deep (does a YAML alias contain itself?)"]
        if isinstance(value, dict):
            for key in reversed(list(value)):
                if not isinstance(key, str):
                    where = f"{path}.{_name(key)}" if path else _name(key)
                    problems.append(f"{where}: a key must be a name (text), got {type(key).__name__} {brief(key)}")
                    continue
                stack.append((value[key], f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(value))))
        elif not (value is None or isinstance(value, (bool, int, float, str))):
            is_time = isinstance(value, (datetime.date, datetime.time))
            hint = " (quote a date or time to make it text)" if is_time else ""
            problems.append(f"{path or 'the suite'}: {type(value).__name__} {brief(value)} is not a suite value; "
                            f"use a number, text, true/false, a list or a mapping{hint}")
    return problems


def _suite_problems(err: ValidationError) -> list[str]:
    """Suite's schema errors as problem lines, each at its key path (``grid[1].r1``, not the union's tag)."""
    problems = []
    for e in err.errors():
        loc = e["loc"]
        if loc[:1] == ("grid",) and len(loc) > 1 and loc[1] in ("mapping", "list"):
            loc = ("grid", *loc[2:])
            if e["type"] == "dict_type":
                grids = " (or a list of such mappings)" if len(loc) == 1 else ""
                e = {**e, "msg": f"must be a mapping of axis -> list of values{grids}, got {brief(e['input'])}"}
        problems.append(_describe({**e, "loc": loc}, Suite))
    return problems


def _describe(error: dict, model: type[BaseModel], prefix: str = "") -> str:
    loc = prefix + _loc(error["loc"])
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden" and error["loc"]:
        parent = _fields_at(model, error["loc"][:-1])
        msg = f"unknown key; valid keys: {', '.join(parent)}" if parent else "unknown key"
        msg += suggest(error["loc"][-1], parent)
    elif error["type"] == "missing":
        in_list = error["loc"] and isinstance(error["loc"][-1], int)
        msg = "missing: the list is too short" if in_list else "required key is missing"
    elif error["type"] == "too_short":
        msg = "empty; give at least one entry"
    elif error["type"] in ("finite_number",):
        msg = "must be a finite number (not .inf or .nan)"
    return f"{loc}: {msg}" if loc else msg


def _loc(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc) -> list[str]:
    """Field names of the sub-model at ``loc`` (for 'valid keys' hints)."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        sub = getattr(field, "annotation", None) if field else None
        sub = next((a for a in getattr(sub, "__args__", ()) if isinstance(a, type)), sub)
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return []
        model = sub
    return list(model.model_fields)


def _position(values: list, value: Any) -> int:
    """The index of a cell's value in its axis: the very object first (True == 1, yet they are told apart)."""
    same = [i for i, v in enumerate(values) if v is value]
    return same[0] if same else values.index(value)


def _at(suite: Suite, i: int) -> str:
    """Where mapping ``i`` of ``grids()`` sits in the suite: ``grid``, or ``grid[i]`` in a list of grids."""
    return f"grid[{i}]" if isinstance(suite.grid, list) else "grid"


@functools.cache
def keys_with_defaults() -> str:
    """Every trial key with its default, for an unknown key's message: ``batch_size=64, betas=[0.5, 0.999], ...``;
    ``unset`` where the default is None (another key decides), ``(required)`` where there is none."""
    def default(name: str) -> str:
        info = TrialConfig.model_fields[name]
        if info.is_required():
            return f"{name} (required)"
        value = info.get_default(call_default_factory=True)
        if value is None:
            return f"{name}=unset"
        text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value, default_flow_style=True,
                              width=10**6)
        return f"{name}={text.strip().removesuffix('...').strip()}"
    return ", ".join(default(name) for name in TUNABLE_KEYS)


def is_trial_key(key: str, value: Any = None) -> bool:
    """A key a suite may set per trial: a TrialConfig key, a plugin component's option by its dotted name
    (``smooth_ns.real_target``), or a mapping of options under the component's name (``smooth_ns: {...}``)."""
    return key in TUNABLE_KEYS or is_option_key(key) or (isinstance(value, dict) and component_options(key) is not None)


def _check_keys(suite: Suite) -> list[str]:
    problems = []
    places = [(_at(suite, i), grid) for i, grid in enumerate(suite.grids())] + [("params", suite.params)]
    for where, keys in places:
        for key in keys:
            if not is_trial_key(key, keys[key]):
                hint = {"steps": "budget.steps", "eval_every": "budget.eval_every", "seed": "seeds", "target": "target"}
                fix = f"set it as {hint[key]}" if key in hint else f"valid keys: {keys_with_defaults()}"
                if key not in hint:
                    fix += f"; a plugin's options by dotted name: {', '.join(option_keys())}" if option_keys() else ""
                    fix += suggest(key, TUNABLE_KEYS + option_keys())
                problems.append(f"{where}.{key}: unknown key; {fix}")
    for i, grid in enumerate(suite.grids()):
        at = _at(suite, i)
        for key, values in grid.items():
            if not values:
                problems.append(f"{at}.{key}: empty list; give at least one value")
            first: dict[Any, int] = {}
            for j, value in enumerate(values):
                frozen = _freeze(value)
                if frozen in first:
                    problems.append(f"{at}.{key}[{j}]: {brief(value)} repeats {at}.{key}[{first[frozen]}]; "
                                    f"give each value once (a repeat would run the same trials twice)")
                else:
                    first[frozen] = j
            if key in suite.params:
                problems.append(f"params.{key}: also set in {at}.{key}; keep one")
        # each mapping names its own: params cannot fill in for one mapping an axis another sets
        hint = "set it in grid or params" if at == "grid" else "set it in every mapping of grid, or in params"
        for axis in ("model", "loss", "dataset"):
            if axis not in grid and axis not in suite.params:
                problems.append(f"{at}.{axis}: required key is missing ({hint})")
    return problems


def _check_size(suite: Suite) -> list[str]:
    """The number of cells and of trials, from the axis lengths: nothing is expanded to count them."""
    grids = suite.grids()
    cells = sum(math.prod(len(values) for values in grid.values()) for grid in grids)
    shapes = [" x ".join(f"{len(values)} {axis}" for axis, values in grid.items()) for grid in grids]
    shape = shapes[0] if len(shapes) == 1 else " + ".join(f"{_at(suite, i)}: {t}" for i, t in enumerate(shapes))
    if cells > MAX_CELLS:
        return [f"grid: {cells:,} cells ({shape}) is over the cap of {MAX_CELLS:,} cells per suite; "
                f"split the study into several suites"]
    per_cell = len(suite.seeds) + (suite.search.n_trials if suite.search else 0)
    what = f"{len(suite.seeds)} seeds" + (f" + {suite.search.n_trials:,} search.n_trials" if suite.search else "")
    if cells * per_cell > MAX_TRIALS:
        return [f"{cells:,} cells x ({what}) = {cells * per_cell:,} trials is over the cap of {MAX_TRIALS:,} "
                f"trials per suite; split the study into several suites"]
    return []


def _check_search_keys(suite: Suite) -> list[str]:
    if suite.search is None:
        return []
    places = [(_at(suite, i), grid) for i, grid in enumerate(suite.grids())] + [("params", suite.params)]
    return [f"search.space.{key}: also set in {where}.{key}; a key is searched or fixed, not both"
            for key in suite.search.space for where, keys in places if key in keys]


def _check_search_values(suite: Suite) -> list[str]:
    """Every end of every searched range must make a valid trial (e.g. lr > 0, k >= 1)."""
    if suite.search is None:
        return []
    problems = []
    cells = [(i, cell) for i, _, cell in suite.indexed_cells()]
    # every cell's preset against every range end (cheap: no config is built); the configs themselves are
    # built for the first cell of each variant (a preset changes which values are valid, e.g. consensus and k).
    # The filled cell is merged: a searched variant must not change a value filled in for its label.
    first_of_variant: dict[Any, dict[str, Any]] = {}
    for i, cell in cells:
        first_of_variant.setdefault(_freeze(cell.get("variant")), cell)
        for key, param in suite.search.space.items():
            for value in param.extremes():
                for d in suite.merge(cell, {key: value}).disagreements:
                    text = _disagreement(suite, i, cell, d, searched=key)
                    if key == "variant":  # the searched variant disagrees with a value of the cell
                        text = f"search.space.variant: value {brief(value)}: {text}"
                    problems.append(text)
    if problems:
        return problems
    for cell in first_of_variant.values():
        label = "" if cell is cells[0][1] else f" (cell {suite.cell_label(cell)})"
        for key, param in suite.search.space.items():
            for value in param.extremes():
                try:
                    suite.config(cell, suite.search.seed, {key: value})
                except ValidationError as err:
                    for e in err.errors():
                        where = _loc(e["loc"])  # e.g. betas[0] for beta1
                        where = f"{where}: " if where and where != key else ""
                        problems.append(f"search.space.{key}: value {brief(value)} is invalid{label}: "
                                        f"{where}{_describe({**e, 'loc': ()}, TrialConfig)}")
    return problems


def _where(suite: Suite, i: int, cell: dict[str, Any], layer: str | None, key: str) -> str:
    """The suite key the value of ``key`` of a cell of ``grids()[i]`` came from: ``grid.key[j]`` (``grid[i].key[j]``
    in a list of grids), ``params.key`` or ``search.space.key``."""
    if layer == "grid":
        grid = suite.grids()[i]
        if key not in grid:  # a filled cell was merged (search checks): name the mapping that left it out
            return f"{key} (filled in for {_at(suite, i)}, which leaves it out)"
        return f"{_at(suite, i)}.{key}[{_position(grid[key], cell[key])}]"
    return f"search.space.{key}" if layer == "search" else f"params.{key}"


def _disagreement(suite: Suite, i: int, cell: dict[str, Any], d: Disagreement, searched: str = "") -> str:
    """A Disagreement as a problem line; ``searched``: the search space key a searched value was drawn for."""
    def where(layer: str, key: str) -> str:
        if layer != "search":
            return _where(suite, i, cell, layer, key)
        return f"search.space.{searched} ({key})" if searched and searched != key else f"search.space.{key}"

    tied_where = where(d.tied_with[0], d.tied_with[1]) if d.tied_with else ""
    return d.describe(where(d.layer, d.key), tied_where)


def _check_trials(suite: Suite) -> list[str]:
    """Validate every cell's config, pointing each error at the grid entry or param it came from.

    Keys already reported (unknown, or set in both grid and params) are left out, so the
    remaining values are still checked and every problem is reported at once; an unknown grid
    key is never expanded. Two cells that make the same trial (e.g. 0.001 and "1e-3"), or that
    are the same once filled (two mappings of a list of grids), are refused.
    """
    problems: list[str] = []
    axes = [a for a in suite.axes() if a in TUNABLE_KEYS or is_option_key(a)]
    params = {k: v for k, v in suite.params.items() if is_trial_key(k, v)}
    made: dict[str, tuple[int, dict[str, Any]]] = {}  # config hash -> the first cell making it
    given_by: dict[Any, int] = {}  # filled cell -> the first mapping giving it
    for i, given, cell in suite.indexed_cells(axes):
        first = given_by.setdefault(_freeze(cell), i)
        if first != i:  # within one mapping, a repeated value is reported as such (_check_keys)
            problems.append(f"{_at(suite, i)}: cell {suite.cell_label(cell)} is also a cell of {_at(suite, first)}; "
                            f"give each cell once")
            continue
        # the mapping's own values, not the filled ones: each error points at what the suite wrote
        own_params = {k: v for k, v in params.items() if k not in given}  # one set in both is reported already
        merged = suite.merge(given, params=own_params)  # the one merge Suite.config makes: params < preset < cell
        for d in merged.disagreements:
            problems.append(_disagreement(suite, i, given, d))
        try:
            cfg = TrialConfig(**merged.agreed(), **suite.budget.model_dump(), seed=suite.seeds[0])
        except ValidationError as err:
            for e in err.errors():
                if not e["loc"]:  # a rule across keys (e.g. compile with a gradient penalty)
                    problems.append(f"cell {suite.cell_label(cell)}: {_describe(e, TrialConfig)}")
                    continue
                key = e["loc"][0]
                source = merged.sources.get(key)
                if key in ("steps", "eval_every"):
                    where = f"budget.{key}"
                elif source == "preset":  # a preset's value: the error points at the variant that set it
                    variant_at = _where(suite, i, given, merged.variant_layer, "variant")
                    where = f"{variant_at} ({merged.variant!r} sets {key})"
                else:
                    where = _where(suite, i, given, source or "params", key)
                problems.append(_describe({**e, "loc": e["loc"][1:]}, TrialConfig, prefix=where))
            continue
        if merged.disagreements:
            continue
        j, same = made.setdefault(cfg.config_hash(), (i, cell))
        if same is cell:
            continue
        differ = [a for a in axes if _freeze(same[a]) != _freeze(cell[a])]
        if j != i:  # e.g. lr_g: [0.001] in one mapping, ["1e-3"] in another
            problems.append(f"{_at(suite, j)} and {_at(suite, i)}: cells {suite.cell_label(same)} and "
                            f"{suite.cell_label(cell)} make the same trial")
        elif len(differ) == 1:  # e.g. lr_g: [0.001, "1e-3"]
            a = differ[0]
            problems.append(f"{_at(suite, i)}.{a}: {brief(same[a])} and {brief(cell[a])} make the same trial; "
                            f"give each value once")
        else:
            problems.append(f"{_at(suite, i)}: cells {suite.cell_label(same)} and {suite.cell_label(cell)} "
                            f"make the same trial")
    return problems
