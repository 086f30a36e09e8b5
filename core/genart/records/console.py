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


#: False while a job reports ``--progress plain`` or ``json``: a bar's carriage returns would fill a log file
_bars = True


def set_bars(enabled: bool) -> bool:
    """Allow or forbid progress bars from here on (every bar made through :func:`progress`); returns the
    previous setting, for the caller to restore."""
    global _bars
    previous, _bars = _bars, enabled
    return previous


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "img", disable: bool = False, leave: bool = True) -> Any:
    """A progress bar on stderr (so stdout stays clean for ``--json`` output), as the core's own; none while
    the job reports ``--progress plain`` or ``json``."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable or not _bars, dynamic_ncols=True,
                mininterval=0.5, file=sys.stderr, leave=leave)
