"""Exact resume with the settings users get: every built-in model, interrupted by Ctrl-C at a step and
resumed with ``genart run --resume``, ends with the same checkpoint bytes and sample files as a run that
was never interrupted.

The defaults matter: on a CPU with bf16 instructions (or any CUDA card) ``auto`` means bf16 autocast and
channels_last weights, and the VAE's Adam is the fused kernel, which walks a moment tensor's memory in
its parameter's order. A checkpoint that restored the moments contiguous while the weights are
channels_last paired them wrongly and the resumed run drifted; this test exists to catch that. (It also
caught safetensors writing its header in a random order, which made equal states differ in bytes.)
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

import genart.loop.train
from genart.contract.plugins import App
from genart.images import save_image
from genart.records.runs import CHECKPOINT
from genart.testing import make_tiny_images

#: (model spec, data spec or None for the patch folder, steps); tiny sizes, default precision and layout
CASES = {
    "vae": ("vae:image_size=16,latent=4", "shapes:count=32", 9),
    "gan": ("gan:image_size=28", "shapes:count=32", 7),
    # class-conditional: labels, label dropout and the class embedding's Adam state come back exactly
    "diffusion-labelled": ("diffusion:image_size=28,width=8,steps=2", "shapes:count=32,labels=largest", 7),
    "restorer-trainer": ("restorer-trainer:task=denoise,patch=16,width=4,depth=1", None, 7),
    "sr-trainer": ("sr-trainer:scales=2,patch=16,width=4,depth=1", None, 7),
}


@pytest.fixture(scope="module")
def patch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("patches")
    for index, image in enumerate(make_tiny_images(n=3, channels=3, size=40, seed=5)):
        save_image(image, folder / f"{index}.png")
    return folder


def outputs(run: Path) -> dict[str, bytes]:
    """Everything a finished run wrote that must not depend on the interruption: the checkpoint's bytes,
    and the pixels of the PNGs (their recipe chunk records the command, which names --resume)."""
    from PIL import Image

    def pixels(file: Path) -> bytes:
        with Image.open(file) as image:
            return f"{image.mode} {image.size}".encode() + image.tobytes()

    files = [run / "grid.png", *sorted((run / "samples").glob("*.png"))]
    return {CHECKPOINT: (run / CHECKPOINT).read_bytes(), **{str(f.relative_to(run)): pixels(f) for f in files}}


def interrupt_at(monkeypatch: pytest.MonkeyPatch, stop_after: int) -> None:
    """Press Ctrl-C (a real SIGINT to this process) while step ``stop_after`` runs."""
    real = genart.loop.train.batch_indices

    def indices(step: int, *args: Any, **kwargs: Any) -> Any:
        if step == stop_after - 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real(step, *args, **kwargs)

    monkeypatch.setattr(genart.loop.train, "batch_indices", indices)


@pytest.mark.parametrize("name", list(CASES))
def test_interrupted_and_resumed_equals_uninterrupted(name: str, builtin_app: App, genart_cli: Any,
                                                      tmp_path: Path, patch_folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model, data, steps = CASES[name]
    data = data or f"patches:path={patch_folder},count=24"
    args = ["run", "--model", model, "--data", data, "--steps", str(steps), "--batch-size", "4", "-n", "3",
            "--seed", "3", "--checkpoint-every", "0", "-q"]

    straight = genart_cli([*args, "--out", str(tmp_path / "a")], app=builtin_app)
    assert straight.exit_code == 0, straight.output
    (straight_run,) = (tmp_path / "a").iterdir()

    stop_after = random.Random(name).randint(1, steps - 1)
    with monkeypatch.context() as patch:
        interrupt_at(patch, stop_after)
        stopped = genart_cli([*args, "--out", str(tmp_path / "b")], app=builtin_app)
    assert stopped.exit_code != 0 and f"interrupted at step {stop_after}" in stopped.output, stopped.output
    (resumed_run,) = (tmp_path / "b").iterdir()
    torch.manual_seed(12345)  # a new process starts from another RNG state
    resumed = genart_cli(["run", "--resume", str(resumed_run), "-q"], app=builtin_app)
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming at step {stop_after}" in resumed.output

    expected, got = outputs(straight_run), outputs(resumed_run)
    assert list(got) == list(expected)
    different = [file for file in expected if expected[file] != got[file]]
    assert not different, f"{name}: resumed at step {stop_after}, these differ: {different}"
