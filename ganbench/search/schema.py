"""The suite's `search:` block: budget per cell, sampler, pruner, objective and search space."""
from __future__ import annotations

import math
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field, field_validator, model_serializer, model_validator

from ganbench.config import MODEL_CONFIG, Float, Int, Seed, TrialConfig
from ganbench.metrics import metric
from ganbench.options import is_option_key, option_keys
from ganbench.registry import suggest
from ganbench.roles import keys_where

#: what a search may tune: any per-trial parameter except the cell's identity, plus Adam's
#: two betas one at a time (`beta1`, `beta2`; they fill `betas`)
SEARCHABLE_KEYS = sorted(set(keys_where(TrialConfig, tunable=True, searchable=True)) | {"beta1", "beta2"})

#: the grid sampler holds every point of its space in memory: at most this many
MAX_GRID_POINTS = 100_000


class Param(BaseModel):
    """One dimension of the search space, as Optuna's suggest_float / suggest_int / suggest_categorical."""

    model_config = MODEL_CONFIG
    type: Literal["float", "int", "categorical"]
    low: Optional[Float] = None
    high: Optional[Float] = None
    log: bool = False
    step: Optional[Float] = Field(None, gt=0)
    choices: Optional[list[Any]] = None

    @model_validator(mode="after")
    def _consistent(self) -> "Param":
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs a non-empty 'choices' list")
            if self.low is not None or self.high is not None:
                raise ValueError("a categorical parameter takes 'choices', not low/high")
            return self
        if self.choices is not None:
            raise ValueError(f"a {self.type} parameter takes low/high, not 'choices'")
        if self.low is None or self.high is None:
            raise ValueError(f"a {self.type} parameter needs both 'low' and 'high'")
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("log: true needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined (Optuna's rule)")
        if self.type == "int" and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError("an int parameter needs whole low/high")
        if self.type == "int" and self.step is not None and not float(self.step).is_integer():
            raise ValueError(f"an int parameter needs a whole step, got {self.step}")
        return self

    def extremes(self) -> list[Any]:
        """Values that bound the parameter, to validate the space before anything runs."""
        if self.type == "categorical":
            return list(self.choices or [])
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]

    def grid_size(self) -> float:
        """How many values ``grid_values`` would list, computed without listing them (may be inf)."""
        if self.type == "categorical":
            return len(self.choices or [])
        if self.type == "int" and not self.log:
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        if self.type == "float" and self.step is not None:
            n = (self.high - self.low) / self.step
            return round(n) + 1 if math.isfinite(n) else math.inf
        raise ValueError("the grid sampler needs a finite space: categorical, int, or float with 'step'")

    def grid_values(self) -> list[Any]:
        """Every value, for the grid sampler (which needs a finite space)."""
        if self.type == "categorical":
            return list(self.choices or [])
        if self.type == "int" and not self.log:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.type == "float" and self.step is not None:
            n = int(round((self.high - self.low) / self.step))
            return [self.low + i * self.step for i in range(n + 1)]
        raise ValueError("the grid sampler needs a finite space: categorical, int, or float with 'step'")


class Objective(BaseModel):
    model_config = MODEL_CONFIG
    metric: str = Field(description="the final value of this metric is what each cell's study optimises")
    direction: Optional[Literal["minimize", "maximize"]] = Field(
        None, description="default: the metric's own direction (bench.py list metrics)")

    @field_validator("metric")
    @classmethod
    def _directed(cls, name: str) -> str:
        if metric(name).higher_is_better is None:
            raise ValueError(f"metric {name!r} has no direction, so it cannot be an objective")
        return name

    def resolved_direction(self) -> str:
        if self.direction:
            return self.direction
        return "maximize" if metric(self.metric).higher_is_better else "minimize"


class CollapseOptions(BaseModel):
    """Knobs of ``pruner: collapse`` (search/pruners.py says why each rule stops a trial)."""

    model_config = MODEL_CONFIG
    saturation_evals: Int = Field(3, ge=1, description="consecutive evaluations with D saturated before stopping")
    d_real_min: Float = Field(0.99, gt=0, le=1, description="D(x) at or above this counts as saturated")
    d_fake_max: Float = Field(0.01, ge=0, lt=1, description="D(G(z)) at or below this counts as saturated")
    collapse_fraction: Float = Field(0.5, ge=0, lt=1,
                                     description="stop when modes_covered <= this x the trial's best so far")


class Search(BaseModel):
    """Each grid cell gets its own Optuna study with the same budget (`n_trials`).

    Seeds: every search trial trains with the training seed `seed` (common random numbers,
    so trials differ only in their parameters), and the sampler is seeded from `seed` and
    the trial number. When a cell's study is done its best parameters are re-run on every
    seed of the suite's `seeds`; the leaderboard's means and intervals come from those runs.
    """

    model_config = MODEL_CONFIG
    n_trials: Int = Field(ge=1, description="Optuna trials per cell: the same budget for every cell")
    sampler: Literal["tpe", "random", "grid", "cmaes", "qmc"] = "tpe"
    pruner: Literal["none", "median", "hyperband", "collapse"] = "median"
    pruner_options: Optional[CollapseOptions] = Field(None, description="only with pruner: collapse")
    objective: Objective
    space: dict[str, Param] = Field(min_length=1)
    seed: Seed = Field(0, description="seeds the sampler and is the training seed of every search trial")

    @field_validator("space")
    @classmethod
    def _known_keys(cls, space: dict[str, Param]) -> dict[str, Param]:
        unknown = [k for k in space if k not in SEARCHABLE_KEYS and not is_option_key(k)]
        if unknown:
            hint = suggest(unknown[0], SEARCHABLE_KEYS + option_keys())
            raise ValueError(f"cannot search {', '.join(map(repr, unknown))}{hint}; searchable keys: "
                             f"{', '.join(SEARCHABLE_KEYS)}, and a plugin component's options by dotted name "
                             f"(e.g. my_loss.margin{': ' + ', '.join(option_keys()) if option_keys() else ''})")
        if "betas" in space and ({"beta1", "beta2"} & set(space)):
            raise ValueError("search either 'betas' (categorical pairs) or 'beta1'/'beta2', not both")
        return space

    @model_validator(mode="after")
    def _options_fit_the_pruner(self) -> "Search":
        if self.pruner_options is not None and self.pruner != "collapse":
            raise ValueError(f"pruner_options are the collapse pruner's; pruner is {self.pruner!r}")
        return self

    @model_serializer(mode="wrap")
    def _unset_options_left_out(self, handler):
        # added later: a search without options dumps as before, so earlier runs keep their suite_hash
        dump = handler(self)
        if self.pruner_options is None:
            dump.pop("pruner_options", None)
        return dump

    @model_validator(mode="after")
    def _grid_is_finite(self) -> "Search":
        if self.sampler == "grid":
            sizes = {}
            for name, param in self.space.items():
                try:
                    sizes[name] = param.grid_size()
                except ValueError as err:
                    raise ValueError(f"space.{name}: {err}") from None
            points = math.prod(sizes.values())
            if points > MAX_GRID_POINTS:
                counts = " x ".join(f"{name} {n:,}" if math.isfinite(n) else f"{name} (too many)"
                                    for name, n in sizes.items())
                raise ValueError(f"the grid sampler's space has {points:,} points ({counts}); "
                                 f"at most {MAX_GRID_POINTS:,}: take a larger step or fewer values")
        return self


def study_name(suite_name: str, cell_label: str) -> str:
    """The Optuna study of one cell (one name, used by the study server and in every search row)."""
    return f"{suite_name} | {cell_label}"


def to_trial_params(sampled: dict[str, Any], base_betas: tuple[float, float]) -> dict[str, Any]:
    """Sampled values -> TrialConfig keys (beta1/beta2 fill the betas pair)."""
    params = {k: v for k, v in sampled.items() if k not in ("beta1", "beta2")}
    if "beta1" in sampled or "beta2" in sampled:
        params["betas"] = (sampled.get("beta1", base_betas[0]), sampled.get("beta2", base_betas[1]))
    if isinstance(params.get("betas"), list):  # a categorical choice [b1, b2]; anything else is TrialConfig's to refuse
        params["betas"] = tuple(params["betas"])
    return params
