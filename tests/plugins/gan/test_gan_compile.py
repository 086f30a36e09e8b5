"""The gan under --compile (aot_eager backend, as in tests/core/test_compile.py)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from genart.pipeline import build_model
from genart.plugins import App
from genart.testing import build_context
from genart.train import TrainConfig, train


@pytest.fixture
def aot_eager(monkeypatch: pytest.MonkeyPatch) -> Any:
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: real(fn, backend="aot_eager"))
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_gan_penalties_run_eagerly_under_compile(builtin_app: App, aot_eager: Any) -> None:
    """R1 and WGAN-GP take double-backward gradients, which compiled graphs cannot; they are marked
    to run eagerly, so the GAN trains under --compile."""
    from genart.testing import make_tiny_images

    for options in ("r1_every=1", "loss=wgan-gp"):
        torch.manual_seed(0)
        context = build_context(builtin_app)
        model = build_model(context, f"gan:image_size=28,channels=1,width=4,latent=8,{options}")
        data = (make_tiny_images(8, 1, 28) * 255).round().to(torch.uint8)
        result = train(model, data, TrainConfig(steps=2, batch_size=4, progress=False, compile=True),
                       device=context.device, checkpoint_path=None)
        assert result.step == 2 and all(torch.isfinite(torch.tensor(v)) for v in result.losses.values())
