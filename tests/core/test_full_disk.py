"""A full disk at any write: one line (exit 6), the last good files intact, no temporary file left,
and the run resumes to the same final checkpoint once there is space again.

The fake version makes the Nth file write of a run raise ENOSPC, for every N a run makes (every
checkpoint, manifest, sample and grid goes through genart.records.runs' atomic writer). Where the test may
mount a tmpfs (root in a container or VM), a real file system is filled up as well.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import genart.records.runs
from genart.contract.plugins import App
from genart.records.runs import CHECKPOINT, MANIFEST, load_checkpoint

ARGS = ["run", "--model", "toy", "--data", "dots", "--steps", "6", "--checkpoint-every", "2", "-n", "2",
        "--seed", "1", "-q"]


class FullDisk:
    """Replaces ``open`` inside genart.records.runs: the ``fail_at``-th write (counting from 1) raises ENOSPC."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.writes = 0

    def __call__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = open(file, mode, *args, **kwargs)  # noqa: SIM115 (handed back to a with statement)
        if "w" not in mode:
            return handle
        disk = self
        real_write = handle.write

        def write(data: bytes) -> int:
            disk.writes += 1
            if disk.writes == disk.fail_at:
                real_write(data[: len(data) // 2])  # part of it lands, as on a real disk
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
            return real_write(data)

        handle.write = write
        return handle


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_enospc_at_every_write(genart_cli: Any, toy_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = FullDisk(None)
    monkeypatch.setattr(genart.records.runs, "open", counter, raising=False)
    assert genart_cli([*ARGS, "--out", str(tmp_path / "straight")], app=toy_app).exit_code == 0
    (straight,) = (tmp_path / "straight").iterdir()
    expected = (straight / CHECKPOINT).read_bytes()
    total = counter.writes
    assert total >= 8  # manifests, 3 checkpoints, samples, grid

    for fail_at in range(1, total + 1):
        out = tmp_path / f"full-{fail_at}"
        monkeypatch.setattr(genart.records.runs, "open", FullDisk(fail_at), raising=False)
        result = genart_cli([*ARGS, "--out", str(out)], app=toy_app)
        assert result.exit_code == 6, (fail_at, result.output)
        assert "no space left" in result.output and "Traceback" not in result.output
        runs = list(out.iterdir()) if out.exists() else []
        if not runs:  # the very first write failed: nothing was made, nothing to resume
            continue
        (run,) = runs
        assert not temp_files(run), (fail_at, temp_files(run))
        if (run / CHECKPOINT).exists():
            load_checkpoint(run / CHECKPOINT)  # the last good checkpoint is whole
        if not (run / CHECKPOINT).exists():
            continue
        recorded = json.loads((run / MANIFEST).read_text())
        assert recorded["status"] in ("running", "failed", "trained"), recorded["status"]
        monkeypatch.setattr(genart.records.runs, "open", open, raising=False)  # space again
        resumed = genart_cli(["run", "--resume", str(run), "-q"], app=toy_app)
        assert resumed.exit_code == 0, (fail_at, resumed.output)
        assert (run / CHECKPOINT).read_bytes() == expected, fail_at
        assert not temp_files(run)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot run mount here")
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=20)


def fill(folder: Path, keep_free: int) -> Path:
    """Fill the file system with a filler file, then give back ``keep_free`` bytes (in another file)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    # release a little so small files (the manifest) fit but a checkpoint does not
    size = filler.stat().st_size
    with open(filler, "r+b") as handle:
        handle.truncate(max(0, size - keep_free))
    return filler


def test_a_real_full_file_system(genart_cli: Any, toy_app: App, tiny_tmpfs: Path, tmp_path: Path) -> None:
    straight = genart_cli([*ARGS, "--out", str(tmp_path / "straight")], app=toy_app)
    assert straight.exit_code == 0
    (straight_run,) = (tmp_path / "straight").iterdir()
    short = [*ARGS[:ARGS.index("--steps") + 1], "2", *ARGS[ARGS.index("--steps") + 2:]]
    assert genart_cli([*short, "--out", str(tiny_tmpfs / "runs")], app=toy_app).exit_code == 0
    (run,) = (tiny_tmpfs / "runs").iterdir()
    good = (run / CHECKPOINT).read_bytes()
    filler = fill(tiny_tmpfs, keep_free=4096)

    result = genart_cli(["run", "--resume", str(run), "--steps", "6", "-q"], app=toy_app)
    assert result.exit_code == 6 and "no space left" in result.output, result.output
    assert "Traceback" not in result.output
    assert (run / CHECKPOINT).read_bytes() == good
    json.loads((run / MANIFEST).read_text())  # still whole (either version)
    assert not temp_files(run)

    filler.unlink()
    resumed = genart_cli(["run", "--resume", str(run), "--steps", "6", "-q"], app=toy_app)
    assert resumed.exit_code == 0, resumed.output
    assert (run / CHECKPOINT).read_bytes() == (straight_run / CHECKPOINT).read_bytes()
    shutil.rmtree(run)
