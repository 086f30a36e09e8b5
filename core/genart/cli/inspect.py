"""Commands that describe the installation: plugins, describe, info."""

from __future__ import annotations

import json
import platform
from typing import Any

import click

from ..contract.params import describe_params
from ..contract.registry import KIND_LABELS
from ..contract.suggest import did_you_mean
from ..errors import UsageError


def _plugin_rows(app: Any, include_disabled: bool) -> list[dict[str, Any]]:
    registry = app.registry
    rows = []
    for record in app.records.values():
        if record.status == "disabled" and not include_disabled:
            continue
        rows.append({
            "name": record.name, "version": record.version, "status": record.status,
            "distribution": record.distribution, "module": record.module, "hooks": record.hooks,
            "commands": record.commands, "error": record.error or None, "warnings": record.warnings,
            "components": [{"kind": s.kind, "name": s.name, "description": s.description, "tags": sorted(s.tags)}
                           for s in registry.by_plugin(record.name)],
        })
    return rows


@click.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="include plugins disabled by GENART_LOAD_PLUGINS")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_obj
def plugins_command(app: Any, show_all: bool, as_json: bool) -> None:
    """List plugins: version, status, hooks and the components each registered."""
    rows = _plugin_rows(app, show_all)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins loaded")
    for row in rows:
        click.echo(f"{row['name']} {row['version']}  [{row['status']}]  {row['module']}")
        if row["error"]:
            click.echo(f"    error: {row['error']}")
        for warning in row["warnings"]:
            click.echo(f"    warning: {warning}")
        if row["hooks"]:
            click.echo(f"    hooks: {', '.join(row['hooks'])}")
        if row["commands"]:
            click.echo(f"    commands: {', '.join(row['commands'])}")
        for comp in row["components"]:
            label = KIND_LABELS.get(comp["kind"], comp["kind"])
            tags = f"  [tags: {', '.join(comp['tags'])}]" if comp["tags"] else ""
            click.echo(f"    {label:<15} {comp['name']:<14} {comp['description']}{tags}")


@click.command("describe")
@click.argument("name")
@click.option("--kind", help="model, loss, dataset, post (or post-processor) or another registered kind, "
                             "when a name is ambiguous")
@click.pass_obj
def describe_command(app: Any, name: str, kind: str | None) -> None:
    """Show a component's parameters, defaults and help."""
    registry = app.registry
    kind = registry.normalize_kind(kind) if kind is not None else None
    matches = [s for s in registry if s.name == name and (kind is None or s.kind == kind)]
    if not matches:
        if registry.failed_plugins:
            click.echo("; ".join(f"note: plugin {p!r} failed: {e}" for p, e in registry.failed_plugins.items()),
                       err=True)
        other_kinds = [KIND_LABELS.get(s.kind, s.kind) for s in registry if s.name == name]
        if kind is not None and other_kinds:
            raise UsageError(f"no {KIND_LABELS.get(kind, kind)} named {name!r}; {name!r} is a "
                             f"{' and a '.join(other_kinds)} (drop --kind or change it)")
        every = sorted({s.name for s in registry if kind is None or s.kind == kind})
        label = KIND_LABELS.get(kind, kind) if kind is not None else "component"
        raise UsageError(f"no {label} named {name!r}{did_you_mean(name, every)}")
    if len(matches) > 1:
        kinds = ", ".join(s.kind for s in matches)
        raise UsageError(f"{name!r} names several components ({kinds}); add --kind")
    spec = matches[0]
    click.echo(f"{spec.name} ({KIND_LABELS.get(spec.kind, spec.kind)}, from plugin {spec.plugin})")
    click.echo(f"  {spec.description}")
    if spec.tags:
        click.echo(f"  tags: {', '.join(sorted(spec.tags))} (the model family that uses it)")
    doc = (spec.params.__doc__ or "").strip() if spec.params else ""
    if doc and not doc.startswith(spec.params.__name__ + "("):
        click.echo("")
        for line in doc.splitlines():
            click.echo(f"  {line.strip()}")
    rows = describe_params(spec.params)
    if not rows:
        click.echo("  no parameters")
        return
    click.echo("")
    click.echo("parameters (name=value, comma separated):")
    for row in rows:
        click.echo(f"  {row['name']:<18} {row['type']:<22} default {row['default']!r:<12} {row['help']}")


@click.command("info")
@click.pass_obj
def info_command(app: Any) -> None:
    """Versions, the device auto would pick, and plugin status."""
    import torch

    from ..loop.device import describe_device, resolve_device
    from ..version import __version__

    click.echo(f"genart {__version__}, python {platform.python_version()}, torch {torch.__version__}")
    click.echo(f"device (auto): {describe_device(resolve_device('auto'))}")
    click.echo(f"cuda available: {torch.cuda.is_available()} ({torch.cuda.device_count()} device(s))")
    cpu_caps = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
    click.echo(f"cpu capability: {cpu_caps}, threads: {torch.get_num_threads()}")
    for record in app.records.values():
        extra = f": {record.error}" if record.error else ""
        click.echo(f"plugin {record.name} {record.version} [{record.status}]{extra}")


COMMANDS = [plugins_command, describe_command, info_command]
