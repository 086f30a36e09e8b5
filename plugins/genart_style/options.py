"""Click options generated from a params dataclass, so a command and its component share one definition.

``genart stylize`` takes the same parameters as the ``style`` post-processor; writing each as a click
option as well meant two defaults and two help texts to keep in step. Here every field becomes
``--field-name`` with the field's default and help: a ``Literal`` becomes a choice, a ``bool`` an
``--x/--no-x`` flag, a list a ``+``-joined string parsed the way component specs are.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import click

from genart import UsageError
from genart.api import LIST_SEPARATOR, coerce


def _option(field: dataclasses.Field, hint: Any, default: Any) -> Callable[[Any], Any]:
    flag = "--" + field.name.replace("_", "-")
    help_text = field.metadata.get("help", "")
    origin = get_origin(hint)
    if hint is bool:
        return click.option(f"{flag}/--no-{flag[2:]}", field.name, default=default, show_default=True,
                            help=help_text)
    if origin is Literal:
        return click.option(flag, field.name, default=default, show_default=True,
                            type=click.Choice([str(c) for c in get_args(hint)]), help=help_text)
    if origin in (list, tuple):
        shown = LIST_SEPARATOR.join(str(v) for v in default)
        return click.option(flag, field.name, default=shown, show_default=True, help=help_text)
    kind = {int: int, float: float, str: str}.get(hint, str)
    return click.option(flag, field.name, default=default, show_default=True, type=kind, help=help_text)


def params_options(params_type: type, skip: Iterable[str] = (),
                   defaults: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    """A decorator adding one click option per field of ``params_type`` (except ``skip``), in field order;
    ``defaults`` overrides a field's default on the command line only."""
    skip, defaults = set(skip), defaults or {}
    hints = typing.get_type_hints(params_type)
    instance = params_type()
    fields = [f for f in dataclasses.fields(params_type) if f.init and f.name not in skip]

    def decorate(command: Any) -> Any:
        for field in reversed(fields):  # click applies decorators bottom-up; keep the dataclass order in --help
            default = defaults.get(field.name, getattr(instance, field.name))
            command = _option(field, hints[field.name], default)(command)
        return command

    return decorate


def parse_values(params_type: type, values: dict[str, Any]) -> dict[str, Any]:
    """Turn the list options' strings into typed lists (``9+13`` -> ``[9, 13]``); one-line error if bad."""
    hints = typing.get_type_hints(params_type)
    out = dict(values)
    for name, value in values.items():
        hint = hints.get(name)
        if get_origin(hint) in (list, tuple) and isinstance(value, str):
            try:
                out[name] = coerce(value, hint)
            except ValueError as error:
                raise UsageError(f"--{name.replace('_', '-')}: {error}") from None
        elif hint is Path or (hint is not None and Path in get_args(hint)):
            out[name] = Path(value).expanduser() if value not in (None, "") else None
    return out
