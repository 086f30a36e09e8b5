"""The diffusion model under --compile (aot_eager backend, as in tests/core/test_compile.py): the compiled
step trains like the eager one, and the per-step counter and EMA stay outside the graph (no recompiles)."""

from __future__ import annotations

from typing import Any

import torch

from genart.contract.plugins import App
from genart.loop.train import TrainConfig, train
from genart.runner.pipeline import build_model
from genart.testing import build_context, make_tiny_images

TINY = "diffusion:image_size=28,channels=1,width=8,steps=2"


def test_compiled_step_trains_like_the_eager_one(builtin_app: App, aot_eager: Any) -> None:
    from torch._dynamo.utils import counters

    data = (make_tiny_images(8, 1, 28) * 255).round().to(torch.uint8)
    states = []
    for compile_ in (False, True):
        torch.manual_seed(0)
        model = build_model(build_context(builtin_app), TINY)
        counters.clear()
        result = train(model, data, TrainConfig(steps=4, batch_size=4, progress=False, compile=compile_),
                       device=torch.device("cpu"), checkpoint_path=None)
        assert result.step == 4 and model.step == 4
        states.append(model.state_dict()["ema"])
    assert counters["stats"]["unique_graphs"] <= 3, dict(counters["stats"])  # no graph per step
    for key, value in states[0].items():
        assert torch.allclose(value, states[1][key], atol=1e-4), key
