"""A run's ``manifest.json`` while its job runs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import explain, one_line
from ..records import runs


@dataclass
class RunManifest:
    """A run's ``manifest.json`` while the job runs: its fields, and where and whether it is written
    (only the main process writes it; a failure is recorded only once the folder has a manifest)."""

    path: Path
    fields: dict[str, Any]
    main: bool = True
    written: bool = False

    def write(self) -> None:
        if self.main:
            runs.write_json_atomic(self.path, self.fields)
            self.written = True

    def record_failure(self, error: BaseException, new_run: Path | None) -> None:
        """A crash, a divergence, a full disk: the manifest says ``failed`` and why (an interrupt has
        already said ``interrupted``). A new run folder that got nothing written is removed again."""
        if not self.written:
            if new_run is not None:
                with contextlib.suppress(OSError):
                    new_run.rmdir()  # only succeeds when empty
            return
        if self.fields.get("status") not in ("running", "trained", "complete"):  # complete: its write failed
            return
        if isinstance(error, KeyboardInterrupt):
            self.fields["status"] = "interrupted"
            self.fields["error"] = "aborted by a second Ctrl-C; the last checkpoint is kept"
        else:
            known = explain(error) if isinstance(error, Exception) else None
            self.fields["status"], self.fields["error"] = "failed", str(known) if known is not None else one_line(error)
        with contextlib.suppress(Exception):  # the disk may be the thing that failed
            self.write()
