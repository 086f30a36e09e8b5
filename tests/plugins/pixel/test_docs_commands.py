"""Every command of docs/sprites-palettes-tiles.md, run as written, in order, on folders made here.

Commands that train get ``--steps 2 -n 2`` appended and diffusion a 2-step sampler, so the test stays short;
``runs/<run>`` is the newest run folder at that point (the VAE made first, then the tileable diffusion run).
Before: the two ``--out out/`` commands clashed (the second refused to overwrite ``out/0000.png``),
``extract=reference/,n=12`` failed on a reference with fewer than 12 colours, and ``tiles/`` came from nowhere.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.api import App
from genart.images import load_image, save_image
from genart.testing import make_tiny_images
from genart_pixel.palettes import read_palette_file

DOC = Path(__file__).resolve().parents[3] / "docs" / "sprites-palettes-tiles.md"


def doc_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S):
        commands += [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("genart ")]
    return commands


def make_inputs(work: Path) -> None:
    """The folders and files the page's commands name, filled with small images made here."""
    for name, count in (("sprites", 3), ("art", 2), ("reference", 1)):
        (work / name).mkdir()
        for index, image in enumerate(make_tiny_images(count, 3, 24, seed=len(name))):
            save_image(image, work / name / f"{index}.png")
    (work / "my.gpl").write_text("GIMP Palette\nName: mine\n#\n 15  56  15\tdark\n155 188  15\tlight\n")
    (work / "textures").mkdir()
    for index in range(4):
        save_image(torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(index)),
                   work / "textures" / f"{index}.png")


@pytest.mark.slow
def test_the_pages_commands_run_as_written(genart_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = App.from_entry_points(only=None)
    make_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = doc_commands()
    assert len(commands) >= 7 and any("<run>" in c for c in commands)
    made = genart_cli(["run", "--model", "vae:image_size=16", "--steps", "2", "-n", "2", "-q"], app=app)
    assert made.exit_code == 0, made.output
    for command in commands:
        runs = sorted((tmp_path / "runs").iterdir(), key=lambda p: p.stat().st_mtime_ns)
        args = [a.replace("runs/<run>", str(runs[-1])) for a in shlex.split(command)[1:]]
        if args[0] == "run":
            args = [f"{a},steps=2" if a.startswith("diffusion") else a for a in args] + ["--steps", "2", "-n", "2"]
        result = genart_cli(args + ["-q"] if args[0] == "run" else args, app=app)
        assert result.exit_code == 0, f"{command}\n{result.output}"
    assert len(read_palette_file(tmp_path / "sheet" / "palette.gpl")) <= 8  # palette:n=8, locked
    for image in (tmp_path / "out").glob("*.png"):  # my.gpl: two greens
        found = {tuple(c) for c in (load_image(image, 3) * 255).round().int().reshape(3, -1).T.tolist()}
        assert found <= {(15, 56, 15), (155, 188, 15)}
    tile, preview = (load_image(folder / "0000.png", 3) for folder in (tmp_path / "big", tmp_path / "check"))
    assert tile.shape[-1] == 64 and preview.shape[-1] == 3 * 64  # x2 of a 32 px sample, then 3x3
