"""A researcher's own losses, models, datasets and variants, in their own file: imported, recorded, shipped.

A plugin is a Python module that registers components with ganbench's registries (``LOSSES.register(...)``
and the like) when it is imported. It is named by

- a suite's ``imports:`` list: ``.py`` files relative to the suite file, or module names (a ``NAME.py`` or a
  package ``NAME/`` beside the suite first, else an importable module);
- ``bench.py run/validate/list/reproduce --import MODULE``, repeatable: the same, relative to the current
  directory;
- an installed package's entry point in the group ``ganbench.plugins`` (``[project.entry-points."ganbench.plugins"]
  my_gan = "my_gan"``), imported by ``registry.load_all`` in every process.

Every entry registered while a plugin is imported records it as its origin (``registry.Registry.origin``).
A trial that uses such an entry (its model, loss, dataset or variant) hashes the plugin's module name and version
into its id (``used_by``), so a changed plugin never resumes into the rows of the old one; a built-in trial's id
is unchanged. The version is the installed distribution's, else the sha256 of the module's source.

On Ray, each task gets the plugins' module names and imports them before it validates its config
(``import_modules``); the files of plugins that are not installed packages travel with the tasks through Ray's
runtime environment (``runtime_env()``: ``py_modules``), so a cluster's workers need no shared filesystem.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ganbench.errors import UserError

ENTRY_POINT_GROUP = "ganbench.plugins"


class PluginError(UserError):
    """A plugin that cannot be imported: one line naming it and its exception (exit code 2)."""


@dataclass(frozen=True)
class Plugin:
    """An imported plugin module, as run.json records it."""

    module: str  # the name it is imported under (a .py file's stem)
    source: str  # how it was named: the path of a .py file, a module name, or "entry point NAME"
    version: str  # the installed distribution's version, or "sha256:<16 hex>" of its source
    path: str | None  # its file or package folder; None for an installed distribution (not shipped)

    def record(self) -> dict[str, str]:
        return {"module": self.module, "source": self.source, "version": self.version}


#: module name -> the plugin imported under it, in import order
_LOADED: dict[str, Plugin] = {}
_entry_points_loaded = False


def loaded() -> list[Plugin]:
    """Every plugin imported in this process, in import order."""
    return list(_LOADED.values())


def names() -> tuple[str, ...]:
    """The module names of the imported plugins (what a Ray task imports before validating)."""
    return tuple(_LOADED)


def _is_file(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def import_plugins(specs: list[str] | tuple[str, ...], base: Path | None = None) -> list[Plugin]:
    """Import each plugin: a ``.py`` file relative to ``base`` (default: the current directory), or a module
    name: a ``NAME.py`` file or ``NAME/`` package in ``base`` first (as Python finds a script's neighbours),
    else an importable module. Importing one twice is a no-op. Raises PluginError naming the plugin and its
    exception."""
    return [_import(spec, base or Path.cwd()) for spec in specs]


def import_modules(modules: list[str] | tuple[str, ...]) -> None:
    """In a Ray worker: import the driver's plugins by module name (their files came through ``py_modules``)."""
    for module in modules:
        if module not in _LOADED:
            _import(module, None)


def _import(spec: str, base: Path | None) -> Plugin:
    from ganbench.registry import load_all, registering

    load_all()  # ganbench's own entries first: a plugin that reuses one of their names is the one refused
    if not isinstance(spec, str) or not spec.strip():
        raise PluginError(f"plugin {spec!r}: expected a module name or a .py file")
    spec = spec.strip()
    if _is_file(spec):
        path = (Path(base or Path.cwd()) / spec).resolve()
        if not path.is_file():
            raise PluginError(f"plugin {spec}: no such file ({path})")
        return _import_path(spec, path, path.stem)
    if base is not None and spec.isidentifier():  # NAME.py or NAME/ beside the suite (or in the cwd)
        for path in (base / f"{spec}.py", base / spec / "__init__.py"):
            if path.is_file():
                return _import_path(spec, path.resolve(), spec)
    module = spec
    if module in _LOADED:
        return _LOADED[module]
    try:
        with registering(module):
            imported = importlib.import_module(module)
    except Exception as err:
        raise PluginError(f"plugin {module}: {_exception(err)}") from err
    plugin = _module_plugin(module, imported, module)
    _LOADED[plugin.module] = plugin
    return plugin


def _import_path(spec: str, path: Path, module: str) -> Plugin:
    """Import the file ``path`` (a package's ``__init__.py``: the package) as the module ``module``."""
    from ganbench.registry import registering

    package = path.name == "__init__.py"
    where = path.parent if package else path
    if module in _LOADED and _LOADED[module].path == str(where):
        return _LOADED[module]
    if not module.isidentifier():
        raise PluginError(f"plugin {spec}: {module!r} is not a Python module name; rename the file")
    other = sys.modules.get(module)
    if other is not None and getattr(other, "__file__", None) != str(path):
        raise PluginError(f"plugin {spec}: a module named {module!r} is already imported "
                          f"({getattr(other, '__file__', None) or 'built in'}); rename the file")
    if other is None:
        module_spec = importlib.util.spec_from_file_location(
            module, path, submodule_search_locations=[str(where)] if package else None)
        loaded_module = importlib.util.module_from_spec(module_spec)
        sys.modules[module] = loaded_module  # importable by name: pickles refer to it so
        try:
            with registering(module):
                module_spec.loader.exec_module(loaded_module)
        except BaseException as err:
            sys.modules.pop(module, None)
            if not isinstance(err, Exception):
                raise
            raise PluginError(f"plugin {spec}: {_exception(err)}") from err
    plugin = Plugin(module, str(where), _folder_version(where) if package else _file_version(path), str(where))
    _LOADED[module] = plugin
    return plugin


def _exception(err: BaseException) -> str:
    first = (str(err).strip().splitlines() or [""])[0]
    where = ""
    tb = err.__traceback__
    while tb is not None:  # the plugin's own line, when the error is raised in it
        if not tb.tb_frame.f_code.co_filename.startswith("<frozen"):
            where = f" ({Path(tb.tb_frame.f_code.co_filename).name}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(err).__name__}: {first}{where}"


def _module_plugin(name: str, module: Any, source: str) -> Plugin:
    """An imported module's record: an installed distribution's version (not shipped to workers, which have it
    installed), else its source's hash and its file or package folder (shipped)."""
    top = name.split(".")[0]
    dists = metadata.packages_distributions().get(top, [])
    if dists:
        return Plugin(name, source, metadata.version(dists[0]), None)
    file = getattr(module, "__file__", None)
    if file is None:
        return Plugin(name, source, "", None)
    file_path = Path(file).resolve()
    if file_path.name == "__init__.py":  # a package: its folder (and every .py in it)
        folder = file_path.parent
        top_folder = folder.parents[len(name.split(".")) - 2] if "." in name else folder
        return Plugin(name, source, _folder_version(folder), str(top_folder))
    top_path = file_path if "." not in name else file_path.parents[len(name.split(".")) - 2]
    return Plugin(name, source, _file_version(file_path), str(top_path))


def _file_version(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _folder_version(folder: Path) -> str:
    h = hashlib.sha256()
    for file in sorted(folder.rglob("*.py")):
        h.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()[:16]


def load_entry_points() -> None:
    """Import every installed package's plugin (entry-point group ``ganbench.plugins``), once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from ganbench.registry import registering

    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        module = entry.module
        if module in _LOADED:
            continue
        try:
            with registering(module):
                entry.load()
        except Exception as err:
            raise PluginError(f"plugin {module} (entry point {entry.name!r} of group {ENTRY_POINT_GROUP}): "
                              f"{_exception(err)}") from err
        _LOADED[module] = _module_plugin(module, sys.modules[module], f"entry point {entry.name}")


def version(module: str) -> str:
    """The version recorded for the plugin ``module`` (imported here, or imported by Python before)."""
    if module in _LOADED:
        return _LOADED[module].version
    imported = sys.modules.get(module)
    return _module_plugin(module, imported, module).version if imported is not None else ""


def used_by(cfg: Any) -> dict[str, str]:
    """module -> version of each plugin a trial config uses (its model, loss, dataset, variant); {} for built-ins."""
    from ganbench.registry import DATASETS, LOSSES, MODELS, VARIANTS

    used: dict[str, str] = {}
    for registry, name in ((MODELS, cfg.model), (LOSSES, cfg.loss), (DATASETS, cfg.dataset),
                           (VARIANTS, cfg.variant)):
        module = registry.origin(name) if name is not None else None
        if module is not None:
            used[module] = version(module)
    return used


def runtime_env() -> dict[str, Any]:
    """Ray's runtime environment that brings the plugins' files to every worker: ``py_modules`` (a .py file or a
    package folder each); {} when every plugin is an installed package (or none is imported)."""
    paths = list(dict.fromkeys(p.path for p in _LOADED.values() if p.path is not None))
    return {"py_modules": paths} if paths else {}
