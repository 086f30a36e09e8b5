"""The job queue: one SQLite file in the runs folder (``.studio/queue.sqlite3``), shared by processes.

A job is an argument list (``["genart", "run", ...]``), never a shell line. Its output goes to
``.studio/logs/ID.log``, which is both what the page streams and what a restarted studio reads
to learn how a job it did not see finish ended. Claiming a job is one ``BEGIN IMMEDIATE``
transaction, so two studios (or a studio and a script) on one folder never run the same job, and
only one job runs at a time per folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_DIR = ".studio"
FINISHED = ("done", "failed", "stopped", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    argv TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    priority INTEGER NOT NULL DEFAULT 0,
    resumable INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    pid INTEGER,
    returncode INTEGER,
    run_dir TEXT,
    out TEXT,
    error TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class Job:
    id: int
    kind: str
    argv: list[str]
    state: str
    priority: int
    resumable: bool
    created: float
    started: float | None
    finished: float | None
    pid: int | None
    returncode: int | None
    run_dir: str | None
    out: str | None
    error: str | None
    stop_requested: bool

    @property
    def command(self) -> str:
        """The command as a person would type it (each argument quoted where the shell needs it)."""
        import shlex

        return shlex.join(self.argv)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


def _job(row: sqlite3.Row) -> Job:
    values: dict[str, Any] = dict(row)
    values["argv"] = json.loads(values["argv"])
    values["resumable"] = bool(values["resumable"])
    values["stop_requested"] = bool(values["stop_requested"])
    return Job(**values)


class Queue:
    """The jobs of one runs folder; every method opens its own connection (safe across threads)."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.state_dir = self.runs_dir / STATE_DIR
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.path = self.state_dir / "queue.sqlite3"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    def log_path(self, job_id: int) -> Path:
        return self.state_dir / "logs" / f"{job_id}.log"

    # -- reading ---------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, limit: int = 200) -> list[Job]:
        """Active jobs first (in the order they will run), then the newest finished ones."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM jobs ORDER BY state NOT IN ('running', 'queued'), state != 'running', "
                "CASE WHEN state IN ('running', 'queued') THEN -priority ELSE 0 END, "
                "CASE WHEN state IN ('running', 'queued') THEN id ELSE -id END LIMIT ?", (limit,)).fetchall()
        return [_job(r) for r in rows]

    def running(self) -> list[Job]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state = 'running' ORDER BY id").fetchall()
        return [_job(r) for r in rows]

    def for_run(self, run_dir: Path) -> Job | None:
        """The newest job that trained in ``run_dir``."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE run_dir = ? ORDER BY id DESC LIMIT 1",
                             (str(Path(run_dir).resolve()),)).fetchone()
        return _job(row) if row else None

    # -- writing ---------------------------------------------------------------------------------
    def add(self, kind: str, argv: list[str], *, resumable: bool = False, out: str | None = None) -> int:
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError("a job is a non-empty list of strings")
        with self._connect() as db:
            cursor = db.execute("INSERT INTO jobs (kind, argv, resumable, created, out) VALUES (?, ?, ?, ?, ?)",
                                (kind, json.dumps(argv), int(resumable), time.time(), out))
        return int(cursor.lastrowid or 0)

    def claim_next(self) -> Job | None:
        """The next queued job, now marked running; None while one runs (in any process) or none waits."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                running = db.execute("SELECT id FROM jobs WHERE state = 'running'").fetchone()
                row = None if running else db.execute(
                    "SELECT * FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1").fetchone()
                if row is not None:
                    db.execute("UPDATE jobs SET state = 'running', started = ?, pid = NULL WHERE id = ?",
                               (time.time(), row["id"]))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.get(int(row["id"])) if row is not None else None

    def update(self, job_id: int, **fields: Any) -> None:
        allowed = {"state", "pid", "returncode", "run_dir", "error", "finished", "argv", "priority",
                   "stop_requested", "out"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        if "argv" in fields:
            fields["argv"] = json.dumps(fields["argv"])
        names = ", ".join(f"{name} = ?" for name in fields)
        with self._connect() as db:
            db.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def finish(self, job_id: int, state: str, *, returncode: int | None = None, error: str | None = None) -> None:
        self.update(job_id, state=state, returncode=returncode, error=error, finished=time.time())

    def cancel_or_stop(self, job_id: int) -> str:
        """Cancel a queued job; ask a running one to stop (SIGINT: genart saves a checkpoint and exits)."""
        import signal

        job = self.get(job_id)
        if job is None:
            return "no such job"
        if job.state == "queued":
            self.finish(job_id, "cancelled")
            return "cancelled"
        if job.state == "running" and job.pid:
            self.update(job_id, stop_requested=1)
            try:
                os.kill(job.pid, signal.SIGINT)
            except ProcessLookupError:
                return "the job had already ended"
            return "stopping: it saves a checkpoint and ends"
        return f"the job is {job.state}"
