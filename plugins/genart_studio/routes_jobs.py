"""The queue page, a job's page, its live events (server-sent events) and its stop button.

Events are the job's log, line by line: ``--progress json`` lines become ``progress`` events (a
``sample`` event gains the URL of its snapshot), other lines ``log`` events. The event id is the
byte offset in the log, so a browser that reconnects (``Last-Event-ID``) continues where it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from genart import UsageError

from .app import page, post_form, redirect, studio_of
from .queue import FINISHED, Job, Queue
from .worker import without_resume

EVENT_POLL_S = 0.1
KEEPALIVE_S = 15.0


def _job(request: Request) -> Job:
    job = studio_of(request).queue.get(int(request.path_params["job_id"]))
    if job is None:
        raise UsageError(f"no job {request.path_params['job_id']}")
    return job


def relative_url(runs_dir: Path, path: str) -> str | None:
    """``/files/...`` for a path inside the runs folder (absolute or relative to it), else None."""
    target = (runs_dir / path).resolve()
    if runs_dir not in target.parents:
        return None
    return "/files/" + str(target.relative_to(runs_dir))


def link_for(runs_dir: Path, job: Job) -> tuple[str, str] | None:
    """Where a job's result is: its run page, or its output folder or file."""
    if job.run_dir:
        return f"/runs/{Path(job.run_dir).name}", "the run"
    if job.out and Path(job.out).exists():
        target = Path(job.out)
        rel = target.relative_to(runs_dir) if runs_dir in target.parents else None
        if rel is None:
            return None
        if target.is_file():
            return f"/image?path={rel}", "the image"
        first = next(iter(sorted(target.glob("*.png"))), None)
        if first is not None:
            return f"/image?path={first.relative_to(runs_dir)}", "the results"
    return None


async def jobs_page(request: Request) -> Response:
    studio = studio_of(request)
    return page(request, "jobs.html", title="Queue", jobs=studio.queue.jobs())


async def job_page(request: Request) -> Response:
    studio = studio_of(request)
    job = _job(request)
    log = studio.queue.log_path(job.id)
    text = log.read_text(errors="replace")[-20000:] if log.exists() else ""
    return page(request, "job.html", title=f"Job {job.id}", job=job, log=text, can_resume=can_resume(job),
                result=link_for(studio.runs_dir, job) if not job.active else None)


def can_resume(job: Job) -> bool:
    """A stopped or failed training job whose run folder has a checkpoint to continue from."""
    return bool(job.resumable and job.run_dir and job.state in ("stopped", "failed")
                and (Path(job.run_dir) / "checkpoint.safetensors").is_file())


def _event(line: str, runs_dir: Path) -> tuple[str, str]:
    if line.startswith("{"):
        try:
            value: Any = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict) and "event" in value:
            if value.get("event") == "sample" and isinstance(value.get("path"), str):
                value["url"] = relative_url(runs_dir, value["path"])
            return "progress", json.dumps(value)
    return "log", json.dumps(line)


async def stream(queue: Queue, job_id: int, offset: int, runs_dir: Path,
                 disconnected: Any = None) -> AsyncIterator[str]:
    """The job's log from ``offset`` as SSE frames, until the job has finished and all is sent."""
    log = queue.log_path(job_id)
    pending = b""
    idle = 0.0
    while True:
        job = queue.get(job_id)
        chunk = b""
        if log.exists():
            with log.open("rb") as handle:
                handle.seek(offset + len(pending))
                chunk = handle.read(1 << 20)
        data = pending + chunk
        lines = data.split(b"\n")
        pending = lines.pop()
        for raw in lines:
            offset += len(raw) + 1
            kind, payload = _event(raw.decode(errors="replace").rstrip("\r"), runs_dir)
            yield f"id: {offset}\nevent: {kind}\ndata: {payload}\n\n"
        if lines:
            idle = 0.0
        if job is None or (job.state in FINISHED and not chunk):
            state = {"state": job.state if job else "gone", "error": job.error if job else None}
            yield f"event: end\ndata: {json.dumps(state)}\n\n"
            return
        if disconnected is not None and await disconnected():
            return
        await asyncio.sleep(EVENT_POLL_S)
        idle += EVENT_POLL_S
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"


async def events(request: Request) -> Response:
    studio = studio_of(request)
    job = _job(request)
    start = request.headers.get("last-event-id") or request.query_params.get("from") or "0"
    offset = int(start) if start.isdigit() else 0
    return StreamingResponse(stream(studio.queue, job.id, offset, studio.runs_dir, request.is_disconnected),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def stop(request: Request) -> Response:
    form = await post_form(request)
    job = _job(request)
    studio_of(request).queue.cancel_or_stop(job.id)
    back = form.get("next", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else f"/jobs/{job.id}")


async def resume(request: Request) -> Response:
    """Queue a stopped or failed training job again with ``--resume RUN``: it continues from its checkpoint."""
    await post_form(request)
    studio = studio_of(request)
    job = _job(request)
    if not can_resume(job) or job.run_dir is None:
        raise UsageError(f"job {job.id} has no checkpoint to continue from")
    argv = [*without_resume(job.argv), "--resume", job.run_dir]
    new = studio.queue.add(job.kind, argv, resumable=True)
    if studio.worker is not None:
        studio.worker.wake.set()
    return redirect(f"/jobs/{new}")


async def status(request: Request) -> Response:
    """A job's state as JSON (for scripts and for the page after the events end)."""
    job = _job(request)
    body = {"id": job.id, "state": job.state, "command": job.command, "error": job.error, "run_dir": job.run_dir,
            "out": job.out}
    return Response(json.dumps(body), media_type="application/json")


ROUTES = [
    Route("/jobs", jobs_page),
    Route("/jobs/{job_id:int}", job_page),
    Route("/jobs/{job_id:int}/events", events),
    Route("/jobs/{job_id:int}/status", status),
    Route("/jobs/{job_id:int}/stop", stop, methods=["POST"]),
    Route("/jobs/{job_id:int}/resume", resume, methods=["POST"]),
]
