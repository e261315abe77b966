"""One generic registry: a decorator registers under a name, lookups suggest close names.

An entry may be lazy: ``LOSSES.register("mine", target="my_pkg.losses:Mine")`` imports ``my_pkg.losses`` only when
"mine" is first looked up. An entry registered while a plugin module is imported (``ganbench.plugins``) records
that module as its origin (``Registry.origin``): ``bench.py list`` marks it, and trial ids that use it hash the
plugin's version (``plugins.used_by``).

ganbench's own models, losses and datasets are lazy entries too (``catalog``), fulfilled by their modules'
decorators when those are imported: filling the registries imports no torch, so a report needs none.
"""
from __future__ import annotations

import contextlib
import difflib
import importlib
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from ganbench.errors import UserError

T = TypeVar("T")


def suggest(name: Any, valid: Iterable[str], n: int = 1) -> str:
    """The did-you-mean hint for ``name`` among ``valid``: `` (did you mean 'x'?)``, or "" when nothing is close.
    Every did-you-mean of ganbench (registered names, suite keys) is this one."""
    close = difflib.get_close_matches(str(name), list(valid), n=n)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


class UnknownNameError(ValueError):
    """A name that is not registered; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}{suggest(name, valid, n=3)}; valid: {', '.join(valid)}")


#: the plugin module being imported (``registering``): entries added meanwhile are that module's
_plugin: str | None = None


@contextlib.contextmanager
def registering(module: str) -> Iterator[None]:
    """Entries added inside the block come from the plugin ``module`` (``Registry.origin``)."""
    global _plugin
    before, _plugin = _plugin, module
    try:
        yield
    finally:
        _plugin = before


class _Lazy:
    """A ``"module:object"`` entry, imported at its first lookup."""

    def __init__(self, target: str):
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"lazy target {target!r}: expected 'module:object', e.g. 'my_pkg.losses:MyLoss'")
        self.target, self.module, self.attr = target, module, attr

    def names(self, obj: Any) -> bool:
        """Is ``obj`` the object this entry points at? (Its module and qualified name: the decorator of a lazy
        entry's own module registers it before the module's namespace holds it.)"""
        return (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)) == (self.module, self.attr)

    def resolve(self) -> Any:
        obj: Any = importlib.import_module(self.module)
        for part in self.attr.split("."):
            obj = getattr(obj, part)
        return obj


class Registry(Generic[T]):
    """Maps names to objects of one family (models, losses, datasets, metrics)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}
        self._origins: dict[str, str] = {}  # name -> the plugin module that registered it

    def register(self, name: str, description: str | None = None, *,
                 target: str | None = None) -> Callable[[T], T]:
        """A decorator that registers its object under ``name``; with ``target="module:object"``, a lazy entry
        registered at once (``LOSSES.register("mine", target="my_pkg.losses:Mine")``, no decorator)."""
        if target is not None:
            self.add(name, _Lazy(target), description)  # type: ignore[arg-type]
            return lambda obj: obj

        def decorator(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return decorator

    def add(self, name: str, obj: T, description: str | None = None) -> None:
        if name in self._items:
            lazy = self._items[name]
            if isinstance(obj, _Lazy) and obj.names(lazy):  # its module imported before the lazy entry came
                return
            if isinstance(lazy, _Lazy) and lazy.names(obj):  # the module a lazy entry points at, imported
                self._items[name] = obj
                doc = description or (getattr(obj, "__doc__", None) or "").strip()
                if not self._descriptions[name] and doc:
                    self._descriptions[name] = doc.splitlines()[0]
                return
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        doc = description or ("" if isinstance(obj, _Lazy) else (getattr(obj, "__doc__", None) or "").strip())
        self._items[name] = obj
        self._descriptions[name] = doc.splitlines()[0] if doc else ""
        module = _plugin or (obj.module if isinstance(obj, _Lazy) and not obj.module.startswith("ganbench") else None)
        if module:
            self._origins[name] = module

    def get(self, name: str) -> T:
        load_all()
        try:
            obj = self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None
        if isinstance(obj, _Lazy):
            try:
                obj = obj.resolve()
            except (ImportError, AttributeError) as err:
                raise UserError(f"{self.kind} {name!r}: cannot import {obj.target} "
                                f"({type(err).__name__}: {err})") from None
            self._items[name] = obj
            if not self._descriptions[name]:
                doc = (getattr(obj, "__doc__", None) or "").strip()
                self._descriptions[name] = doc.splitlines()[0] if doc else ""
        return obj

    def check(self, name: str) -> str:
        """``name`` if it is registered, else UnknownNameError (with the did-you-mean), importing nothing of
        ganbench's own (``catalog``): validating a suite, or reporting a results folder, needs no torch. A plugin's
        lazy entry is imported, as by ``get``, so a target that cannot be imported is reported where it is named."""
        load_all()
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self.names())
        obj = self._items[name]
        if isinstance(obj, _Lazy) and not obj.module.startswith("ganbench."):
            self.get(name)
        return name

    def describe(self, name: str) -> str:
        self.get(name)
        return self._descriptions[name]

    def origin(self, name: str) -> str | None:
        """The plugin module that registered ``name``; None for ganbench's own entries."""
        return self._origins.get(name)

    def names(self) -> list[str]:
        load_all()
        return sorted(self._items)

    def in_order(self) -> list[str]:
        """Names in registration order (e.g. metrics grouped as they are defined)."""
        load_all()
        return list(self._items)

    def __contains__(self, name: Any) -> bool:
        load_all()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        load_all()
        return len(self._items)


MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("loss")
DATASETS: Registry = Registry("dataset")
METRICS: Registry = Registry("metric")
#: presets of TrialConfig parameters (``variants.Variant``), named by the ``variant`` key
VARIANTS: Registry = Registry("variant")

REGISTRIES = {"models": MODELS, "losses": LOSSES, "datasets": DATASETS, "metrics": METRICS, "variants": VARIANTS}


def register_variant(preset: Any) -> Any:
    """Register a preset (``variants.Variant``) under its name, described by its summary: a plugin's own variant
    is ``register_variant(Variant("mine", {"pac": 2}, "its paper", "what it does"))``."""
    VARIANTS.add(preset.name, preset, preset.summary())
    return preset


_loading = False


def load_all() -> None:
    """Import the modules that fill the registries (idempotent; lookups call it first)."""
    global _loading
    if _loading:
        return
    _loading = True
    from ganbench import catalog, metrics, variants  # noqa: F401  (metrics: their definitions, plain data)

    for kind, entries in catalog.ENTRIES.items():  # lazy: plain data, so no cycle and no torch until looked up
        for name, target in entries.items():
            REGISTRIES[kind].register(name, target=target)
    for preset in variants.PRESETS:  # plain data: variants.py imports nothing of ganbench, so no cycle
        register_variant(preset)
    from ganbench.plugins import load_entry_points

    load_entry_points()  # installed packages' plugins (entry-point group ganbench.plugins), after ganbench's own
