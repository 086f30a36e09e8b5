"""Errors a user can act on.

Anything raised as a :class:`GenartError` is printed by the CLI as one line (no traceback) and
exits with its ``exit_code``. Plugins raise these for bad input so users never see a stack trace
for a mistake they made.
"""

from __future__ import annotations


class GenartError(Exception):
    """A problem with the user's input or environment, reported as one line."""

    exit_code = 1


class UsageError(GenartError):
    """Bad command-line input: unknown component, key or value (exit code 2, like click)."""

    exit_code = 2


class PluginError(GenartError):
    """A plugin failed to load or registered something invalid."""

    exit_code = 1


class TrainingDiverged(GenartError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 3
