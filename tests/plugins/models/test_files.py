"""Safety and the one-line errors: malicious pickles, truncated files, other checkpoints; the commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from genart.api import App
from genart.records.recipe import read_recipe


class Payload:
    """What a malicious checkpoint carries: unpickling it would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def malicious(path: Path, marker: Path, model_file: Callable[..., Path]) -> Path:
    from safetensors.torch import load_file

    torch.save({"params_ema": load_file(str(model_file("Compact"))), "payload": Payload(marker)}, path)
    return path


def write_png(path: Path, size: int = 12, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(0)
    if mode == "I;16":
        Image.fromarray(rng.integers(0, 65535, (size, size), dtype=np.uint16)).save(path)
    else:
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def post(genart_cli: Any, app: App, image: Path, spec: str, out: Path) -> Any:
    return genart_cli(["post", str(image), "--post", spec, "--out", str(out)], app=app)


def test_malicious_pickle_runs_no_code(tmp_path: Path, model_file: Callable[..., Path]) -> None:
    """Through the real command line: refused with one line, the payload never runs, nothing is written."""
    marker = tmp_path / "pwned"
    evil = malicious(tmp_path / "evil.pth", marker, model_file)
    image = write_png(tmp_path / "in.png")
    env = {**os.environ, "GENART_MODELS": str(tmp_path / "none")}
    result = subprocess.run([sys.executable, "-m", "genart.cli", "post", str(image), "--post", f"model:file={evil}",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "runs no code" in lines[0] and "convert-weights" in lines[0], result.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_convert_weights_keeps_tensors_and_runs_no_code(builtin_app: App, genart_cli: Any, tmp_path: Path,
                                                        model_file: Callable[..., Path]) -> None:
    marker = tmp_path / "pwned"
    evil = malicious(tmp_path / "evil.pth", marker, model_file)
    result = genart_cli(["convert-weights", str(evil), str(tmp_path / "clean.safetensors")], app=builtin_app)
    assert result.exit_code == 0, result.output
    assert "ignored 1 non-tensor global(s) (io.open)" in result.output
    assert not marker.exists()
    image = write_png(tmp_path / "in.png")
    assert post(genart_cli, builtin_app, image, f"model:file={tmp_path / 'clean.safetensors'}",
                tmp_path / "a").exit_code == 0
    assert post(genart_cli, builtin_app, image, f"model:file={model_file('Compact')}", tmp_path / "b").exit_code == 0
    with Image.open(tmp_path / "a" / "in.png") as a, Image.open(tmp_path / "b" / "in.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    again = genart_cli(["convert-weights", str(evil), str(tmp_path / "clean.safetensors")], app=builtin_app)
    assert again.exit_code == 2 and "already exists" in again.output


def test_convert_plain_pth(builtin_app: App, genart_cli: Any, tmp_path: Path, model_file: Callable[..., Path]) -> None:
    result = genart_cli(["convert-weights", str(model_file("ESRGAN", ".pth")), str(tmp_path / "e.safetensors")],
                        app=builtin_app)
    assert result.exit_code == 0 and "ignored" not in result.output


def _truncated(tmp_path: Path, model_file: Callable[..., Path], suffix: str) -> Path:
    data = model_file("ESRGAN", suffix).read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    return path


def _unknown(tmp_path: Path, model_file: Callable[..., Path]) -> Path:
    path = tmp_path / "mystery.safetensors"
    save_file({"stem.conv.weight": torch.zeros(8, 3, 3, 3), "head.fc.weight": torch.zeros(2, 8)}, str(path))
    return path


def _not_image(tmp_path: Path, model_file: Callable[..., Path]) -> Path:
    path = tmp_path / "text.safetensors"
    save_file({"embed.weight": torch.zeros(100, 16), "lm_head.weight": torch.zeros(100, 16)}, str(path))
    return path


def _torchscript(tmp_path: Path, model_file: Callable[..., Path]) -> Path:
    path = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Conv2d(3, 3, 3)).save(str(path))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda t, m: _truncated(t, m, ".safetensors"), "truncated or not a safetensors file"),
    (lambda t, m: _truncated(t, m, ".pth"), "truncated or damaged"),
    (_unknown, "unknown architecture"),
    (_not_image, "not an image model"),
    (_torchscript, "TorchScript program"),
    (lambda t, m: (t / "empty.pth").write_bytes(b"") or t / "empty.pth", "empty file"),
])
def test_bad_files_are_one_line_and_write_nothing(builtin_app: App, genart_cli: Any, tmp_path: Path,
                                                  model_file: Callable[..., Path], make: Any, message: str) -> None:
    bad = make(tmp_path, model_file)
    result = post(genart_cli, builtin_app, write_png(tmp_path / "in.png"), f"model:file={bad}", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_scale_disagreement_on_the_command_line(builtin_app: App, genart_cli: Any, tmp_path: Path,
                                                model_file: Callable[..., Path]) -> None:
    result = post(genart_cli, builtin_app, write_png(tmp_path / "in.png"),
                  f"model:file={model_file('ESRGAN')},scale=2", tmp_path / "out")
    assert result.exit_code == 2 and "scale=2 disagrees" in result.output and not (tmp_path / "out").exists()


def test_recipe_records_the_model_and_reproduce_finds_it(builtin_app: App, genart_cli: Any, tmp_path: Path,
                                                         model_file: Callable[..., Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "2x-span.safetensors").write_bytes(model_file("SPAN").read_bytes())
    monkeypatch.setenv("GENART_MODELS", str(folder))
    image = write_png(tmp_path / "in.png")
    assert post(genart_cli, builtin_app, image, "model:file=2x-span", tmp_path / "out").exit_code == 0
    recipe = read_recipe(tmp_path / "out" / "in.png")
    params = recipe["post_params"]["model:file=2x-span"]
    from genart_models.files import sha256_of

    digest = sha256_of(folder / "2x-span.safetensors")
    assert params["architecture"] == "SPAN" and params["scale"] == 2 and params["sha256"] == digest
    assert recipe["files"][str((folder / "2x-span.safetensors").resolve())]["sha256"] == digest
    result = genart_cli(["reproduce", str(tmp_path / "out" / "in.png"), "--out", str(tmp_path / "again")],
                        app=builtin_app)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again" / "in.png").read_bytes() == (tmp_path / "out" / "in.png").read_bytes()


def test_sixteen_bit_grey_stays_sixteen_bit(builtin_app: App, genart_cli: Any, tmp_path: Path,
                                            model_file: Callable[..., Path]) -> None:
    image = write_png(tmp_path / "deep.png", mode="I;16")
    assert post(genart_cli, builtin_app, image, f"model:file={model_file('Compact')}", tmp_path / "out").exit_code == 0
    with Image.open(tmp_path / "out" / "deep.png") as result:
        assert result.mode.startswith("I") and result.size == (48, 48)
        assert len(np.unique(np.asarray(result))) > 256  # more levels than 8 bits can hold


def test_models_command(builtin_app: App, genart_cli: Any, tmp_path: Path, model_file: Callable[..., Path],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "4x-esrgan.pth").write_bytes(model_file("ESRGAN", ".pth").read_bytes())
    (folder / "broken.safetensors").write_bytes(b"not a model")
    (folder / "notes.txt").write_text("ignored")
    monkeypatch.setenv("GENART_MODELS", str(folder))
    result = genart_cli(["models", "--json"], app=builtin_app)
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in rows] == ["4x-esrgan.pth", "broken.safetensors"]
    assert rows[0]["architecture"] == "ESRGAN" and rows[0]["scale"] == 4 and rows[0]["licence"].startswith("permissive")
    assert len(rows[0]["sha256"]) == 64 and "truncated" in rows[1]["error"]
    text = genart_cli(["models"], app=builtin_app).output
    assert "ESRGAN x4" in text and "unusable" in text


def test_a_large_output_is_written_band_by_band_with_the_same_pixels(builtin_app: App, genart_cli: Any,
                                                                     tmp_path: Path,
                                                                     model_file: Callable[..., Path]) -> None:
    """Tiles of 16 px make a 40 px image three rows of tiles: three bands into the PNG, each pixel the one
    the whole tiled result has (the same tiles, the same arithmetic)."""
    from genart.images import load_image, tensor_to_pil
    from genart.testing import build_context

    image = write_png(tmp_path / "in.png", size=40)
    spec = f"model:file={model_file('ESRGAN')},tile=16"
    assert post(genart_cli, builtin_app, image, spec, tmp_path / "out").exit_code == 0
    whole = build_context(builtin_app).build("post", spec)(load_image(image)[None])[0]
    with Image.open(tmp_path / "out" / "in.png") as written:
        assert written.size == (160, 160)
        assert np.array_equal(np.asarray(written), np.asarray(tensor_to_pil(whole)))
        assert "model:file=" in written.text["genart"]
