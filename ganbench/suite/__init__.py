"""Suite YAML -> validated, frozen Suite -> the list of trials it plans.

Every error is collected before anything runs and reported as one SuiteError that names
the file, the key path and the valid choices; no other exception type leaves ``load_suite``.
``checks.check_suite`` adds the checks that build models and datasets (run/validate only).

    schema.py    the typed suite (Suite, Budget, Resources, Execution, the grid), SuiteError
    io.py        the YAML loader (no duplicate keys), --set overrides, load_suite / read_suite
    merge.py     a cell's trial keys over params and its variant preset (merge_cell, Merged, Disagreement)
    validate.py  validate_suite: every problem at its key path, formatted as one message
"""
from __future__ import annotations

from ganbench.suite.io import (
    MAX_FILE_BYTES,
    DuplicateKeyError,
    SuiteLoader,
    apply_overrides,
    load_suite,
    load_yaml,
    parse_override,
    read_suite,
)
from ganbench.suite.merge import Disagreement, Merged, merge_cell
from ganbench.suite.schema import (
    GRID_AXES,
    Budget,
    Execution,
    Grid,
    GridMapping,
    Resources,
    Suite,
    SuiteError,
    suite_datasets,
)
from ganbench.suite.validate import (
    MAX_CELLS,
    MAX_DEPTH,
    MAX_TRIALS,
    MAX_VALUES,
    format_list,
    format_problems,
    keys_with_defaults,
    validate_schema,
    validate_suite,
)

__all__ = [
    "GRID_AXES", "MAX_CELLS", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_TRIALS", "MAX_VALUES",
    "Budget", "Disagreement", "DuplicateKeyError", "Execution", "Grid", "GridMapping", "Merged", "Resources",
    "Suite", "SuiteError", "SuiteLoader",
    "apply_overrides", "format_list", "format_problems", "keys_with_defaults", "load_suite", "load_yaml",
    "merge_cell", "parse_override", "read_suite", "suite_datasets", "validate_schema", "validate_suite",
]
