"""Errors a user can act on, and the one place that turns any other failure into one of them.

Anything raised as a :class:`GenartError` is printed by the CLI as one line (no traceback) and
exits with its ``exit_code``. Plugins raise these for bad input so users never see a stack trace
for a mistake they made. Everything else that escapes a command goes through :func:`explain`:
file-system failures, a full disk, running out of memory become their own error types with their own
exit codes; an exception from inside a plugin's component becomes a :class:`ComponentError` naming
the plugin and the component. ``GENART_DEBUG=1`` (or ``genart --debug``) shows the traceback instead.

Exit codes (docs/cli.md): 1 other, 2 usage, 3 diverged, 4 component failure, 5 file system,
6 disk full, 7 out of memory, 8 incompatible checkpoint, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

__all__ = [
    "CheckpointMismatch",
    "ComponentError",
    "DiskFullError",
    "FileSystemError",
    "GenartError",
    "Interrupted",
    "OutOfMemory",
    "PluginAPIDeprecation",
    "PluginError",
    "TrainingDiverged",
    "UsageError",
    "blame",
    "one_line",
]


class GenartError(Exception):
    """A problem with the user's input or environment, reported as one line."""

    exit_code = 1


class UsageError(GenartError):
    """Bad command-line input: unknown component, key or value (exit code 2, like click)."""

    exit_code = 2


class PluginError(GenartError):
    """A plugin failed to load or registered something invalid."""

    exit_code = 1


class PluginAPIDeprecation(DeprecationWarning):
    """A plugin uses a form of the plugin API that a later major version removes (see CHANGELOG.md).

    Its own category so the CLI shows it (Python hides DeprecationWarnings outside ``__main__``) and a
    plugin's test suite can turn it into an error with ``-W error::genart.errors.PluginAPIDeprecation``."""


class TrainingDiverged(GenartError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 3


class ComponentError(GenartError):
    """A plugin's component (factory, training step, sampler, post-processor) raised an unexpected error."""

    exit_code = 4


class FileSystemError(GenartError):
    """A path cannot be read or written: permission, missing folder, not a folder, read-only file system."""

    exit_code = 5


class DiskFullError(FileSystemError):
    """No space left on the device (or quota exceeded); the previous good files are kept."""

    exit_code = 6


class OutOfMemory(GenartError):
    """An allocation failed (CPU or GPU memory); the message says what to lower."""

    exit_code = 7


class CheckpointMismatch(GenartError):
    """A checkpoint was made for another model, or the same model with other parameters."""

    exit_code = 8


class Interrupted(GenartError):
    """Stopped by Ctrl-C after saving a checkpoint; ``--resume`` continues (exit 130, like a shell)."""

    exit_code = 130


def debug_enabled() -> bool:
    """Whether to show tracebacks (``GENART_DEBUG=1`` or ``genart --debug``)."""
    return os.environ.get("GENART_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


_FILE_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EROFS: "read-only file system",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "file name too long",
}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _os_error(error: OSError, doing: str) -> GenartError | None:
    where = error.filename if error.filename is not None else ""
    suffix = f" (while {doing})" if doing else ""
    if error.errno in _FULL:
        target = f" writing {where}" if where else ""
        return DiskFullError(f"no space left on the device{target}{suffix}; free some space or use another --out "
                             "(the last good files are kept)")
    reason = _FILE_ERRORS.get(error.errno or 0)
    if reason is None:
        return None
    return FileSystemError(f"{where}: {reason}{suffix}" if where else f"{reason}{suffix}")


_MEMORY_MARKERS = ("can't allocate memory", "out of memory", "not enough memory", "failed to allocate",
                   "bad_alloc")


def is_out_of_memory(error: BaseException) -> bool:
    """MemoryError, torch's (CUDA) OutOfMemoryError, or the RuntimeError a failed CPU allocation raises."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and any(m in str(error).lower() for m in _MEMORY_MARKERS)


def explain(error: BaseException, doing: str = "", advice: str = "") -> GenartError | None:
    """The GenartError a user should see for ``error``, or None when it is not a known class of failure.

    ``doing`` says what was happening ("training model 'vae'"), ``advice`` what to lower on OOM."""
    if isinstance(error, GenartError):
        return error
    if isinstance(error, OSError):
        return _os_error(error, doing)
    if is_out_of_memory(error):
        where = f" while {doing}" if doing else ""
        lower = advice or "lower --batch-size, the image size or -n"
        return OutOfMemory(f"out of memory{where}; {lower}")
    if isinstance(error, UnicodeDecodeError):
        return UsageError(f"not UTF-8 text ({error.reason} at byte {error.start})")
    return None


def one_line(error: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``, short enough for one terminal line."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    line = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def failure_line(error: BaseException) -> tuple[str, int]:
    """The one line (after ``genart: error:``) and the exit code that ``error`` ends a command with."""
    known = explain(error)
    if known is None:
        return f"unexpected {one_line(error)} (a bug: GENART_DEBUG=1 shows the traceback for a report)", 1
    return str(known), known.exit_code


#: set on an exception already reported as a ``--progress json`` error event, so the CLI adds no text line
_REPORTED = "_genart_reported"


def mark_reported(error: BaseException) -> None:
    with contextlib.suppress(AttributeError):  # an exception type with __slots__ just gets the line too
        setattr(error, _REPORTED, True)


def already_reported(error: BaseException) -> bool:
    return bool(getattr(error, _REPORTED, False))


@contextlib.contextmanager
def blame(kind: str, name: str, plugin: str | None, doing: str, advice: str = "") -> Iterator[None]:
    """Around a call into a plugin: a known failure class keeps its type, anything else becomes a
    ComponentError that names the component and its plugin (the traceback stays chained for --debug)."""
    try:
        yield
    except GenartError:
        raise
    except Exception as error:
        known = explain(error, f"{doing} {kind} {name!r}", advice)
        if known is not None and not isinstance(known, UsageError):
            raise known from error
        owner = f" (from {plugin})" if plugin else ""
        raise ComponentError(f"{kind} {name!r}{owner} failed while {doing}: {one_line(error)}") from error
