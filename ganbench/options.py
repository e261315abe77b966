"""A component's own options: a plugin loss or model declares them as a pydantic model.

A loss class sets ``Options = MyOptions`` (``GANLoss.from_config`` passes them to ``__init__``); a model
factory sets ``factory.Options = MyOptions`` (``make_models`` passes them as keyword arguments). A dataset
takes none: its identity (``data_hash``, the feature cache) is by name, so a dataset of other settings is
registered under its own name (ring8, ring16). A suite sets them under
the component's name, in ``params`` or ``grid`` as a mapping or by dotted keys, and searches them by
their dotted names:

    params: {my_loss: {margin: 0.5}}          # or: params: {my_loss.margin: 0.5}
    grid: {my_loss.margin: [0.1, 0.5]}
    search: {space: {my_loss.margin: {low: 0.0, high: 1.0}}}

A trial holds them in ``TrialConfig.options`` ({component: {option: value}}, only the options given,
validated by the component's model); unknown components or options are refused with a did-you-mean,
and the trial id hashes them (a trial without options keeps its id). ``options_for`` gives a
component's options with their defaults, as its factory or ``from_config`` takes them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ganbench.registry import LOSSES, MODELS, Registry, suggest

if TYPE_CHECKING:
    from ganbench.config import TrialConfig

#: the fields of a trial naming its components, and the registry of each
COMPONENTS: dict[str, Registry] = {"model": MODELS, "loss": LOSSES}


def declared(registry: Registry, name: str) -> type[BaseModel] | None:
    """The options model that the registered component ``name`` declares (None: it takes none)."""
    if name not in registry or registry.origin(name) is None:
        return None  # ganbench's own components take their options as TrialConfig fields
    model = getattr(registry.get(name), "Options", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def component_options(name: str) -> type[BaseModel] | None:
    """The options model of the registered model, loss or dataset called ``name``, in any family."""
    for registry in COMPONENTS.values():
        model = declared(registry, name)
        if model is not None:
            return model
    return None


def is_option_key(key: str) -> bool:
    """``key`` names a component's option by its dotted name (``my_loss.margin``)."""
    component, dot, option = key.partition(".")
    model = component_options(component) if dot else None
    return model is not None and option in model.model_fields


def option_keys() -> list[str]:
    """Every dotted option key of every registered component that declares options."""
    keys = []
    for registry in COMPONENTS.values():
        for name in registry.names():
            model = declared(registry, name)
            keys += [f"{name}.{option}" for option in (model.model_fields if model else ())]
    return sorted(keys)


def fold(data: dict[str, Any]) -> dict[str, Any]:
    """A trial's keys with dotted option keys, and mappings under a component's name, moved into ``options``.

    An option of a plugin component that this trial does not use is left out, as a suite-wide ``clip`` is
    unused by a loss other than WGAN's: ``params: {smooth_ns.real_target: 0.8}`` sets it where smooth_ns runs."""
    if not isinstance(data, dict):
        return data
    names = {data.get(field) for field in COMPONENTS if isinstance(data.get(field), str)}
    named = {key: key.partition(".")[0] for key in data if isinstance(key, str) and (
        "." in key or isinstance(data[key], dict))}
    moved = {key for key, head in named.items() if head in names}
    unused = {key for key, head in named.items() if head not in names and component_options(head) is not None}
    if not moved and not unused:
        return data
    folded = {key: value for key, value in data.items() if key not in moved | unused}
    given = folded.get("options") or {}
    if not isinstance(given, dict) or not all(isinstance(o, dict) for o in given.values()):
        return data  # a malformed options value is the field's own validator's to report
    options = {component: dict(values) for component, values in given.items()}
    for key in sorted(moved):
        component, _, option = key.partition(".")
        if option:
            options.setdefault(component, {})[option] = data[key]
        else:
            options.setdefault(component, {}).update(data[key])
    folded["options"] = options
    return folded


def validate(options: dict[str, Any], cfg_fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``options`` checked against the components of the trial (``cfg_fields``: its model and loss):
    only the options given, as each component's model coerces them. ValueError naming what is wrong."""
    components = {cfg_fields[field]: registry for field, registry in COMPONENTS.items() if field in cfg_fields}
    checked: dict[str, dict[str, Any]] = {}
    for component, given in options.items():
        if component not in components:
            raise ValueError(f"options for {component!r}: not the model or loss of this trial "
                             f"({', '.join(map(repr, components))}){suggest(component, components)}")
        model = declared(components[component], component)
        if model is None:
            raise ValueError(f"options for {component!r}: it declares no options (a component declares them "
                             "with an Options pydantic model)")
        if not isinstance(given, dict):
            raise ValueError(f"options for {component!r}: expected a mapping of option: value, got {given!r}")
        unknown = [key for key in given if key not in model.model_fields]
        if unknown:
            raise ValueError(f"{component}.{unknown[0]}: unknown option of {component!r}"
                             f"{suggest(unknown[0], model.model_fields)}; its options: "
                             f"{', '.join(model.model_fields)}")
        try:
            parsed = model(**given)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{component}.{where}: {first['msg']}") from None
        # only values other than the defaults: the same trial always has the same id, however it was written
        values = parsed.model_dump(mode="json", exclude_defaults=True)
        if values:
            checked[component] = values
    return checked


def options_for(cfg: "TrialConfig", component: str) -> dict[str, Any]:
    """The options of ``component`` in trial ``cfg``, defaults filled in ({} when it declares none)."""
    model = component_options(component)
    if model is None:
        return {}
    return model(**cfg.options.get(component, {})).model_dump()
