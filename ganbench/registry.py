"""One generic registry: a decorator registers under a name, lookups suggest close names."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(ValueError):
    """A name that is not registered; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        close = difflib.get_close_matches(str(name), valid, n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}")


class Registry(Generic[T]):
    """Maps names to objects of one family (models, losses, datasets, metrics)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._descriptions: dict[str, str] = {}

    def register(self, name: str, description: str | None = None) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return decorator

    def add(self, name: str, obj: T, description: str | None = None) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        doc = description or (getattr(obj, "__doc__", None) or "").strip()
        self._items[name] = obj
        self._descriptions[name] = doc.splitlines()[0] if doc else ""

    def get(self, name: str) -> T:
        load_all()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None

    def describe(self, name: str) -> str:
        self.get(name)
        return self._descriptions[name]

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


_loading = False


def load_all() -> None:
    """Import the modules that fill the registries (idempotent; lookups call it first)."""
    global _loading
    if _loading:
        return
    _loading = True
    from ganbench import datasets, losses, metrics, models, variants  # noqa: F401

    for preset in variants.PRESETS:  # plain data: variants.py imports nothing of ganbench, so no cycle
        VARIANTS.add(preset.name, preset, preset.summary())
