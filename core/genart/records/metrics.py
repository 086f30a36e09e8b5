"""``metrics.jsonl``: one JSON line per logged training step, appended so that a crash never tears it.

Write policy, and why:

- Each record is encoded first and handed to the kernel in **one** ``os.write`` on a descriptor
  opened with ``O_APPEND``. A process killed with ``kill -9`` cannot leave half of a completed
  write behind (the data is already in the page cache); the only thing a kill can lose is a line
  whose write had not started. A loop of partial writes (``os.write`` returning short, which
  regular files only do on a full disk) is finished by the same call or fails loudly.
- ``fsync`` runs at every checkpoint and at the end, not per line: it costs milliseconds on a
  real disk and protects only against an OS crash or power cut, where what matters is that every
  line up to the checkpoint's step is durable together with the checkpoint. A power cut can still
  leave a torn last line, which :func:`continue_log` removes.
- ``--resume`` continues the file: :func:`continue_log` keeps only whole, parseable lines whose
  step is at most the checkpoint's step (lines past it were logged after the last checkpoint and
  will be trained and logged again), rewriting the file atomically only when something is dropped.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .runs import write_bytes_atomic

METRICS = "metrics.jsonl"


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every whole, valid record of a metrics file in order; a torn or garbled line is skipped."""
    file = Path(path)
    if not file.is_file():
        return []
    records: list[dict[str, Any]] = []
    data = file.read_bytes()
    for raw in data.split(b"\n")[:-1]:  # the last piece is empty, or a torn line without its newline
        record = _parse(raw)
        if record is not None:
            records.append(record)
    return records


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("step"), int):
        return None
    return record


def continue_log(path: str | os.PathLike[str], step: int) -> list[dict[str, Any]]:
    """Prepare ``path`` for appending from ``step``: drop lines past it and any torn tail.

    Returns the records kept (the resumed run's earlier history). Duplicated steps (a line logged
    twice) cannot survive either: records must increase strictly in step."""
    file = Path(path)
    if not file.exists():
        return []
    kept: list[dict[str, Any]] = []
    for record in read_metrics(file):
        if record["step"] <= step and (not kept or record["step"] > kept[-1]["step"]):
            kept.append(record)
    expected = b"".join(encode(record) for record in kept)
    if file.read_bytes() != expected:
        write_bytes_atomic(file, expected)
    return kept


def encode(record: dict[str, Any]) -> bytes:
    """One record as one line; non-finite floats become null so every line stays valid JSON."""
    clean = {key: (None if isinstance(value, float) and not math.isfinite(value) else value)
             for key, value in record.items()}
    return (json.dumps(clean, separators=(",", ":"), allow_nan=False) + "\n").encode()


class MetricsLog:
    """Append-only writer for one run's ``metrics.jsonl`` (see the module docstring for the policy)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError("metrics log is closed")
        data = memoryview(encode(record))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
            self._fd = None
