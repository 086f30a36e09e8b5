"""The ``genart`` command group.

Only click is imported at start-up; torch and the plugins' heavy modules load inside commands, so
``genart --help`` answers at once.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

from ..contract.plugins import App
from ..errors import PluginAPIDeprecation, already_reported, debug_enabled, failure_line


class _Failure(click.ClickException):
    """A GenartError shown as one line with the error's own exit code."""

    def __init__(self, message: str, exit_code: int, *, shown: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class
        self.shown = shown  # already reported (a --progress json error event): keep stderr JSON lines

    def show(self, file: Any = None) -> None:
        if not self.shown:
            click.echo(f"genart: error: {self.format_message()}", err=True)


class GenartGroup(click.Group):
    """Every failure of a command ends as one ``genart: error:`` line with its class's exit code
    (errors.py maps file-system, disk-full and out-of-memory failures), or, under ``--progress json``,
    as the run's ``error`` event alone; ``--debug`` or
    ``GENART_DEBUG=1`` prints the traceback first, for bug reports."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            _close_progress_bars()  # so the error starts a line of its own, not the end of a bar's
            if debug_enabled():
                import traceback

                traceback.print_exception(error, file=sys.stderr)
            message, exit_code = failure_line(error)
            owner = _command_owner(ctx)
            if owner and message.startswith("unexpected "):  # a plugin's command: its author can fix it
                message = message.replace(" (a bug:", f" in command {ctx.invoked_subcommand!r} of plugin {owner!r} "
                                                      "(a bug in that plugin:", 1)
            raise _Failure(message, exit_code, shown=already_reported(error)) from None


def _command_owner(ctx: click.Context) -> str | None:
    """The plugin (as ``genart plugins`` names it) that added the command being run, if a plugin did."""
    app = ctx.obj
    for record in getattr(app, "records", {}).values():
        if ctx.invoked_subcommand in record.commands:
            return str(record.name)
    return None


def _close_progress_bars() -> None:
    tqdm = sys.modules.get("tqdm")
    instances = getattr(getattr(tqdm, "tqdm", None), "_instances", None)
    for bar in list(instances or ()):
        bar.close()


def make_cli(app: App) -> click.Group:
    """The command group for one plugin ``App`` (tests build their own App and group)."""
    from .export import COMMANDS as export_commands
    from .inspect import COMMANDS as inspect_commands
    from .jobs import COMMANDS as job_commands
    from .runs import COMMANDS as run_commands

    @click.group(cls=GenartGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="genart", prog_name="genart")
    @click.option("--debug", is_flag=True, help="show the traceback of an error (same as GENART_DEBUG=1)")
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        """genart: train generative models on images, sample them, and post-process the results.

        Start with:  genart run --model vae --post restore
        """
        ctx.obj = app
        if debug:
            os.environ["GENART_DEBUG"] = "1"

    for command in (*job_commands, *inspect_commands, *export_commands, *run_commands):
        cli.add_command(command)
    app.add_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    # Python hides DeprecationWarnings outside __main__; a plugin's author needs to see these ones
    warnings.filterwarnings("default", category=PluginAPIDeprecation)
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
