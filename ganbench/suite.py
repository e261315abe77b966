"""Suite YAML -> validated, frozen Suite -> the list of trials it plans.

Every error is collected before anything runs and reported as one SuiteError that names
the file, the key path and the valid choices; no other exception type leaves ``load_suite``.
Validation here is about the suite as data (text, keys given once, types, finite numbers,
ranges, registered names, a bounded number of cells and trials); nothing is built or expanded
before its size is known. ``checks.check_suite`` adds the
checks that build models and datasets (run/validate only). ``read_suite`` reads a results
folder's suite.yaml for reports, without the model, loss and dataset lookups: a report rebuilds after
a dataset, model or loss it names has gone.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional, Union

import yaml
from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator

from ganbench.config import MODEL_CONFIG, TUNABLE_KEYS, Float, Int, Seed, Target, TrialConfig, brief, same_value
from ganbench.errors import UserError
from ganbench.registry import VARIANTS, suggest
from ganbench.search.schema import Search, to_trial_params

GRID_AXES = ("model", "loss", "d_steps_per_g_step", "dataset")

#: caps on what one suite may plan, checked before anything is expanded (split a larger study into suites)
MAX_CELLS = 10_000
MAX_TRIALS = 100_000
#: caps on the suite text and on the data it holds once YAML aliases are expanded
MAX_FILE_BYTES = 1 << 20
MAX_VALUES = 100_000
MAX_DEPTH = 32


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
#: discriminator makes pydantic report only the errors of the shape given; ``_suite_problems`` drops its tag
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
        """The trial keys of ``cell`` (with ``sampled``), where each comes from, and what disagrees with its preset.

        Layers, lowest first: ``params`` (suite-wide defaults), the preset named by ``variant`` (whichever layer
        sets it), the cell's grid values, the searched values. A preset overrides ``params``, except when
        ``variant`` itself is in ``params``: then ``params`` states the preset's values as explicitly as a cell
        does. An explicit value that differs from the preset is a ``Disagreement``; in ``values`` the explicit
        value stands (TrialConfig refuses it), and ``agreed()`` puts the preset's back (to check the rest).
        A preset's tied keys (r3gan's r1 = r2 = gamma) take the one explicit value of the group, if any.
        """
        params = dict(self.params) if params is None else params
        sampled = sampled or {}
        layers = [("params", params), ("grid", dict(cell))]
        variant, variant_layer = None, None
        for name, layer in layers + [("search", sampled)]:
            if "variant" in layer:
                variant, variant_layer = layer["variant"], name
        preset = VARIANTS.get(variant) if isinstance(variant, str) and variant in VARIANTS else None
        values, sources = dict(params), dict.fromkeys(params, "params")
        if preset is not None:
            values.update(preset.parameters)
            sources.update(dict.fromkeys(preset.parameters, "preset"))
            if variant_layer == "params":  # stated together with the variant: explicit, checked below
                values.update(params)
                sources.update(dict.fromkeys(params, "params"))
        values.update(cell)
        sources.update(dict.fromkeys(cell, "grid"))
        if sampled:
            base = values.get("betas")  # beta1 or beta2 alone keeps the other of the betas merged so far
            default = TrialConfig.model_fields["betas"].default
            base = tuple(base) if isinstance(base, (list, tuple)) and len(base) == 2 else default
            searched = to_trial_params(sampled, base)
            values.update(searched)
            sources.update(dict.fromkeys(searched, "search"))
            layers.append(("search", searched))
        merged = Merged(values, sources, variant, variant_layer, preset)
        if preset is None:
            return merged
        explicit = [(name, layer) for name, layer in layers if name != "params" or variant_layer == "params"]
        for group in preset.tied:
            given = [(name, key, layer[key]) for name, layer in explicit for key in group if key in layer]
            if not given:
                continue
            for key in group:  # the group follows the explicit value of highest precedence
                if not any(key == k for _, k, _ in given):
                    values[key] = given[-1][2]
                    sources[key] = given[-1][0]
            first = given[0]
            for other in given[1:]:
                if not same_value(_as_field(other[1], other[2]), _as_field(first[1], first[2])):
                    merged.disagreements.append(Disagreement(other[0], other[1], other[2], preset, tied_with=first))
        for key, value in preset.parameters.items():
            if preset.tied_group(key):
                continue
            for name, layer in explicit:
                if key in layer and not same_value(_as_field(key, layer[key]), value):
                    merged.disagreements.append(Disagreement(name, key, layer[key], preset))
        return merged

    def suite_hash(self) -> str:
        dump = self.model_dump(mode="json")
        if self.execution == Execution():  # added later: default settings keep earlier runs' hashes
            dump.pop("execution")
        if not self.imports:  # likewise
            dump.pop("imports")
        blob = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Disagreement:
    """An explicit suite value (``layer``: params, grid or search) that differs from the cell's preset."""

    layer: str
    key: str
    value: Any
    preset: Any  # variants.Variant
    #: for a tied key: (layer, key, value) of the earlier explicit value of its group it differs from
    tied_with: tuple[str, str, Any] | None = None

    def describe(self, where: str, tied_where: str = "") -> str:
        """The message, given where the value (and, for a tied key, the other value) was set."""
        name = self.preset.name
        if self.tied_with is not None:
            group = " and ".join(self.preset.tied_group(self.key))
            return (f"{where} = {brief(self.value)} disagrees with {tied_where} = {brief(self.tied_with[2])}: "
                    f"variant {name!r} ties {group} (set one; the other follows)")
        preset_value = brief(self.preset.parameters[self.key])
        return f"{where} = {brief(self.value)} disagrees with variant {name!r} ({self.key}: {preset_value})"


@dataclass
class Merged:
    """A cell's trial keys (``Suite.merge``): values, the layer each came from (params, preset, grid, search)."""

    values: dict[str, Any]
    sources: dict[str, str]
    variant: Any = None
    variant_layer: str | None = None
    preset: Any = None
    disagreements: list[Disagreement] = field(default_factory=list)

    def agreed(self) -> dict[str, Any]:
        """``values`` with the preset's value back wherever an explicit one disagreed (the rest still checked)."""
        values = dict(self.values)
        for d in self.disagreements:
            if d.tied_with is not None:
                values[d.key] = d.tied_with[2]
            else:
                values[d.key] = self.preset.parameters[d.key]
        return values


@functools.lru_cache(maxsize=None)
def _field_adapter(key: str) -> TypeAdapter | None:
    info = TrialConfig.model_fields.get(key)
    if info is None:
        return None
    return TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)


def _default(key: str) -> Any:
    """TrialConfig's default of ``key``; None for a required key or one it does not know."""
    info = TrialConfig.model_fields.get(key)
    return None if info is None or info.is_required() else info.get_default(call_default_factory=True)


def _as_field(key: str, value: Any) -> Any:
    """``value`` as TrialConfig would hold it (e.g. [0, 0.99] -> (0.0, 0.99), "1e-3" -> 0.001), or as it is
    when TrialConfig would refuse it (the comparison with a preset then says they differ)."""
    adapter = _field_adapter(key)
    if adapter is None:
        return value
    try:
        return adapter.validate_python(value)
    except (ValidationError, TypeError, ValueError):
        return value


# --- loading -------------------------------------------------------------------------


class DuplicateKeyError(yaml.YAMLError):
    """A mapping of the YAML text gives a key twice (plain YAML keeps the last one, silently)."""


class SuiteLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (the same tags; ``!!python`` ones stay refused) that refuses duplicate keys.

    Every mapping is checked, at any depth, before anything is constructed; the error names each
    repeated key by its path and both of its lines.
    """

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        duplicates = self._duplicate_keys(node)
        if duplicates:
            raise DuplicateKeyError(format_list(duplicates))
        return self.construct_document(node)

    def _duplicate_keys(self, root: yaml.Node) -> list[str]:
        found: list[tuple[int, str]] = []
        visited: set[int] = set()
        stack: list[tuple[yaml.Node, str]] = [(root, "")]
        while stack:
            node, path = stack.pop()
            if id(node) in visited:  # an alias: its node was checked where it was defined
                continue
            visited.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
            elif isinstance(node, yaml.MappingNode):
                first_line: dict[Any, int] = {}
                for key_node, value_node in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: explicit keys may override
                        stack.append((value_node, path))
                        continue
                    if not isinstance(key_node, yaml.ScalarNode):  # unhashable: construction says so
                        continue
                    # a lone `=` key is text to safe_load (flatten_mapping retags it); anything else as it constructs
                    is_text = key_node.tag == "tag:yaml.org,2002:value"
                    key = key_node.value if is_text else self.construct_object(key_node)
                    where = f"{path}.{_name(key)}" if path else _name(key)
                    line = key_node.start_mark.line + 1
                    if key in first_line:
                        first = first_line[key]
                        lines = f"twice on line {line}" if first == line else f"on line {first} and line {line}"
                        found.append((line, f"{where}: key given {lines}; keep one"))
                    else:
                        first_line[key] = line
                    stack.append((value_node, where))
        return [text for _, text in sorted(found)]


def _name(key: Any) -> str:
    """A mapping key as a key path shows it: text as it is (shortened), anything else as its repr."""
    return (key if len(key) <= 60 else key[:57] + "...") if isinstance(key, str) else brief(key)


def format_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{len(items)} problems\n" + "\n".join(f"  - {p}" for p in items)


def load_yaml(text: str) -> Any:
    """The value of a YAML text, as ``yaml.safe_load`` reads it but refusing duplicate keys.

    Raises ValueError with a one-line reason for anything that is not such a text.
    """
    try:
        return yaml.load(text, Loader=SuiteLoader)
    except DuplicateKeyError as err:
        raise ValueError(str(err)) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = ""
        if err.context:
            context = f" ({err.context}{f' at line {err.context_mark.line + 1}' if err.context_mark else ''})"
        raise ValueError(f"not valid YAML: {where}{err.problem}{context}") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (e.g. NUL)
        line = text.count("\n", 0, err.position) + 1
        raise ValueError(f"not valid YAML: line {line}: character {chr(err.character)!r} is not allowed") from None
    except yaml.YAMLError as err:
        raise ValueError(f"not valid YAML: {err}") from None
    except RecursionError:
        raise ValueError("not valid YAML: nested too deeply") from None
    except (ValueError, ArithmeticError) as err:  # a scalar YAML cannot convert, e.g. a date 2001-13-14
        if "integer string conversion" in str(err):
            err = "a whole number of over 4,300 digits"
        raise ValueError(f"not valid YAML: {err}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """'budget.steps=500' -> (['budget', 'steps'], 500); the value is read as YAML."""
    key, sep, value = text.partition("=")
    path = key.split(".")
    if not sep or not key or not all(path):
        raise SuiteError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. budget.steps=500")
    try:
        return path, load_yaml(value)
    except ValueError as err:
        raise SuiteError(f"--set {text!r}: bad value (it is read as YAML): {err}") from None


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for depth, key in enumerate(path[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SuiteError(f"--set {text!r}: {'.'.join(path[:depth + 1])} is not a mapping "
                                 f"(it is {brief(node)}), so it has no key {path[depth + 1]!r}")
        node[path[-1]] = value
    return raw


def _read_text(path: Path) -> str:
    """The suite file as text: one SuiteError naming the file for anything else."""
    try:
        if path.is_dir():
            raise SuiteError(f"{path}: a folder, not a suite file")
        if not path.exists():
            raise SuiteError(f"{path}: no such suite file")
        if not path.is_file():
            raise SuiteError(f"{path}: not a regular file; a suite is a YAML text file")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise SuiteError(f"{path}: cannot read the suite file: permission denied") from None
    except (OSError, ValueError) as err:  # ValueError: e.g. a NUL in the path
        raise SuiteError(f"{path}: cannot read the suite file: {getattr(err, 'strerror', None) or err}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SuiteError(f"{path}: over {MAX_FILE_BYTES:,} bytes; a suite is a short YAML text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SuiteError(f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
                         f"a suite is a YAML text file") from None


def _read_mapping(path: str | Path) -> dict:
    path = Path(path)
    try:
        raw = load_yaml(_read_text(path))
    except ValueError as err:
        raise SuiteError(f"{path}: {err}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping with keys {', '.join(Suite.model_fields)}")
    return raw


def load_suite(path: str | Path, overrides: list[str] = ()) -> Suite:
    """Read, override and validate a suite file; raise SuiteError with every problem found. The plugins its
    ``imports`` names are imported first (.py files relative to the suite file), so their names validate."""
    raw = _read_mapping(path)
    try:
        raw = apply_overrides(raw, list(overrides))
    except SuiteError as err:
        raise SuiteError(f"{path}: {err}") from None
    imports = raw.get("imports")
    if isinstance(imports, list) and all(isinstance(spec, str) and spec for spec in imports):
        from ganbench.plugins import PluginError, import_plugins

        try:
            import_plugins(imports, base=Path(path).parent)
        except PluginError as err:
            raise PluginError(f"{path}: imports: {err}") from None
    return validate_suite(raw, source=str(path))


def read_suite(path: str | Path, overrides: list[str] = ()) -> Suite:
    """A suite file as data (a results folder's suite.yaml): its schema only, no model, loss or dataset lookups."""
    raw = _read_mapping(path)
    try:
        raw = apply_overrides(raw, list(overrides))
    except SuiteError as err:
        raise SuiteError(f"{path}: {err}") from None
    problems = _shape_problems(raw)
    if problems:
        raise SuiteError(format_problems(str(path), problems))
    try:
        return Suite.model_validate(raw)
    except ValidationError as err:
        raise SuiteError(format_problems(str(path), _suite_problems(err))) from None


def suite_datasets(suite: Suite) -> list[str]:
    """The suite's dataset names, in grid order."""
    return suite.axis_values("dataset") if "dataset" in suite.axes() else [suite.params.get("dataset")]


def validate_suite(raw: dict, source: str = "<suite>") -> Suite:
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: a suite is a YAML mapping with keys {', '.join(Suite.model_fields)}")
    problems = _shape_problems(raw)
    if problems:
        raise SuiteError(format_problems(source, problems))
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as err:
        raise SuiteError(format_problems(source, _suite_problems(err))) from None
    problems = _check_keys(suite) + _check_search_keys(suite)
    too_large = _check_size(suite)
    problems += too_large or _check_trials(suite)  # nothing is expanded past the caps
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


def _freeze(value: Any) -> Any:
    """A hashable stand-in, equal exactly when the values are (1 == 1.0 as TrialConfig sees them; True is not 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return ("list", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((k, _freeze(v)) for k, v in value.items()))
    return value


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


def _check_keys(suite: Suite) -> list[str]:
    problems = []
    places = [(_at(suite, i), grid) for i, grid in enumerate(suite.grids())] + [("params", suite.params)]
    for where, keys in places:
        for key in keys:
            if key not in TUNABLE_KEYS:
                hint = {"steps": "budget.steps", "eval_every": "budget.eval_every", "seed": "seeds", "target": "target"}
                fix = f"set it as {hint[key]}" if key in hint else f"valid keys: {keys_with_defaults()}"
                fix += suggest(key, TUNABLE_KEYS) if key not in hint else ""
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
    axes = [a for a in suite.axes() if a in TUNABLE_KEYS]
    params = {k: v for k, v in suite.params.items() if k in TUNABLE_KEYS}
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
