"""The suite as typed data: Suite (grid x seeds, params, budget, resources, search) and its parts, SuiteError.

A Suite is frozen once validated (``validate.validate_suite``); it expands its grid into cells and each
(cell, seed) into a TrialConfig, merging a cell's keys with its variant preset (``merge.merge_cell``).
"""
from __future__ import annotations

import hashlib
import itertools
import json
from typing import Annotated, Any, Iterator, Optional, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator

from ganbench.config import MODEL_CONFIG, Float, Int, Seed, Target, TrialConfig
from ganbench.errors import UserError
from ganbench.search.schema import Search
from ganbench.suite.merge import Merged, _as_field, _default, merge_cell

GRID_AXES = ("model", "loss", "d_steps_per_g_step", "dataset")


class SuiteError(UserError):
    """Bad suite input: the message is meant for the user as it is."""


class Budget(BaseModel):
    model_config = MODEL_CONFIG
    steps: Int = Field(ge=1, description="Algorithm 1 iterations per trial")
    eval_every: Int = Field(ge=1, description="iterations between evaluations")


class Resources(BaseModel):
    model_config = MODEL_CONFIG
    num_cpus: Float = Field(1.0, gt=0, description="CPUs Ray reserves for each trial (also torch's thread count)")
    num_gpus: Float = Field(0.0, ge=0, description="GPUs per trial; fractions let trials share a GPU")


class Execution(BaseModel):
    model_config = MODEL_CONFIG
    batch_trials: Int = Field(1, ge=1, description="train up to M trials of one shape and loop as one stacked model "
                              "(mlp): seeds, cells that differ only in loss, learning rates, betas or R1/R2 weights, "
                              "or a search's trials of one cell")


def _grid_kind(value: Any) -> str:
    return "list" if isinstance(value, list) else "mapping"


#: one grid: axis -> the values crossed into cells
GridMapping = Annotated[dict[str, list[Any]], Field(min_length=1)]
#: a grid, or a list of grids whose cells are concatenated (sklearn's ParameterGrid). A mapping stays a
#: mapping (not a list of one), so a suite written before lists existed keeps its suite_hash. The
#: discriminator makes pydantic report only the errors of the shape given; ``validate._suite_problems`` drops its tag
#: from error locations.
Grid = Annotated[Union[Annotated[GridMapping, Tag("mapping")],
                       Annotated[list[GridMapping], Field(min_length=1), Tag("list")]],
                 Discriminator(_grid_kind)]


class Suite(BaseModel):
    """A study: grid x seeds, fixed params, budget and resources per trial."""

    model_config = MODEL_CONFIG
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100, description="names results/<name>/")
    description: str = ""
    seeds: list[Seed] = Field(min_length=1)
    budget: Budget
    grid: Grid = Field(description="axis -> values, crossed into cells; or a list of such mappings, cells concatenated")
    params: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    target: Optional[Target] = None
    search: Optional[Search] = Field(None, description="an Optuna study per cell instead of fixed params")
    max_retries: Int = Field(2, ge=0, description="times Ray reruns a trial whose worker or node died")
    execution: Execution = Field(default_factory=Execution, description="how trials are packed onto workers")
    imports: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="plugins imported before the suite is validated, in the driver and in "
        "every Ray worker: module names, or .py files relative to the suite file (ganbench.plugins)")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        first: dict[int, int] = {}
        for i, seed in enumerate(seeds):
            if seed in first:
                raise ValueError(f"seeds repeat: seeds[{i}] = {seed} is also seeds[{first[seed]}]")
            first[seed] = i
        return seeds

    def grids(self) -> list[dict[str, list[Any]]]:
        """The grid as a list of mappings (a mapping grid is a list of one)."""
        return list(self.grid) if isinstance(self.grid, list) else [self.grid]

    def axes(self) -> list[str]:
        """Grid keys in a stable order: the four main axes first, then the rest as first written."""
        keys = dict.fromkeys(key for grid in self.grids() for key in grid)
        return [a for a in GRID_AXES if a in keys] + [a for a in keys if a not in GRID_AXES]

    def cells(self) -> list[dict[str, Any]]:
        """Each mapping's product in order, concatenated; every cell has every axis (``filled``)."""
        return [cell for _, _, cell in self.indexed_cells()]

    def indexed_cells(self, axes: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """(index in ``grids()``, the cell as its mapping gives it, the cell ``filled``) for every cell,
        over ``axes`` (default: all; validation leaves unknown keys out)."""
        axes = self.axes() if axes is None else axes
        for i, grid in enumerate(self.grids()):
            own = [a for a in axes if a in grid]
            for values in itertools.product(*(grid[a] for a in own)):
                given = dict(zip(own, values))
                yield i, given, self.filled(given, axes)

    def filled(self, given: dict[str, Any], axes: list[str]) -> dict[str, Any]:
        """``given`` with every one of ``axes``, in their order. An axis its mapping leaves out takes the value
        the trial gets anyway (params, the preset, TrialConfig's default), as the trial holds it: labels and
        tables stay uniform, and passing the filled cell to ``config`` makes the same trial."""
        if len(given) == len(axes):
            return {a: given[a] for a in axes}
        values = self.merge(given).values
        return {a: given[a] if a in given else _as_field(a, values[a]) if a in values else _default(a) for a in axes}

    def axis_values(self, axis: str) -> list[Any]:
        """The distinct values of ``axis`` over all cells, in cell order ([] for a key that is no axis)."""
        seen: dict[Any, Any] = {}
        for cell in self.cells():
            if axis in cell:
                seen.setdefault(_freeze(cell[axis]), cell[axis])
        return list(seen.values())

    def trial_configs(self) -> list[TrialConfig]:
        """Every (cell, seed) pair as a validated config, in grid order then seed order."""
        return [self.config(cell, seed) for cell in self.cells() for seed in self.seeds]

    def cell_label(self, cell: dict[str, Any]) -> str:
        return " ".join(f"{axis}={cell[axis]}" for axis in self.axes())

    def config(self, cell: dict[str, Any], seed: int, sampled: dict[str, Any] | None = None) -> TrialConfig:
        """The trial of ``cell`` at ``seed``: ``params`` < the cell's variant preset < ``cell`` < searched values
        (``sampled``). A cell or searched value that disagrees with the preset is an error naming both
        (TrialConfig's, here; ``validate_suite`` reports it first, pointing at the suite key)."""
        merged = self.merge(cell, sampled)
        return TrialConfig(**{**merged.values, **self.budget.model_dump(), "target": self.target}, seed=seed)

    def merge(self, cell: dict[str, Any], sampled: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Merged:
        """The trial keys of ``cell`` (with ``sampled``) over ``params`` (default: the suite's), where each comes
        from, and what disagrees with its variant preset (``merge.merge_cell``)."""
        return merge_cell(dict(self.params) if params is None else params, cell, sampled)

    def suite_hash(self) -> str:
        dump = self.model_dump(mode="json")
        if self.execution == Execution():  # added later: default settings keep earlier runs' hashes
            dump.pop("execution")
        if not self.imports:  # likewise
            dump.pop("imports")
        blob = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def suite_datasets(suite: Suite) -> list[str]:
    """The suite's dataset names, in grid order."""
    return suite.axis_values("dataset") if "dataset" in suite.axes() else [suite.params.get("dataset")]


def _freeze(value: Any) -> Any:
    """A hashable stand-in, equal exactly when the values are (1 == 1.0 as TrialConfig sees them; True is not 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((k, _freeze(v)) for k, v in value.items()))
    return value
