"""A typed registry of components: kind + name -> spec (factory, params, description, provenance).

Names are unique per kind across all plugins. The first registration of a name keeps it: a later one
is refused (:class:`NameTaken`, naming both plugins) and the first keeps working, so a plugin cannot
shadow or knock out a built-in (built-ins load first, see ``plugins.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import PluginError, UsageError
from .params import params_problems
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


class NameTaken(PluginError):
    """A registration of a name its kind already has; the earlier registration is kept."""


class Registry:
    """All registered components, plus the plugins that failed (to explain missing names)."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], ComponentSpec] = {}
        self.failed_plugins: dict[str, str] = {}

    def add(self, spec: ComponentSpec) -> None:
        """Add ``spec``; a taken name raises :class:`NameTaken` and leaves the first owner in place."""
        key = (spec.kind, spec.name)
        if key in self._specs:
            first = self._specs[key].plugin
            label = KIND_LABELS.get(spec.kind, spec.kind)
            if first == spec.plugin:
                raise NameTaken(f"plugin {first!r} registers {label} {spec.name!r} twice; the first is kept")
            raise NameTaken(f"{label} {spec.name!r} from plugin {spec.plugin!r} ignored: plugin {first!r} "
                            "already registered that name")
        self._specs[key] = spec

    def remove_plugin(self, plugin: str) -> None:
        for key in [k for k, s in self._specs.items() if s.plugin == plugin]:
            del self._specs[key]

    def get(self, kind: str, name: str) -> ComponentSpec:
        key = (kind, name)
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

    def normalize_kind(self, kind: str) -> str:
        """A kind as users type it: the key (``post``) or the label the CLI prints (``post-processor``)."""
        labels = {label: key for key, label in KIND_LABELS.items()}
        if kind in KIND_LABELS or kind in self.kinds():
            return kind
        if kind in labels:
            return labels[kind]
        known = sorted({*KIND_LABELS, *labels, *self.kinds()})
        raise UsageError(f"unknown kind {kind!r}{did_you_mean(kind, known)} (kinds: {', '.join(known)})")


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
    """Validate one registration; a bad one is the plugin author's bug, reported clearly at load.

    The description defaults to the factory's docstring, then the params dataclass's, then a plain
    "<kind> from plugin <name>" (a lambda factory has neither and still registers). Parameters are
    checked here, not when a user first sets one: each needs a default and a type the CLI can parse.
    """
    label = KIND_LABELS.get(kind, kind)
    if not isinstance(name, str) or not name or any(c in name for c in ":,= "):
        raise PluginError(f"plugin {plugin!r} registered an invalid {kind} name {name!r}")
    if not callable(factory):
        raise PluginError(f"plugin {plugin!r}: factory for {kind} {name!r} is not callable")
    if params is not None and not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        raise PluginError(f"plugin {plugin!r}: params for {kind} {name!r} must be a dataclass type")
    if params is not None:
        problems = params_problems(params)
        if problems:
            raise PluginError(f"plugin {plugin!r}: {label} {name!r}: {'; '.join(problems)}")
    description = (description or _first_doc_line(factory) or _first_doc_line(params, generated=True)
                   or f"{label} from plugin {plugin!r}")
    return ComponentSpec(kind, name, factory, params, description.strip().splitlines()[0], plugin,
                         frozenset(tags))


def _first_doc_line(obj: object, generated: bool = False) -> str:
    """The first docstring line of ``obj``; skips the ``Name(field: type = ...)`` text dataclasses generate."""
    doc = (getattr(obj, "__doc__", None) or "").strip() if obj is not None else ""
    if generated and isinstance(obj, type) and doc.startswith(obj.__name__ + "("):
        return ""
    return doc.splitlines()[0] if doc else ""
