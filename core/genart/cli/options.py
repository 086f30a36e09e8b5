"""Click options every command that does work shares, and options generated from a params dataclass.

Built-in commands and plugins' commands use the same helpers (through ``genart.api``), so ``--device``,
``--post`` and a component's parameters read the same everywhere. :func:`params_options` turns every
field of a parameter dataclass into ``--field-name`` with the field's default and help (a ``Literal``
becomes a choice, a ``bool`` an ``--x/--no-x`` flag, a list a ``+``-joined string parsed the way
component specs are), so a command and its component share one definition.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import click

from ..contract.params import LIST_SEPARATOR, coerce
from ..errors import UsageError

DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def device_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--device`` (default auto)."""
    return click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)(func)


def device_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--device`` and ``--precision``, for commands that run a model."""
    func = click.option("--precision", default="auto", show_default=True, type=click.Choice(PRECISIONS),
                        help="numeric precision for training and inference")(func)
    return device_option(func)


def post_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--post SPEC``, repeatable: the post-processing chain, in the order given."""
    return click.option("--post", "post", multiple=True, metavar="SPEC",
                        help="post-processor, e.g. restore or upsample:scale=2; repeat to chain, "
                             "applied in the order given")(func)


def expand_images(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given, and the image files inside folders (recursively, sorted)."""
    from ..images import is_image_path

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p)))
        else:
            files.append(path)
    return files


def _option(field: dataclasses.Field[Any], hint: Any, default: Any) -> Callable[[Any], Any]:
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


def image_files_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """What a command that processes image files into a folder takes, as ``genart post`` does: ``IMAGES...``
    (files or folders), ``--out``, ``--format``, ``--overwrite``, ``-q``, ``--progress`` and the device options."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.argument("images", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the results"),
        click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]),
                     help="write every result in this format [default: each input's own (png for others)]"),
        click.option("--overwrite", is_flag=True, help="redo finished items and replace existing files in --out"),
        click.option("-q", "--quiet", is_flag=True, help="no progress bar"),
        click.option("--progress", type=click.Choice(["bar", "plain", "json"]),
                     help="bar, a plain line every few seconds, or one JSON event per image on stderr"),
        device_options,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def invoke_post(ctx: click.Context, *specs: str, **options: Any) -> None:
    """Run ``genart post`` (found through the command group, so its folder handling, safety checks and
    recipes are the ones ``post`` has) with the chain ``specs``: what a short command such as
    ``genart upscale`` does with the ``image_files_options`` it took."""
    parent = ctx.parent
    group = parent.command if parent is not None else None
    post = group.get_command(parent, "post") if parent is not None and isinstance(group, click.Group) else None
    if post is None:
        raise click.UsageError("genart post is not available")
    ctx.invoke(post, post=specs, **options)
