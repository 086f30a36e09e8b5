"""Finding, loading and isolating plugins.

Each entry point in the ``genart`` group is imported on its own, and each plugin's hooks are
called on their own: a plugin that fails to import or registers badly is recorded with its error
and skipped, so every unrelated command keeps working (unlike tools where one broken plugin breaks
the whole CLI). Asking for a component the broken plugin might have provided quotes its error.

Built-in plugins (entry points of the ``genart`` distribution) load first, then the others in name
order, and the first plugin to register a name keeps it: a later plugin's registration of a taken
name, an invalid registration, an unknown hook or an unknown name in ``$GENART_LOAD_PLUGINS`` is
refused or reported with a one-line warning naming the plugin, and nothing else is affected.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from ..errors import PluginError
from . import hookspecs
from .api_version import DECLARATION, check_plugin_api
from .registry import DATASET, LOSS, MODEL, POST, Registry, make_spec
from .suggest import did_you_mean

ENTRY_POINT_GROUP = "genart"
#: the distribution whose entry points are the built-in plugins (loaded before any other)
BUILTIN_DISTRIBUTION = "genart"
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
    #: click commands the plugin added through ``register_commands``
    commands: list[str] = field(default_factory=list)
    #: problems found when the plugin was loaded (unknown hooks)
    load_warnings: list[str] = field(default_factory=list)
    #: registrations refused when its components were collected (taken names, invalid registrations)
    registry_warnings: list[str] = field(default_factory=list)
    #: commands refused when it added its commands (names the core or an earlier plugin has)
    command_warnings: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [*self.load_warnings, *self.registry_warnings, *self.command_warnings]


def print_warning(message: str) -> None:
    """The default way an :class:`App` reports a warning: one line on stderr."""
    print(f"genart: warning: {message}", file=sys.stderr)


class App:
    """One plugin manager and its registry; no module globals, so tests get a fresh one each."""

    def __init__(self, warn: Callable[[str], None] = print_warning) -> None:
        self.pm = pluggy.PluginManager("genart")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._registry: Registry | None = None
        self._warn_sink = warn
        self._warned: set[str] = set()

    def warn(self, message: str) -> None:
        """Report a problem once per App (the registry may be collected again after a change)."""
        if message not in self._warned:
            self._warned.add(message)
            self._warn_sink(message)

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
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_load_order):
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
        for name in sorted((allowed or set()) - set(self.records)):
            self.warn(f"{LOAD_ENV} names {name!r}, which is not an installed plugin"
                      f"{did_you_mean(name, self.records)}; installed: {', '.join(self.records) or 'none'}")

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
            verdict = check_plugin_api(getattr(plugin, DECLARATION, None), record.name)
        except PluginError as error:  # written for a plugin API this genart does not provide
            self._fail(record, error)
            self.warn(str(error))
            return
        if verdict.warning:
            record.load_warnings.append(verdict.warning)
            self.warn(verdict.warning)
        try:
            self.pm.register(plugin, name=record.name)
        except Exception as error:  # pluggy validation of hook signatures
            self._fail(record, error)
            return
        record.status = "loaded"
        callers = self.pm.get_hookcallers(plugin) or []
        record.hooks = sorted(hook.name for hook in callers if hook.has_spec())
        specs = [name for name in vars(hookspecs) if name.startswith("register_")]
        for hook in sorted(callers, key=lambda h: h.name):
            if not hook.has_spec():
                message = (f"plugin {record.name!r} implements {hook.name!r}, which is not a genart hook"
                           f"{did_you_mean(hook.name, specs)}; it is never called")
                record.load_warnings.append(message)
                self.warn(message)
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
            record.registry_warnings = []
            try:
                for hook_name, kind in KIND_HOOKS.items():
                    self._call(plugin, hook_name, register=self._registrar(record, kind, registry))
                self._call(plugin, "register_components", register=self._registrar(record, None, registry))
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

    def _registrar(self, record: PluginRecord, kind: str | None, registry: Registry) -> Callable[..., None]:
        """The ``register`` callback one plugin's hook receives.

        A registration the core refuses (taken name, invalid name, params or factory) is skipped with
        a warning, and the plugin's other components stay; an exception the plugin's own hook raises
        fails the whole plugin (see :meth:`_collect`).
        """
        def register(*args: Any, **kwargs: Any) -> None:
            try:
                if kind is None:
                    spec = make_spec(*args, plugin=record.name, **kwargs)
                else:
                    spec = make_spec(kind, *args, plugin=record.name, **kwargs)
                registry.add(spec)
            except PluginError as error:
                record.registry_warnings.append(str(error))
                self.warn(str(error))

        return register

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add click commands; a failing plugin is recorded, not fatal.

        A command name that is taken (by the core or an earlier plugin) is refused with a warning and
        the earlier command kept, as for components; each record lists the commands its plugin added.
        """
        owners = {name: "genart" for name in cli.commands}
        for record in list(self.records.values()):
            if record.status != "loaded":
                continue
            before = dict(cli.commands)
            try:
                self._call(self.pm.get_plugin(record.name), "register_commands", cli=cli)
            except Exception as error:
                cli.commands.clear()
                cli.commands.update(before)
                self._fail(record, error)
                continue
            record.commands, record.command_warnings = [], []
            for name, command in list(cli.commands.items()):
                if name not in before:
                    record.commands.append(name)
                    owners[name] = record.name
                elif command is not before[name]:
                    cli.commands[name] = before[name]
                    owner = "the core" if owners[name] == "genart" else f"plugin {owners[name]!r}"
                    message = (f"plugin {record.name!r} adds command {name!r}, which {owner} already has; "
                               "keeping the earlier one")
                    record.command_warnings.append(message)
                    self.warn(message)
            record.commands.sort()


def _load_order(entry_point: metadata.EntryPoint) -> tuple[bool, str]:
    """Built-in plugins first, then the others by name: a third party cannot take a built-in's names."""
    dist = entry_point.dist
    builtin = dist is not None and dist.metadata["Name"] == BUILTIN_DISTRIBUTION
    return (not builtin, entry_point.name)
