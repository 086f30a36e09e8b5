"""--compile: the training step goes through torch.compile, trains as in eager mode, and fails in one line.

The tests use torch.compile's ``aot_eager`` backend: it traces with dynamo and AOTAutograd exactly as
the default backend does (graph breaks, autocast, double-backward limits) without minutes of C++
compilation on a 2-core CI machine. benchmarks/speed.py measures the real (inductor) speed-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.errors import GenartError
from genart.loop.train import TrainConfig, train
from genart.runner.pipeline import build_model, load_data
from genart.testing import build_context


def trained_weights(app: App, spec: str, compile_step: bool) -> torch.Tensor:
    torch.manual_seed(0)
    context = build_context(app)
    model = build_model(context, spec)
    data = load_data(context, "dots", 8, 3)
    train(model, data, TrainConfig(steps=4, batch_size=4, progress=False, compile=compile_step),
          device=context.device, checkpoint_path=None)
    return torch.cat([p.detach().flatten() for p in model.net.parameters()])


def test_compiled_step_trains_like_eager(toy_app: App, aot_eager: list[Any]) -> None:
    eager = trained_weights(toy_app, "toy:deterministic=true", compile_step=False)
    assert not aot_eager
    compiled = trained_weights(toy_app, "toy:deterministic=true", compile_step=True)
    assert len(aot_eager) == 1, "the step went through torch.compile once"
    assert torch.allclose(eager, compiled, rtol=1e-5, atol=1e-6)


def test_compile_flag_is_recorded(genart_cli: Any, toy_app: App, tmp_path: Path, aot_eager: list[Any]) -> None:
    result = genart_cli(["train", "--model", "toy", "--data", "dots", "--steps", "3", "--compile", "-q",
                         "--out", str(tmp_path)], app=toy_app)
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "manifest.json").read_text())["train"]["compile"] is True
    assert aot_eager


def test_compiler_failure_is_one_line(toy_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from torch._inductor.exc import InvalidCxxCompiler

    def broken_compile(fn: Any, **kwargs: Any) -> Any:
        def call(*args: Any) -> Any:
            raise InvalidCxxCompiler()  # what inductor raises on a machine without g++
        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    context = build_context(toy_app)
    model = build_model(context, "toy")
    data = load_data(context, "dots", 8, 3)
    with pytest.raises(GenartError, match="--compile failed .*C\\+\\+ compiler.*run without --compile"):
        train(model, data, TrainConfig(steps=2, batch_size=4, progress=False, compile=True),
              device=context.device, checkpoint_path=None)
