"""``-c FILE.toml``: the same settings as the command-line options, in a file.

Options given on the command line win over the file; the file wins over defaults. Keys are the
option names with dashes or underscores (``batch-size`` or ``batch_size``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..contract.suggest import did_you_mean
from ..errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_config(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"config file {file} not found") from None
    except IsADirectoryError:
        raise UsageError(f"config file {file} is a folder, not a TOML file") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"config file {file} is not UTF-8 text (byte {error.start}); is it a TOML file?") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"config file {file}: {error}") from None
    for key, value in data.items():
        if isinstance(value, dict):  # e.g. [model] name = "vae": settings are flat, specs are strings
            raise UsageError(f"config file {file}: [{key}] tables are not settings; write {key} = \"name:key=value\" "
                             "at the top level instead")
    return {key.replace("-", "_"): value for key, value in data.items()}


def apply_config(ctx: click.Context, values: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Fill every option the user did not type with the config file's value, type-checked by click."""
    params = {p.name: p for p in ctx.command.params if p.name and p.name != "config"}
    merged = dict(values)
    for key, raw in config.items():
        if key not in params:
            raise UsageError(f"config: unknown setting {key!r}{did_you_mean(key, params)}")
        source = ctx.get_parameter_source(key)
        if source not in (click.core.ParameterSource.DEFAULT, None):
            continue
        param = params[key]
        try:
            if getattr(param, "multiple", False):
                items = raw if isinstance(raw, list) else [raw]
                merged[key] = tuple(param.type_cast_value(ctx, items))
            else:
                merged[key] = param.type_cast_value(ctx, raw)
        except click.BadParameter as error:
            raise UsageError(f"config: bad value for {key!r}: {error.message}") from None
    return merged
