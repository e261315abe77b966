"""Suite YAML -> validated, frozen Suite -> the list of trials it plans.

Every error is collected before anything runs and reported as one SuiteError that names
the file, the key path and the valid choices. Validation here is about the suite as data
(keys, types, ranges, registered names); nothing is built. ``checks.check_suite`` adds the
checks that build models and datasets (run/validate only). ``read_suite`` reads a results
folder's suite.yaml for reports, without the model, loss and dataset lookups: a report rebuilds after
a dataset, model or loss it names has gone.
"""
from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ganbench.config import TUNABLE_KEYS, Target, TrialConfig
from ganbench.search.schema import Search, to_trial_params

GRID_AXES = ("model", "loss", "d_steps_per_g_step", "dataset")


class SuiteError(Exception):
    """Bad suite input: the message is meant for the user as it is."""


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    steps: int = Field(ge=1, description="Algorithm 1 iterations per trial")
    eval_every: int = Field(ge=1, description="iterations between evaluations")


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    num_cpus: float = Field(1.0, gt=0, description="CPUs Ray reserves for each trial (also torch's thread count)")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per trial; fractions let trials share a GPU")


class Execution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    batch_trials: int = Field(1, ge=1, description="train up to M trials of a cell (seeds, or a search's trials of one shape) as one stacked model (mlp)")


class Suite(BaseModel):
    """A study: grid x seeds, fixed params, budget and resources per trial."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="names results/<name>/")
    description: str = ""
    seeds: list[int] = Field(min_length=1)
    budget: Budget
    grid: dict[str, list[Any]] = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    target: Optional[Target] = None
    search: Optional[Search] = Field(None, description="an Optuna study per cell instead of fixed params")
    max_retries: int = Field(2, ge=0, description="times Ray reruns a trial whose worker or node died")
    execution: Execution = Field(default_factory=Execution, description="how trials are packed onto workers")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}")
        return seeds

    def axes(self) -> list[str]:
        """Grid keys in a stable order: the four main axes first, then the rest as written."""
        return [a for a in GRID_AXES if a in self.grid] + [a for a in self.grid if a not in GRID_AXES]

    def cells(self) -> list[dict[str, Any]]:
        axes = self.axes()
        return [dict(zip(axes, values)) for values in itertools.product(*(self.grid[a] for a in axes))]

    def trial_configs(self) -> list[TrialConfig]:
        """Every (cell, seed) pair as a validated config, in grid order then seed order."""
        return [self.config(cell, seed) for cell in self.cells() for seed in self.seeds]

    def cell_label(self, cell: dict[str, Any]) -> str:
        return " ".join(f"{axis}={cell[axis]}" for axis in self.axes())

    def config(self, cell: dict[str, Any], seed: int, sampled: dict[str, Any] | None = None) -> TrialConfig:
        """The trial of ``cell`` at ``seed``, with searched values (``sampled``) on top of ``params``."""
        params = dict(self.params)
        if sampled:
            params.update(to_trial_params(sampled, tuple(params.get("betas", TrialConfig.model_fields["betas"].default))))
        return TrialConfig(**{**params, **self.budget.model_dump(), "target": self.target, **cell}, seed=seed)

    def suite_hash(self) -> str:
        dump = self.model_dump(mode="json")
        if self.execution == Execution():  # added later: default settings keep earlier runs' hashes
            dump.pop("execution")
        blob = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- loading -------------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """'budget.steps=500' -> (['budget', 'steps'], 500); the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SuiteError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. budget.steps=500")
    return key.split("."), yaml.safe_load(value)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SuiteError(f"--set {text!r}: {'.'.join(path[:-1])} is not a mapping")
        node[path[-1]] = value
    return raw


def _read_mapping(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SuiteError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping with keys {', '.join(Suite.model_fields)}")
    return raw


def load_suite(path: str | Path, overrides: list[str] = ()) -> Suite:
    """Read, override and validate a suite file; raise SuiteError with every problem found."""
    return validate_suite(apply_overrides(_read_mapping(path), list(overrides)), source=str(path))


def read_suite(path: str | Path) -> Suite:
    """The suite.yaml of a results folder as data: its schema only, no model, loss or dataset lookups (reports)."""
    try:
        return Suite(**_read_mapping(path))
    except ValidationError as err:
        raise SuiteError(format_problems(str(path), [_describe(e, Suite) for e in err.errors()])) from None


def suite_datasets(suite: Suite) -> list[str]:
    """The suite's dataset names, in grid order."""
    return list(suite.grid.get("dataset", [suite.params.get("dataset")]))


def validate_suite(raw: dict, source: str = "<suite>") -> Suite:
    try:
        suite = Suite(**raw)
    except ValidationError as err:
        raise SuiteError(format_problems(source, [_describe(e, Suite) for e in err.errors()])) from None
    problems = _check_keys(suite) + _check_search_keys(suite)
    problems += _check_trials(suite, known_params_only=bool(problems))
    if not problems:
        problems = _check_search_values(suite)
    if problems:
        raise SuiteError(format_problems(source, problems))
    return suite


def format_problems(source: str, problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    if len(unique) == 1:
        return f"{source}: {unique[0]}"
    return f"{source}: {len(unique)} problems\n" + "\n".join(f"  - {p}" for p in unique)


def _describe(error: dict, model: type[BaseModel], prefix: str = "") -> str:
    loc = prefix + _loc(error["loc"])
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent = _fields_at(model, error["loc"][:-1])
        msg = f"unknown key; valid keys: {', '.join(parent)}" if parent else "unknown key"
        close = difflib.get_close_matches(str(error["loc"][-1]), parent, n=1)
        msg += f" (did you mean {close[0]!r}?)" if close else ""
    elif error["type"] == "missing":
        msg = "required key is missing"
    elif error["type"] == "too_short":
        msg = "empty; give at least one entry"
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


def _check_keys(suite: Suite) -> list[str]:
    problems = []
    for where, keys in (("grid", suite.grid), ("params", suite.params)):
        for key in keys:
            if key not in TUNABLE_KEYS:
                hint = {"steps": "budget.steps", "eval_every": "budget.eval_every", "seed": "seeds", "target": "target"}
                fix = f"set it as {hint[key]}" if key in hint else f"valid keys: {', '.join(TUNABLE_KEYS)}"
                problems.append(f"{where}.{key}: unknown key; {fix}")
    for key, values in suite.grid.items():
        if not values:
            problems.append(f"grid.{key}: empty list; give at least one value")
        if key in suite.params:
            problems.append(f"params.{key}: also set in grid.{key}; keep one")
    for axis in ("model", "loss", "dataset"):
        if axis not in suite.grid and axis not in suite.params:
            problems.append(f"grid.{axis}: required key is missing (set it in grid or params)")
    return problems


def _check_search_keys(suite: Suite) -> list[str]:
    if suite.search is None:
        return []
    problems = []
    for key in suite.search.space:
        for where in ("grid", "params"):
            if key in getattr(suite, where):
                problems.append(f"search.space.{key}: also set in {where}.{key}; a key is searched or fixed, not both")
    return problems


def _check_search_values(suite: Suite) -> list[str]:
    """Every end of every searched range must make a valid trial (e.g. lr > 0, k >= 1)."""
    if suite.search is None:
        return []
    problems = []
    cell = suite.cells()[0]
    for key, param in suite.search.space.items():
        for value in param.extremes():
            try:
                suite.config(cell, suite.search.seed, {key: value})
            except ValidationError as err:
                for e in err.errors():
                    problems.append(f"search.space.{key}: value {value!r} is invalid: {e['msg'].removeprefix('Value error, ')}")
    return problems


def _check_trials(suite: Suite, known_params_only: bool = False) -> list[str]:
    """Validate every cell's config, pointing each error at the grid entry or param it came from.

    With ``known_params_only`` (key errors already found) the bad keys are left out so the
    remaining values are still checked and every problem is reported at once.
    """
    problems: list[str] = []
    params = suite.params
    if known_params_only:
        params = {k: v for k, v in params.items() if k in TUNABLE_KEYS and k not in suite.grid}
    for cell in suite.cells():
        try:
            TrialConfig(**params, **suite.budget.model_dump(), **cell, seed=suite.seeds[0])
        except ValidationError as err:
            for e in err.errors():
                if not e["loc"]:  # a rule across keys (e.g. compile with a gradient penalty)
                    problems.append(f"cell {suite.cell_label(cell)}: {e['msg'].removeprefix('Value error, ')}")
                    continue
                key = e["loc"][0]
                if key in cell:
                    where = f"grid.{key}[{suite.grid[key].index(cell[key])}]"
                elif key in ("steps", "eval_every"):
                    where = f"budget.{key}"
                else:
                    where = f"params.{key}"
                problems.append(_describe({**e, "loc": e["loc"][1:]}, TrialConfig, prefix=where))
    return problems
