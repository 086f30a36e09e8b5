"""The gan under --compile: it opts out (eager training), and its double-backward penalties are marked
to run eagerly for anyone who compiles its step anyway (aot_eager backend, as in tests/core/test_compile.py)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.loop.train import TrainConfig, compiled_step, train
from genart.runner.pipeline import build_model
from genart.testing import build_context, make_tiny_images

TINY = "gan:image_size=28,channels=1,width=4,latent=8"


def test_gan_opts_out_of_compile(builtin_app: App, capsys: pytest.CaptureFixture[str]) -> None:
    model = build_model(build_context(builtin_app), TINY)
    assert compiled_step(model) == model.train_step
    assert "opts out" in capsys.readouterr().err
    data = (make_tiny_images(8, 1, 28) * 255).round().to(torch.uint8)
    result = train(model, data, TrainConfig(steps=2, batch_size=4, progress=False, compile=True),
                   device=torch.device("cpu"), checkpoint_path=None)
    assert result.step == 2


def test_gan_penalties_run_eagerly_when_the_step_is_compiled(builtin_app: App, aot_eager: Any) -> None:
    """R1 and WGAN-GP take double-backward gradients, which compiled graphs cannot; they are marked
    ``torch.compiler.disable``, so compiling the step still trains."""
    torch.manual_seed(0)
    model = build_model(build_context(builtin_app), f"{TINY},r1_every=1")  # (WGAN-GP's penalty: same marker)
    losses = torch.compile(model.train_step)(make_tiny_images(4, 1, 28))
    assert "r1" in losses and all(torch.isfinite(torch.tensor(float(v))) for v in losses.values())
