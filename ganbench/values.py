"""The value types of every input model (TrialConfig, the suite, the search): whole numbers and floats that are
not booleans, seeds, and how a message shows a value."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

#: the largest whole number a field takes: results tables store numbers (grid axes, seeds, steps) as int64
INT_MAX = 2**63 - 1
#: seeds lie in [0, SEED_LIMIT): numpy and the results table take any of them
SEED_LIMIT = 2**32


def brief(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: short, and never failing (a 5,000-digit integer cannot be printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"a {value.bit_length()}-bit integer"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same_value(a: Any, b: Any) -> bool:
    """Equal as a config field holds them: (0.0, 0.99) == [0, 0.99], 2 == 2.0, but True is not 1."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _not_bool(value: Any) -> Any:
    """YAML's true/false are not the numbers 1/0 here (pydantic's lax mode would take them)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    return value


def _seed_in_range(seed: int) -> int:
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"a seed must lie in 0 <= seed < 2**32 (4294967296), got {brief(seed)}")
    return seed


#: a whole number that is not a boolean and fits the results tables (int64)
Int = Annotated[int, BeforeValidator(_not_bool), Field(le=INT_MAX)]
#: a finite number that is not a boolean (models refuse inf/nan with allow_inf_nan=False)
Float = Annotated[float, BeforeValidator(_not_bool)]
#: a training or sampler seed
Seed = Annotated[int, BeforeValidator(_not_bool), AfterValidator(_seed_in_range)]

#: the settings of every input model: no unknown keys, immutable, finite floats only
MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
