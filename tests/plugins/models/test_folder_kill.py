"""`genart post DIR --post model:...` killed at five random points and rerun: every output written once,
byte-identical to an uninterrupted run (the command itself, in subprocesses, as a user runs it)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

JOURNAL = ".genart-done"


def post(source: Path, spec: str) -> list[str]:
    """The same command line in every run (the recipe in each PNG records it): ``--out result``, run from
    another folder each time."""
    return [sys.executable, "-m", "genart.cli", "post", str(source), "--post", spec, "--out", "result",
            "--progress", "json", "--device", "cpu"]


@pytest.mark.slow
def test_killed_five_times_then_rerun_writes_each_output_once_and_identically(
        tmp_path: Path, model_file: Callable[..., Path]) -> None:
    source = tmp_path / "in"
    rng_images = np.random.default_rng(0)
    for i in range(24):
        path = source / f"d{i % 3}" / f"img{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng_images.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    spec = f"model:file={model_file('ESRGAN')}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    (tmp_path / "clean").mkdir()
    (tmp_path / "killed").mkdir()
    clean = subprocess.run(post(source, spec), capture_output=True, text=True, timeout=600, env=env,
                           cwd=tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-2000:]
    rng = random.Random(0)
    out = tmp_path / "killed" / "result"
    for _ in range(5):
        stop_after = rng.randint(1, 4)
        process = subprocess.Popen(post(source, spec), stderr=subprocess.PIPE, text=True, env=env,
                                   cwd=tmp_path / "killed")
        assert process.stderr is not None
        items = 0
        for line in process.stderr:
            if line.startswith("{") and json.loads(line).get("status") == "written":
                items += 1
            if items >= stop_after:
                break
        time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next item
        process.kill()
        process.wait()
    final = subprocess.run(post(source, spec), capture_output=True, text=True, timeout=600, env=env,
                           cwd=tmp_path / "killed")
    assert final.returncode == 0, final.stderr[-2000:]
    statuses = [json.loads(line)["status"] for line in final.stderr.splitlines() if line.startswith('{"event": "item"')]
    assert len(statuses) == 24 and statuses.count("written") + statuses.count("adopted") < 24  # killed work kept
    lines = [json.loads(line) for journal in out.glob(f"{JOURNAL}*.jsonl")
             for line in journal.read_text().splitlines() if line.strip()]
    outputs = [entry["output"] for entry in lines]
    assert sorted(outputs) == sorted(set(outputs)) and len(outputs) == 24  # each output journalled exactly once
    made = sorted((tmp_path / "clean" / "result").rglob("*.png"))
    assert len(made) == 24
    for file in made:  # pixels and recipe, byte for byte
        assert (out / file.relative_to(tmp_path / "clean" / "result")).read_bytes() == file.read_bytes()
    assert not [p for p in out.rglob("*") if p.is_file() and ".tmp" in p.name]
