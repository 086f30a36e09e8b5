"""``genart walk --label``: within one class, between two, and the one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import genart_labelled_plugin
import numpy as np
import pytest
import torch
from PIL import Image

from genart.contract.plugins import App
from genart.images import load_image
from genart.testing import make_tiny_run


@pytest.fixture
def app() -> App:
    app = App.from_entry_points(only=["explore"])
    app.register(genart_labelled_plugin, "labelled")
    return app


@pytest.fixture
def run(app: App, tmp_path: Path) -> Path:
    return make_tiny_run(app, tmp_path / "runs", "toy-cond", "tiles:count=12", steps=60, batch_size=6)


def frames_of(path: Path) -> list[torch.Tensor]:
    out = []
    with Image.open(path) as animation:
        for index in range(animation.n_frames):
            animation.seek(index)
            pixels = torch.from_numpy(np.asarray(animation.convert("RGB"), dtype=np.float32))
            out.append(pixels.mean((0, 1)))
    return out


def test_a_walk_within_a_class_stays_in_it(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    out = tmp_path / "red.gif"
    result = genart_cli(["walk", str(run), "--label", "red", "--frames", "6", "--size", "8", "--out", str(out)],
                        app=app)
    assert result.exit_code == 0, result.output
    assert all(int(frame.argmax()) == 0 for frame in frames_of(out))


def test_a_walk_between_two_classes_blends_them(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    out = tmp_path / "rb.gif"
    result = genart_cli(["walk", str(run), "--label", "red", "--label", "blue", "--frames", "8", "--size", "8",
                         "--columns", "5", "--out", str(out)], app=app)
    assert result.exit_code == 0, result.output
    frames = frames_of(out)
    assert int(frames[0].argmax()) == 0 and int(frames[4].argmax()) == 2  # red, then blue halfway round
    grid = load_image(tmp_path / "rb-grid.png")
    left, right = grid[:, 2:10, 2:10].mean((1, 2)), grid[:, 2:10, -10:-2].mean((1, 2))
    assert int(left.argmax()) == 0 and int(right.argmax()) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--label", "red", "--label", "green", "--label", "blue"], "not 3"),
    (["--label", "purple"], "red, green, blue"),
    (["--guidance", "2"], "no guidance scale"),
])
def test_walk_label_errors(genart_cli: Any, app: App, run: Path, tmp_path: Path, args: list[str],
                           message: str) -> None:
    result = genart_cli(["walk", str(run), *args, "--out", str(tmp_path / "w.gif")], app=app)
    assert result.exit_code == 2 and message in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_walk_label_needs_a_labelled_run(genart_cli: Any, app: App, tmp_path: Path) -> None:
    plain = make_tiny_run(app, tmp_path / "runs", "toy-cond", "tiles:labelled=false", steps=2)
    result = genart_cli(["walk", str(plain), "--label", "0", "--out", str(tmp_path / "w.gif")], app=app)
    assert result.exit_code == 2 and "trained without labels" in result.output
