"""Suite files: the YAML loader (no duplicate keys), --set overrides, and reading a suite file.

``load_suite`` reads a suite to run or validate (its plugins imported, every trial checked);
``read_suite`` a results folder's suite.yaml for reports, by its schema only, without the model,
loss and dataset lookups: a report rebuilds after a dataset, model or loss it names has gone.
Every error is one SuiteError that names the file, the key path and the valid choices.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ganbench.config import brief
from ganbench.suite.schema import Suite, SuiteError
from ganbench.suite.validate import _name, format_list, validate_schema, validate_suite

#: the cap on a suite file's size
MAX_FILE_BYTES = 1 << 20


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
    return _load(path, overrides, schema_only=False)


def read_suite(path: str | Path, overrides: list[str] = ()) -> Suite:
    """A suite file as data (a results folder's suite.yaml): its schema only, no model, loss or dataset lookups."""
    return _load(path, overrides, schema_only=True)


def _load(path: str | Path, overrides: list[str], schema_only: bool) -> Suite:
    """Read ``path``, apply ``overrides``, then validate the schema only, or import the plugins and validate all."""
    raw = _read_mapping(path)
    try:
        raw = apply_overrides(raw, list(overrides))
    except SuiteError as err:
        raise SuiteError(f"{path}: {err}") from None
    if schema_only:
        return validate_schema(raw, str(path))
    imports = raw.get("imports")
    if isinstance(imports, list) and all(isinstance(spec, str) and spec for spec in imports):
        from ganbench.plugins import PluginError, import_plugins

        try:
            import_plugins(imports, base=Path(path).parent)
        except PluginError as err:
            raise PluginError(f"{path}: imports: {err}") from None
    return validate_suite(raw, source=str(path))
