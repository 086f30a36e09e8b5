"""Fault injection: SIGKILL a training process at random moments (mid-step, mid-checkpoint-write),
resume it each time, and check the run ends with the same checkpoint bytes as one never killed.

Each kill lands a random delay after the run's checkpoint was last replaced, so some land inside a
checkpoint write (leaving a temporary file that the next resume must clean up) and others between
steps. The toy model keeps this to a few seconds of training; process start-up dominates.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genart.records.runs import CHECKPOINT, load_checkpoint

KILLS = 20
STEPS = 400

#: a genart CLI holding only the toy plugin (tests/support), as a separate process
DRIVER = """
import sys
import genart_toy_plugin
from genart.cli import make_cli
from genart.contract.plugins import App
app = App()
app.register(genart_toy_plugin, "toy")
make_cli(app).main(args=sys.argv[1:], prog_name="genart")
"""


def genart(args: list[str]) -> subprocess.Popen[bytes]:
    support = str(Path(__file__).resolve().parents[1] / "support")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([support, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output.decode(errors="replace")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_at_random_steps_then_resume_is_exact(tmp_path: Path) -> None:
    common = ["--model", "toy", "--data", "dots", "--steps", str(STEPS), "--seed", "4", "-q"]
    code, output = finish(genart(["train", *common, "--checkpoint-every", "0", "--out", str(tmp_path / "a")]))
    assert code == 0, output
    (straight,) = (tmp_path / "a").iterdir()
    expected = digest(straight / CHECKPOINT)

    chooser = random.Random(2026)
    out = tmp_path / "b"
    process = genart(["train", *common, "--checkpoint-every", "1", "--out", str(out)])
    kills, run, seen = 0, None, 0
    steps: list[int] = []
    mid_write = 0
    while kills < KILLS:
        if run is None and out.exists():
            run = next(iter(out.iterdir()), None)
        checkpoint = run / CHECKPOINT if run is not None else None
        written = checkpoint.stat().st_mtime_ns if checkpoint is not None and checkpoint.exists() else 0
        if written == seen:  # wait until this process has replaced the checkpoint at least once
            assert process.poll() is None, finish(process)[1]
            time.sleep(0.005)
            continue
        time.sleep(chooser.uniform(0.0, 0.05))
        if process.poll() is not None:
            pytest.fail(f"training ended before kill {kills + 1}; raise STEPS")
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        assert checkpoint is not None and checkpoint.exists()
        seen = checkpoint.stat().st_mtime_ns
        steps.append(int(load_checkpoint(checkpoint)[0]["loop"]["step"]))
        mid_write += any(p.name.endswith(".tmp") for p in run.iterdir())
        process = genart(["train", "--resume", str(run), "-q"])
    assert run is not None
    code, output = finish(process)
    assert code == 0, output
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    assert digest(run / CHECKPOINT) == expected, f"after {kills} kills"
    assert len(set(steps)) > 1 and steps == sorted(steps), steps
    print(f"\n{kills} SIGKILLs ({mid_write} inside a checkpoint write; last checkpoints at steps {steps}), "
          f"final checkpoint sha256 {expected}")
