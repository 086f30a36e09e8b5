"""Finding, loading and isolating plugins.

Each entry point in the ``genart`` group is imported on its own, and each plugin's hooks are
called on their own: a plugin that fails to import or registers badly is recorded with its error
and skipped, so every unrelated command keeps working (unlike tools where one broken plugin breaks
the whole CLI). Asking for a component the broken plugin might have provided quotes its error.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import DATASET, LOSS, MODEL, POST, ComponentSpec, Registry, make_spec

ENTRY_POINT_GROUP = "genart"
LOAD_ENV = "GENART_LOAD_PLUGINS"
TRACE_ENV = "GENART_TRACE_PLUGINS"

#: hook name -> the component kind its ``register`` callback registers.
KIND_HOOKS = {
    "register_models": MODEL,
    "register_losses": LOSS,
    "register_datasets": DATASET,
    "register_post_processors": POST,
}


@dataclass
class PluginRecord:
    """What ``genart plugins`` shows for one plugin."""

    name: str
    status: str  # "loaded", "failed" or "disabled"
    version: str = ""
    distribution: str = ""
    module: str = ""
    error: str = ""
    hooks: list[str] = field(default_factory=list)


class App:
    """One plugin manager and its registry; no module globals, so tests get a fresh one each."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("genart")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._registry: Registry | None = None

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def from_entry_points(cls, only: Iterable[str] | None = None) -> App:
        """Load installed plugins; ``only`` (or ``$GENART_LOAD_PLUGINS``) limits which."""
        app = cls()
        if only is None:
            env = os.environ.get(LOAD_ENV)
            if env is not None:
                only = [n.strip() for n in env.split(",") if n.strip()]
        app.load_entry_points(only)
        return app

    def load_entry_points(self, only: Iterable[str] | None = None) -> None:
        allowed = set(only) if only is not None else None
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if entry_point.name in self.records:
                continue
            dist = entry_point.dist
            record = PluginRecord(
                name=entry_point.name,
                status="disabled",
                version=dist.version if dist else "",
                distribution=dist.metadata["Name"] if dist else "",
                module=entry_point.value,
            )
            self.records[record.name] = record
            if allowed is not None and record.name not in allowed:
                continue
            try:
                module = entry_point.load()
            except Exception as error:  # a plugin's import error must not break genart
                self._fail(record, error)
                continue
            self._add(record, module)

    def register(self, plugin: Any, name: str, version: str = "") -> PluginRecord:
        """Register a plugin object (module or instance) directly; tests and embedders use this."""
        if name in self.records and self.records[name].status != "disabled":
            raise PluginError(f"a plugin named {name!r} is already registered")
        record = PluginRecord(name=name, status="disabled", version=version,
                              module=getattr(plugin, "__name__", type(plugin).__name__))
        self.records[name] = record
        self._add(record, plugin)
        return record

    def unregister(self, name: str) -> None:
        record = self.records.pop(name, None)
        if record is not None and self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        self._registry = None

    def _add(self, record: PluginRecord, plugin: Any) -> None:
        try:
            self.pm.register(plugin, name=record.name)
        except Exception as error:  # pluggy validation of hook signatures
            self._fail(record, error)
            return
        record.status = "loaded"
        record.hooks = sorted(
            hook.name for hook in self.pm.get_hookcallers(plugin) or [] if hook.name.startswith("register_")
        )
        if not record.version:
            record.version = str(getattr(plugin, "__version__", ""))
        self._registry = None

    def _fail(self, record: PluginRecord, error: BaseException) -> None:
        record.status = "failed"
        record.error = f"{type(error).__name__}: {error}"
        if os.environ.get(TRACE_ENV):
            traceback.print_exception(error)
        if self.pm.has_plugin(record.name):
            self.pm.unregister(name=record.name)
        self._registry = None

    # -- the registry --------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """All components, collected plugin by plugin on first use."""
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def _collect(self) -> Registry:
        registry = Registry()
        for record in list(self.records.values()):
            if record.status != "loaded":
                continue
            plugin = self.pm.get_plugin(record.name)
            added: list[ComponentSpec] = []
            try:
                for hook_name, kind in KIND_HOOKS.items():
                    self._call(plugin, hook_name, register=self._registrar(record.name, kind, added, registry))
                self._call(plugin, "register_components",
                           register=self._registrar(record.name, None, added, registry))
            except Exception as error:  # roll back this plugin's partial registrations
                registry.remove_plugin(record.name)
                self._fail(record, error)
        for record in self.records.values():
            if record.status == "failed":
                registry.failed_plugins[record.name] = record.error
        return registry

    def _call(self, plugin: Any, hook_name: str, **kwargs: Any) -> None:
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})

    @staticmethod
    def _registrar(plugin: str, kind: str | None, added: list[ComponentSpec],
                   registry: Registry) -> Callable[..., None]:
        def register(*args: Any, **kwargs: Any) -> None:
            if kind is None:
                spec = make_spec(*args, plugin=plugin, **kwargs)
            else:
                spec = make_spec(kind, *args, plugin=plugin, **kwargs)
            registry.add(spec)
            added.append(spec)

        return register

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add click commands; a failing plugin is recorded, not fatal."""
        for record in list(self.records.values()):
            if record.status != "loaded":
                continue
            try:
                self._call(self.pm.get_plugin(record.name), "register_commands", cli=cli)
            except Exception as error:
                self._fail(record, error)
