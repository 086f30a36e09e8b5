"""A typed registry of components: kind + name -> spec (factory, params, description, provenance).

Names are unique per kind across all plugins: a second plugin registering a taken name is an error
that names both, so nobody shadows a built-in by accident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import PluginError, UsageError
from .suggest import did_you_mean

#: The built-in kinds; plugins may register further kinds through ``register_components``.
MODEL, LOSS, DATASET, POST = "model", "loss", "dataset", "post"
KIND_LABELS = {MODEL: "model", LOSS: "loss", DATASET: "dataset", POST: "post-processor"}


@dataclass(frozen=True)
class ComponentSpec:
    """What a plugin registered: enough to describe the component and to build it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    params: type | None
    description: str
    plugin: str
    tags: frozenset[str] = field(default_factory=frozenset)

    def default_params(self) -> Any:
        return self.params() if self.params is not None else None


class Registry:
    """All registered components, plus the plugins that failed (to explain missing names)."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], ComponentSpec] = {}
        self._conflicts: dict[tuple[str, str], list[str]] = {}
        self.failed_plugins: dict[str, str] = {}

    def add(self, spec: ComponentSpec) -> None:
        key = (spec.kind, spec.name)
        if key in self._specs:
            first = self._specs[key].plugin
            self._conflicts.setdefault(key, [first]).append(spec.plugin)
            raise PluginError(
                f"{KIND_LABELS.get(spec.kind, spec.kind)} {spec.name!r} is registered by both "
                f"plugin {first!r} and plugin {spec.plugin!r}"
            )
        self._specs[key] = spec

    def remove_plugin(self, plugin: str) -> None:
        for key in [k for k, s in self._specs.items() if s.plugin == plugin]:
            del self._specs[key]

    def get(self, kind: str, name: str) -> ComponentSpec:
        key = (kind, name)
        if key in self._conflicts:
            owners = " and ".join(repr(p) for p in self._conflicts[key])
            raise UsageError(f"{KIND_LABELS.get(kind, kind)} {name!r} is registered by plugins {owners}; "
                             "uninstall one or limit plugins with GENART_LOAD_PLUGINS")
        try:
            return self._specs[key]
        except KeyError:
            pass
        label = KIND_LABELS.get(kind, kind)
        message = f"unknown {label} {name!r}" + did_you_mean(name, self.names(kind))
        if self.failed_plugins:
            failures = "; ".join(f"plugin {p!r} failed to load: {e}" for p, e in self.failed_plugins.items())
            message += f" ({failures})"
        else:
            message += f"; available: {', '.join(self.names(kind)) or 'none'}"
        raise UsageError(message)

    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, name) in self._specs if k == kind)

    def kinds(self) -> list[str]:
        return sorted({k for (k, _) in self._specs})

    def __iter__(self) -> Iterator[ComponentSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: (s.kind, s.name)))

    def by_plugin(self, plugin: str) -> list[ComponentSpec]:
        return [s for s in self if s.plugin == plugin]


def make_spec(
    kind: str,
    name: str,
    factory: Callable[..., Any],
    *,
    plugin: str,
    params: type | None = None,
    description: str = "",
    tags: tuple[str, ...] | frozenset[str] = (),
) -> ComponentSpec:
    """Validate one registration; a bad one is the plugin author's bug, reported clearly."""
    if not isinstance(name, str) or not name or any(c in name for c in ":,= "):
        raise PluginError(f"plugin {plugin!r} registered an invalid {kind} name {name!r}")
    if not callable(factory):
        raise PluginError(f"plugin {plugin!r}: factory for {kind} {name!r} is not callable")
    if params is not None and not dataclasses.is_dataclass(params):
        raise PluginError(f"plugin {plugin!r}: params for {kind} {name!r} must be a dataclass type")
    if not description:
        doc = (getattr(factory, "__doc__", None) or "").strip()
        description = doc.splitlines()[0] if doc else ""
    if not description:
        raise PluginError(f"plugin {plugin!r}: {kind} {name!r} needs a one-line description")
    return ComponentSpec(kind, name, factory, params, description.strip().splitlines()[0], plugin,
                         frozenset(tags))
