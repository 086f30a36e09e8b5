"""The ``genart`` command group.

Only click is imported at start-up; torch and the plugins' heavy modules load inside commands, so
``genart --help`` answers at once.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .errors import GenartError
from .plugins import App


class _Failure(click.ClickException):
    """A GenartError shown as one line with the error's own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file: Any = None) -> None:
        click.echo(f"genart: error: {self.format_message()}", err=True)


class GenartGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GenartError as error:
            raise _Failure(str(error), error.exit_code) from None


def make_cli(app: App) -> click.Group:
    """The command group for one plugin ``App`` (tests build their own App and group)."""
    from . import cli_export, cli_inspect, cli_jobs

    @click.group(cls=GenartGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="genart", prog_name="genart")
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        """genart: train generative models on images, sample them, and post-process the results.

        Start with:  genart run --model vae --post restore
        """
        ctx.obj = app

    for command in (*cli_jobs.COMMANDS, *cli_inspect.COMMANDS, *cli_export.COMMANDS):
        cli.add_command(command)
    app.add_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    app = App.from_entry_points()
    cli = make_cli(app)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        cli.main(args=argv, prog_name="genart")
        return
    exit_distributed(cli, argv)


def exit_distributed(cli: click.Group, argv: list[str] | None) -> None:
    """Under torchrun, end the process without C++ static destructors: gloo's threads can otherwise
    abort a finished rank at interpreter exit ("terminate called without an active exception"),
    which torchrun reports as a failure of the whole job. Everything is written and flushed first."""
    try:
        cli.main(args=argv, prog_name="genart")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
