"""Adds ``genart studio`` (light at import: the web stack loads only when the command runs)."""

from __future__ import annotations

from typing import Any

import genart


@genart.hookimpl
def register_commands(cli: Any) -> None:
    from .command import studio_command

    cli.add_command(studio_command)
