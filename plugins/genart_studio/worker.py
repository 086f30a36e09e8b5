"""Runs queued jobs one at a time as subprocesses, and settles what a previous studio left running.

Each job runs in a session of its own (``start_new_session``), so a Ctrl-C in the studio's terminal
or a studio crash does not kill a training run: the next studio finds it still running and waits for
it (reading its log), or, if it died with the studio (a reboot), queues it again with ``--resume``
at the front when it trains and has a checkpoint, and marks it failed with its last error otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .queue import Job, Queue

POLL_S = 0.05


def resolve_executable(name: str) -> str:
    """``genart`` is the one next to this Python (the studio's own installation), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"cannot find the program {name!r}")
    return found


def pid_runs(pid: int | None, argv: list[str]) -> bool:
    """Whether ``pid`` is alive and is this job (its command line ends with the job's arguments)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    try:
        parts = cmdline.read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return False
    tail = argv[1:]
    return parts[len(parts) - len(tail):] == tail if tail else bool(parts)


def read_events(log: Path) -> list[dict[str, object]]:
    """The JSON progress events in a job's log (other lines are ignored)."""
    events = []
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and "event" in value:
                events.append(value)
    return events


def last_error(log: Path) -> str | None:
    """The job's own error message: its ``error`` event or its ``genart: error:`` line."""
    message = None
    for event in read_events(log):
        if event.get("event") == "error":
            message = str(event.get("message"))
    if message:
        return message
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("genart: error:"):
            return line.removeprefix("genart: error:").strip()
    tail = [line for line in lines if line.strip() and not line.startswith("{")]
    return tail[-1][:300] if tail else None


def outcome(returncode: int | None, log: Path, stop_requested: bool) -> tuple[str, str | None]:
    """``(state, error)`` of an ended job from its exit code (None: not our child) and its log."""
    events = [e.get("event") for e in read_events(log)]
    if returncode == 0 or (returncode is None and "done" in events):
        return "done", None
    if returncode == 130 or (stop_requested and returncode in (None, -2)):
        return "stopped", "stopped; the checkpoint is saved (a new job with --resume continues it)"
    error = last_error(log)
    if returncode is None:
        return "failed", error or "ended while no studio watched it"
    return "failed", error or f"exit code {returncode}"


def recover(queue: Queue) -> list[int]:
    """Settle jobs marked running by an earlier studio; returns ids still alive (to be watched)."""
    alive = []
    for job in queue.running():
        if pid_runs(job.pid, job.argv):
            alive.append(job.id)
            continue
        log = queue.log_path(job.id)
        state, error = outcome(None, log, job.stop_requested)
        checkpoint = Path(job.run_dir) / "checkpoint.safetensors" if job.run_dir else None
        if state == "failed" and job.resumable and checkpoint is not None and checkpoint.is_file():
            argv = [*without_resume(job.argv), "--resume", str(job.run_dir)]
            queue.update(job.id, state="queued", priority=1, argv=argv, pid=None,
                         error="the studio stopped while it ran; resumed from its last checkpoint")
            with log.open("a") as handle:
                handle.write("studio: resuming from the last checkpoint after a restart\n")
        elif state == "failed" and job.resumable and not job.run_dir:
            queue.update(job.id, state="queued", priority=1, pid=None,
                         error="the studio stopped before it began; started again")
        else:
            queue.finish(job.id, state, error=error)
    return alive


def without_resume(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        else:
            out.append(arg)
    return out


class Worker:
    """A thread that runs the folder's queue, one job at a time, until :meth:`stop`."""

    def __init__(self, queue: Queue, env: dict[str, str] | None = None) -> None:
        self.queue = queue
        self.env = env
        self.wake = threading.Event()
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="genart-studio-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; a running job keeps running (in its own session) for the next studio."""
        self._stopping.set()
        self.wake.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        for job_id in recover(self.queue):
            self._watch_adopted(job_id)
        while not self._stopping.is_set():
            job = self.queue.claim_next()
            if job is None:
                self.wake.wait(0.5)
                self.wake.clear()
                for job_id in recover(self.queue):  # another process's job that ended without its studio
                    self._watch_adopted(job_id)
                continue
            self._run(job)

    def _watch_adopted(self, job_id: int) -> None:
        while not self._stopping.is_set():
            job = self.queue.get(job_id)
            if job is None or job.state != "running":
                return
            if not pid_runs(job.pid, job.argv):
                state, error = outcome(None, self.queue.log_path(job_id), job.stop_requested)
                self.queue.finish(job_id, state, error=error)
                return
            self._note_run_dir(job)
            time.sleep(0.5)

    def _run(self, job: Job) -> None:
        log = self.queue.log_path(job.id)
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        try:
            executable = resolve_executable(job.argv[0])
            with log.open("ab") as handle:
                process = subprocess.Popen(job.argv, executable=executable, stdout=handle, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, cwd=self.queue.runs_dir, env=env,
                                           start_new_session=True)
        except OSError as error:
            self.queue.finish(job.id, "failed", error=f"cannot start {job.argv[0]}: {error.strerror or error}")
            return
        self.queue.update(job.id, pid=process.pid)
        while process.poll() is None:
            if self._stopping.is_set():  # the studio is closing: the job runs on, the next studio adopts it
                return
            self._note_run_dir(job)
            time.sleep(POLL_S)
        self._note_run_dir(job)
        current = self.queue.get(job.id)
        state, message = outcome(process.returncode, log, bool(current and current.stop_requested))
        self.queue.finish(job.id, state, returncode=process.returncode, error=message)

    def _note_run_dir(self, job: Job) -> None:
        """Record the run folder a training job announced (its ``start`` event), once."""
        if job.run_dir or not job.resumable:
            return
        for event in read_events(self.queue.log_path(job.id)):
            if event.get("event") == "start" and event.get("run"):
                run_dir = (self.queue.runs_dir / str(event["run"])).resolve()
                self.queue.update(job.id, run_dir=str(run_dir))
                job.run_dir = str(run_dir)
                return
