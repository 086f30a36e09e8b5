"""Talking to the user: one-line messages and progress bars, both on stderr so stdout stays clean for
``--json`` output."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

import click

T = TypeVar("T")


def echo(message: str) -> None:
    click.echo(message, err=True)


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "img", disable: bool = False) -> Any:
    """A progress bar on stderr (so stdout stays clean for ``--json`` output), as the core's own."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True,
                mininterval=0.5, file=sys.stderr)
