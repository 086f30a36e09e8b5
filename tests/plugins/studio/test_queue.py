"""The queue: order, restarts (queued jobs kept, a dead running job resumed or failed, a live one
adopted), one job at a time across processes, stop, and the events the page streams."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from studio_support import post

from genart_studio.queue import Queue
from genart_studio.routes_jobs import stream
from genart_studio.worker import Worker, outcome, recover


def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def echo_job(index: int) -> list[str]:
    """A cheap stand-in for a genart command (the worker runs any argument list the same way)."""
    return ["echo", f"job {index}"]


def test_a_hundred_queued_jobs_survive_a_restart_and_run_in_order(runs_dir: Path) -> None:
    first = Queue(runs_dir)
    ids = [first.add("test", echo_job(i)) for i in range(100)]
    del first  # the studio stops before running any of them
    again = Queue(runs_dir)
    assert [j.id for j in again.jobs(limit=1000)] == ids
    worker = Worker(again)
    worker.start()
    try:
        wait_for(lambda: all(j.state == "done" for j in again.jobs(limit=1000)), timeout=120)
    finally:
        worker.stop()
    jobs = sorted(again.jobs(limit=1000), key=lambda j: j.id)
    starts = [j.started for j in jobs]
    assert starts == sorted(starts)  # in the order queued
    assert all(j.finished <= k.started for j, k in zip(jobs, jobs[1:], strict=False))  # one at a time  # type: ignore[operator]
    assert again.log_path(ids[42]).read_text().strip() == "job 42"


def test_claiming_is_one_job_at_a_time_across_queue_objects(runs_dir: Path) -> None:
    a, b = Queue(runs_dir), Queue(runs_dir)
    for i in range(3):
        a.add("test", echo_job(i))
    got = [a.claim_next(), b.claim_next()]
    assert got[0] is not None and got[1] is None  # the second studio waits for the running job
    a.finish(got[0].id, "done")
    third = b.claim_next()
    assert third is not None and third.id == got[0].id + 1


def test_concurrent_claims_never_take_one_job_twice(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    for i in range(20):
        queue.add("test", echo_job(i))
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        own = Queue(runs_dir)
        for _ in range(200):
            job = own.claim_next()
            if job is not None:
                with lock:
                    claimed.append(job.id)
                own.finish(job.id, "done")

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 20


def test_a_training_job_that_died_with_the_studio_is_resumed_first(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    run = runs_dir / "20261206-vae"
    run.mkdir()
    (run / "checkpoint.safetensors").write_bytes(b"x")
    argv = ["genart", "run", "--model", "vae", "--out", str(runs_dir), "--progress", "json"]
    dead = queue.add("train", argv, resumable=True)
    waiting = queue.add("test", echo_job(1))
    queue.claim_next()
    queue.update(dead, pid=2**22 + 12345, run_dir=str(run))  # no such process
    recover(Queue(runs_dir))
    job = queue.get(dead)
    assert job is not None and job.state == "queued" and job.argv[-2:] == ["--resume", str(run)]
    assert queue.claim_next().id == dead  # type: ignore[union-attr]  # before the job queued after it
    assert queue.get(waiting).state == "queued"  # type: ignore[union-attr]


def test_a_job_that_died_without_a_checkpoint_is_marked_failed_with_its_error(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    job_id = queue.add("sample", ["genart", "sample", "x"])
    queue.claim_next()
    queue.update(job_id, pid=2**22 + 12346)
    queue.log_path(job_id).write_text('{"event": "error", "message": "out of memory while sampling"}\n')
    recover(queue)
    job = queue.get(job_id)
    assert job is not None and job.state == "failed" and job.error == "out of memory while sampling"


def test_a_job_still_running_after_a_restart_is_adopted_and_settled(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    code = "import time, json; time.sleep(1.0); print(json.dumps({'event': 'done'}), flush=True)"
    argv = [sys.executable, "-c", code]
    job_id = queue.add("test", argv)
    queue.claim_next()
    log = queue.log_path(job_id).open("ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    queue.update(job_id, pid=process.pid)
    assert recover(queue) == [job_id]  # alive: left running, to be watched
    worker = Worker(Queue(runs_dir))
    worker.start()
    try:
        wait_for(lambda: queue.get(job_id).state != "running")  # type: ignore[union-attr]
    finally:
        worker.stop()
        process.wait()
        log.close()
    assert queue.get(job_id).state == "done"  # type: ignore[union-attr]


def test_outcome_reads_the_exit_code_and_the_log(tmp_path: Path) -> None:
    log = tmp_path / "1.log"
    log.write_text("genart: error: unknown model 'vea'; did you mean 'vae'?\n")
    assert outcome(0, log, False) == ("done", None)
    assert outcome(2, log, False) == ("failed", "unknown model 'vea'; did you mean 'vae'?")
    assert outcome(130, log, True)[0] == "stopped"


def test_stop_sends_sigint_and_a_job_that_exits_130_is_stopped(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    code = ("import signal, sys, time\n"
            "def handler(*a):\n    print('saving checkpoint', flush=True); sys.exit(130)\n"
            "signal.signal(signal.SIGINT, handler)\nprint('{\"event\": \"start\"}', flush=True)\n"
            "while True: time.sleep(0.05)\n")
    job_id = queue.add("test", [sys.executable, "-c", code])
    queued = queue.add("test", echo_job(2))
    worker = Worker(queue)
    worker.start()
    try:
        wait_for(lambda: "start" in queue.log_path(job_id).read_text() if queue.log_path(job_id).exists() else False)
        assert queue.cancel_or_stop(queued) == "cancelled"
        assert "stopping" in queue.cancel_or_stop(job_id)
        wait_for(lambda: queue.get(job_id).state != "running")  # type: ignore[union-attr]
    finally:
        worker.stop()
    job = queue.get(job_id)
    assert job is not None and job.state == "stopped" and job.returncode == 130
    assert "saving checkpoint" in queue.log_path(job_id).read_text()
    assert queue.get(queued).state == "cancelled"  # type: ignore[union-attr]


def test_the_event_stream_sends_progress_log_lines_and_the_end(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    job_id = queue.add("test", ["genart", "x"])
    snapshot = runs_dir / "run" / "snapshots" / "step-000010.png"
    queue.log_path(job_id).write_text(
        '{"event": "step", "step": 10, "steps": 20}\nplain text\n'
        + json.dumps({"event": "sample", "step": 10, "path": str(snapshot)}) + "\n")
    queue.finish(job_id, "done")

    async def collect() -> list[str]:
        return [frame async for frame in stream(queue, job_id, 0, runs_dir)]

    frames = asyncio.run(collect())
    assert frames[0].startswith("id: ") and "event: progress" in frames[0] and '"step": 10' in frames[0]
    assert "event: log" in frames[1] and '"plain text"' in frames[1]
    assert '"url": "/files/run/snapshots/step-000010.png"' in frames[2]
    assert frames[-1].startswith("event: end") and '"done"' in frames[-1]
    offset = int(frames[1].split("\n")[0].removeprefix("id: "))
    resumed = asyncio.run(_collect_from(queue, job_id, offset, runs_dir))
    assert len(resumed) == 2 and "sample" in resumed[0]  # a reconnect continues after the last id


async def _collect_from(queue: Queue, job_id: int, offset: int, runs_dir: Path) -> list[str]:
    return [frame async for frame in stream(queue, job_id, offset, runs_dir)]


def test_the_events_route_streams_a_live_job_within_a_second(make_client, runs_dir: Path) -> None:
    """A line the job writes reaches the client soon (the benchmark measures it properly)."""
    client = make_client(start_worker=True)
    code = ("import json, time\nfor i in range(3):\n"
            "    print(json.dumps({'event': 'step', 'step': i, 'unix': time.time()}), flush=True); time.sleep(0.3)\n")
    queue = client.app.state.studio.queue
    job_id = queue.add("test", [sys.executable, "-c", code])
    client.app.state.studio.worker.wake.set()
    seen = []
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: {") and '"step"' in line:
                seen.append(time.time() - json.loads(line[6:])["unix"])
            if line.startswith("event: end"):
                break
    assert len(seen) == 3 and max(seen) < 5.0  # generous: the machine is shared


def test_stop_button_route_and_status_json(client, runs_dir: Path) -> None:
    queue = client.app.state.studio.queue
    job_id = queue.add("test", echo_job(1))
    response = post(client, f"/jobs/{job_id}/stop", {"next": "//evil.example/"})
    assert response.status_code == 303 and response.headers["location"] == f"/jobs/{job_id}"
    status = client.get(f"/jobs/{job_id}/status").json()
    assert status["state"] == "cancelled" and status["command"] == "echo 'job 1'"


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_a_job_that_cannot_start_fails_with_a_message(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    job_id = queue.add("test", ["no-such-program-genart-studio"])
    worker = Worker(queue)
    worker.start()
    try:
        wait_for(lambda: queue.get(job_id).state != "queued")  # type: ignore[union-attr]
        wait_for(lambda: queue.get(job_id).state != "running")  # type: ignore[union-attr]
    finally:
        worker.stop()
    job = queue.get(job_id)
    assert job is not None and job.state == "failed" and "cannot" in (job.error or "")


def test_resume_button_queues_the_command_again_with_resume(client, runs_dir: Path) -> None:
    queue = client.app.state.studio.queue
    run = runs_dir / "r"
    run.mkdir()
    argv = ["genart", "run", "--model", "vae", "--out", str(runs_dir), "--progress", "json"]
    job_id = queue.add("train", argv, resumable=True)
    queue.claim_next()
    queue.update(job_id, run_dir=str(run))
    queue.finish(job_id, "stopped")
    assert "Continue training" not in client.get(f"/jobs/{job_id}").text  # no checkpoint yet
    assert post(client, f"/jobs/{job_id}/resume").status_code == 400
    (run / "checkpoint.safetensors").write_bytes(b"x")
    assert "Continue training" in client.get(f"/jobs/{job_id}").text
    response = post(client, f"/jobs/{job_id}/resume")
    assert response.status_code == 303
    again = queue.get(int(response.headers["location"].rsplit("/", 1)[1]))
    assert again is not None and again.argv == [*argv, "--resume", str(run)] and again.state == "queued"


def test_closing_the_studio_leaves_a_running_job_running_for_the_next_one(runs_dir: Path) -> None:
    queue = Queue(runs_dir)
    code = "import time, json; time.sleep(1.5); print(json.dumps({'event': 'done'}), flush=True)"
    job_id = queue.add("test", [sys.executable, "-c", code])
    first = Worker(queue)
    first.start()
    wait_for(lambda: bool(queue.get(job_id).pid))  # type: ignore[union-attr]
    started = time.monotonic()
    first.stop()
    assert time.monotonic() - started < 1.0 and not first.thread.is_alive()
    job = queue.get(job_id)
    assert job is not None and job.state == "running" and job.pid is not None
    os.kill(job.pid, 0)  # still alive
    second = Worker(Queue(runs_dir))
    second.start()
    try:
        wait_for(lambda: queue.get(job_id).state != "running")  # type: ignore[union-attr]
    finally:
        second.stop()
    assert queue.get(job_id).state == "done"  # type: ignore[union-attr]
