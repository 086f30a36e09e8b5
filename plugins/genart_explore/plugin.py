"""Registers the explore commands (light: the commands import torch only when they run)."""

from __future__ import annotations

import click

import genart


@genart.hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)
