"""metrics.jsonl: whole lines only, continued by --resume, nothing torn or duplicated after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from genart.contract.plugins import App
from genart.records.metrics import METRICS, MetricsLog, continue_log, read_metrics


def test_append_writes_whole_lines_and_reads_back(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / METRICS)
    for step in range(1, 4):
        log.append({"step": step, "loss": 1.0 / step, "bad": float("nan")})
    log.close()
    records = read_metrics(tmp_path / METRICS)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert records[0]["bad"] is None, "non-finite values stay valid JSON"


def test_continue_drops_torn_tail_lines_past_the_checkpoint_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / METRICS
    lines = [json.dumps({"step": s, "loss": s}) for s in (1, 2, 3, 3, 4, 5, 6)]
    path.write_text("\n".join(lines) + "\n" + '{"step": 7, "lo')
    kept = continue_log(path, 4)
    assert [r["step"] for r in kept] == [1, 2, 3, 4]
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3, 4]
    assert path.read_bytes().endswith(b"\n")
    before = path.stat().st_mtime_ns
    continue_log(path, 4)
    assert path.stat().st_mtime_ns == before, "a clean file is left alone"


_KILLED_RUN = """
import sys
sys.path.insert(0, {support!r})
import genart_toy_plugin
from genart.contract.plugins import App
from genart.runner.settings import RunSettings
from genart.runner.jobs import train_job
app = App()
app.register(genart_toy_plugin, "toy")
train_job(app, RunSettings(model="toy", data="dots", steps=10**8, out={out!r}, checkpoint_every=37, progress=False,
                           sample_every=50, name="killed"), sample_after=False)
"""


def test_kill_9_then_resume_continues_the_log_without_torn_or_duplicated_lines(
        genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    support = str(Path(__file__).parents[1] / "support")
    script = textwrap.dedent(_KILLED_RUN.format(support=support, out=str(tmp_path)))
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    metrics: Path | None = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list(tmp_path.glob(f"*/{METRICS}"))
        if found and len(read_metrics(found[0])) > 300 and (found[0].parent / "checkpoint.safetensors").exists():
            metrics = found[0]
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert metrics is not None, process.stderr.read().decode() if process.stderr else "no metrics"
    with open(metrics, "ab") as handle:  # what a power cut can add on top: a torn last line
        handle.write(b'{"step": 99999999, "mse": 0.')
    logged = read_metrics(metrics)[-1]["step"]
    target = logged + 25
    result = genart_cli(["train", "--resume", str(metrics.parent), "--steps", str(target), "-q"], app=toy_app)
    assert result.exit_code == 0, result.output
    raw = metrics.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode().splitlines()
    steps = [json.loads(line)["step"] for line in lines]  # every line parses
    assert steps == list(range(1, target + 1)), "one line per step, none lost, none repeated"
    times = [json.loads(line)["time"] for line in lines]
    assert all(b >= a for a, b in zip(times, times[1:], strict=False)), "wall time continues across the resume"
    assert (metrics.parent / "curves.png").is_file()
