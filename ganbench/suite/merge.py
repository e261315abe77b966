"""A cell's trial keys, layer on layer (params < variant preset < grid < search), and what disagrees with the preset.

``merge_cell`` is the one merge: ``Suite.config`` builds its trial from it, validation reports its
``Disagreement``\\ s at the suite keys they came from. Values are compared as TrialConfig holds them
(``_as_field``), so 0.001 and "1e-3" agree.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from ganbench.config import TrialConfig
from ganbench.options import component_options
from ganbench.registry import VARIANTS
from ganbench.search.schema import to_trial_params
from ganbench.values import brief, same_value


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
    """A cell's trial keys (``merge_cell``): values, the layer each came from (params, preset, grid, search)."""

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


def merge_cell(params: dict[str, Any], cell: dict[str, Any], sampled: dict[str, Any] | None = None) -> Merged:
    """The trial keys of ``cell`` (with ``sampled``), where each comes from, and what disagrees with its preset.

    Layers, lowest first: ``params`` (suite-wide defaults), the preset named by ``variant`` (whichever layer
    sets it), the cell's grid values, the searched values. A preset overrides ``params``, except when
    ``variant`` itself is in ``params``: then ``params`` states the preset's values as explicitly as a cell
    does. An explicit value that differs from the preset is a ``Disagreement``; in ``values`` the explicit
    value stands (TrialConfig refuses it), and ``agreed()`` puts the preset's back (to check the rest).
    A preset's tied keys (r3gan's r1 = r2 = gamma) take the one explicit value of the group, if any.
    """
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
    # the preset under the explicit values, as TrialConfig fills a trial (Variant.fill): a tied group follows
    # the explicit value of highest precedence
    following = preset.fill({key: value for _, layer in explicit for key, value in layer.items()})
    for group in preset.tied:
        given = [(name, key, layer[key]) for name, layer in explicit for key in group if key in layer]
        if not given:
            continue
        for key in group:
            if not any(key == k for _, k, _ in given):
                values[key] = following[key]
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


@functools.lru_cache(maxsize=None)
def _field_adapter(key: str) -> TypeAdapter | None:
    info = TrialConfig.model_fields.get(key)
    if info is None:
        return None
    return TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)


def _default(key: str) -> Any:
    """TrialConfig's default of ``key`` (a plugin component's option by its dotted name: the option's default);
    None for a required key or one it does not know."""
    options = component_options(key.partition(".")[0]) if "." in key else None
    if options is not None and key.partition(".")[2] in options.model_fields:
        return options.model_fields[key.partition(".")[2]].get_default(call_default_factory=True)
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
