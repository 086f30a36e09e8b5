"""The docs' promises, run as written: the exit-code table of docs/cli.md and every command of
docs/quickstart.md (with ``--steps 2`` appended to commands that train, so the test stays short)."""

from __future__ import annotations

import re
import shlex
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import genart
from genart.api import App

DOCS = Path(__file__).resolve().parents[2] / "docs"


def exit_code_table() -> list[tuple[int, str]]:
    """``(code, error type)`` rows of the table under "Errors and exit codes" in docs/cli.md."""
    text = (DOCS / "cli.md").read_text()
    return [(int(code), name) for code, name in re.findall(r"^\| (\d+) \|[^|]*\| `(\w+)` \|$", text, re.M)]


def test_the_exit_code_table_is_what_the_errors_carry() -> None:
    rows = exit_code_table()
    assert len(rows) >= 9, rows
    for code, name in rows:
        assert getattr(genart, name).exit_code == code, name


@pytest.mark.parametrize(("args", "code"), [
    (["run", "--model", "nope"], 2),
    (["train", "--model", "vae", "--data", "folder:path={tmp}/missing"], 5),
    (["train", "--model", "vae", "--data", "folder:path={tmp}/file.txt"], 5),
])
def test_documented_exit_codes_happen(genart_cli: Any, builtin_app: App, tmp_path: Path, args: list[str],
                                      code: int) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    result = genart_cli([a.format(tmp=tmp_path) for a in args] + ["--out", str(tmp_path / "runs")], app=builtin_app)
    assert result.exit_code == code, result.output
    assert result.output.strip().splitlines()[-1].startswith("genart: error:")


def quickstart_commands() -> list[str]:
    text = (DOCS / "quickstart.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("genart "):
                commands.append(line)
    return commands


def write_mnist(folder: Path, count: int = 32) -> None:
    folder.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
    (folder / "train-images-idx3-ubyte").write_bytes(struct.pack(">4I", 2051, count, 28, 28) + images.tobytes())
    (folder / "train-labels-idx1-ubyte").write_bytes(struct.pack(">2I", 2049, count) + bytes(count))


@pytest.mark.slow
def test_quickstart_commands_run_as_written(genart_cli: Any, builtin_app: App, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: ``folder:path=~/Pictures/paintings`` failed (no ~ expansion) and ``genart sample`` without
    ``--out`` failed after the refactor."""
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "Pictures" / "paintings").mkdir(parents=True)
    for index in range(4):
        Image.new("RGB", (80, 70), (60 * index, 90, 200)).save(home / "Pictures" / "paintings" / f"{index}.png")
    write_mnist(tmp_path / "shared" / "data" / "mnist")
    (work / "scans").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 100, 50)).save(work / "photo.jpg")
    Image.new("RGB", (24, 24), (20, 100, 50)).save(work / "scans" / "page.png")
    toml = re.search(r"```toml\n(.*?)```", (DOCS / "quickstart.md").read_text(), re.S)
    assert toml is not None
    (work / "job.toml").write_text(toml.group(1))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    commands = quickstart_commands()
    assert any("~/" in c for c in commands) and any(c.startswith("genart sample") for c in commands)
    last_run = ""
    for command in commands:
        args = shlex.split(command)[1:]
        args = [last_run if re.fullmatch(r"runs/\d{8}-\d{6}-vae", a) else a for a in args]
        if args[0] in ("run", "train"):  # a resumed run goes on from the 2 steps its train command made
            args += ["--steps", "4" if "--resume" in args else "2"]
        result = genart_cli(args, app=builtin_app)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        runs = sorted((work / "runs").glob("*-vae*")) if (work / "runs").exists() else []
        last_run = str(runs[-1]) if runs else last_run
