"""Form fields generated from the registry: one select per component slot, one typed field per parameter.

A component's parameter dataclass (the one ``genart describe`` prints) is all the studio needs, so a
third-party plugin's models, datasets and post-processors get a form with no studio code. A submitted
form becomes the same ``name:key=value`` spec the command line takes, checked by genart's own parser
(``genart.api.resolve_params``), so the page shows the message the CLI would print.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from genart.api import LIST_SEPARATOR, Registry, describe_params, resolve_params


@dataclass
class Field:
    """One parameter as the page shows it."""

    name: str
    input: str  # "select", "number", "text"
    label: str  # the type, as genart describe words it
    default: str
    help: str
    choices: list[str]
    step: str = "any"


@dataclass
class Component:
    kind: str
    name: str
    description: str
    plugin: str
    fields: list[Field]


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(_text(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def field_for(row: dict[str, Any], hint: Any, default: Any) -> Field:
    """The input that fits a parameter's type: choices become a select, numbers a number field.

    ``row`` is the parameter as ``genart describe`` shows it (genart.api.describe_params): name, type, help.
    """
    name, label, help_text = str(row["name"]), str(row["type"]), str(row["help"])
    if hint is bool:
        return Field(name, "select", label, _text(default), help_text, ["true", "false"])
    if get_origin(hint) is Literal:
        return Field(name, "select", label, _text(default), help_text, [str(c) for c in get_args(hint)])
    if hint in (int, float):
        return Field(name, "number", label, _text(default), help_text, [], "1" if hint is int else "any")
    return Field(name, "text", label, _text(default), help_text, [])


def params_fields(params_type: type | None, skip: tuple[str, ...] = ()) -> list[Field]:
    if params_type is None:
        return []
    hints = typing.get_type_hints(params_type)
    instance = params_type()
    init = {f.name for f in dataclasses.fields(params_type) if f.init}
    return [field_for(row, hints[row["name"]], getattr(instance, row["name"])) for row in describe_params(params_type)
            if row["name"] in init and row["name"] not in skip]


def components(registry: Registry, kind: str) -> list[Component]:
    """Every registered component of ``kind`` with its fields, in name order."""
    found = []
    for name in registry.names(kind):
        spec = registry.get(kind, name)
        found.append(Component(kind, name, spec.description, spec.plugin, params_fields(spec.params)))
    return found


def _quote(value: str) -> str:
    """Quote a value the spec parser would otherwise split (commas, colons, equals, quotes)."""
    if not any(c in value for c in ",:=\"'") and value == value.strip():
        return value
    return "'" + value + "'" if "'" not in value else '"' + value + '"'


def spec_from_form(registry: Registry, kind: str, name: str, form: dict[str, str], prefix: str) -> str:
    """``name:key=value,...`` with the fields the user changed from the defaults, checked by genart.

    Raises genart's UsageError with the CLI's own message for an unknown name or a bad value.
    """
    component = registry.get(kind, name)  # unknown name: the CLI's "unknown model 'x'; did you mean"
    options = []
    for field in params_fields(component.params):
        raw = form.get(f"{prefix}.{name}.{field.name}")
        if raw is None:
            continue
        raw = raw.strip()
        if raw != field.default:
            options.append(f"{field.name}={_quote(raw)}")
    spec = name + (":" + ",".join(options) if options else "")
    context: Any = types.SimpleNamespace(registry=registry)  # all resolve_params reads of a BuildContext
    resolve_params(context, kind, spec)
    return spec
