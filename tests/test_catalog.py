"""The catalog (ganbench's own entries by name, lazy) says what the modules' decorators register, no more, no less."""
from __future__ import annotations

import importlib
import pkgutil

import ganbench
from ganbench.catalog import ENTRIES
from ganbench.registry import REGISTRIES, load_all


def test_every_catalog_entry_is_the_object_its_module_registers_under_that_name():
    load_all()
    for kind, entries in ENTRIES.items():
        registry = REGISTRIES[kind]
        for name, target in entries.items():
            module, attr = target.split(":")
            obj = registry.get(name)
            assert obj is getattr(importlib.import_module(module), attr), (kind, name)
            assert registry.origin(name) is None and registry.describe(name), (kind, name)


def test_every_decorator_in_ganbench_has_its_catalog_entry():
    load_all()
    for info in pkgutil.walk_packages(ganbench.__path__, "ganbench."):  # every module imported: all decorators ran
        if not info.name.startswith(("ganbench.sweep", "ganbench.search")):  # Ray, Optuna: nothing registered there
            importlib.import_module(info.name)
    for kind, entries in ENTRIES.items():
        own = {n for n in REGISTRIES[kind].names() if REGISTRIES[kind].origin(n) is None}
        assert own == set(entries), kind  # (the order is the catalog's, or the imports' where they came first)


def test_a_name_is_checked_without_importing_its_module():
    load_all()
    loss = REGISTRIES["losses"]
    assert loss.check("hinge") == "hinge"
    try:
        loss.check("hinje")
    except ValueError as err:
        assert "did you mean 'hinge'" in str(err)
    else:
        raise AssertionError("an unknown name passed")
