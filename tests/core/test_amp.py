"""Loss scaling (fp16) and the precision choice: scaled training equals unscaled, overflow skips a step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genart.contract.plugins import App
from genart.loop.amp import LossScaler
from genart.loop.checkpoints import restore_checkpoint
from genart.loop.device import resolve_precision
from genart.loop.train import TrainConfig, train
from genart.runner.pipeline import build_model, load_data
from genart.testing import build_context


def trained(toy_app: App, spec: str, steps: int, loss_scale: float = 0.0, tmp: Path | None = None) -> tuple:
    torch.manual_seed(0)
    context = build_context(toy_app, loss_scale=loss_scale)
    model = build_model(context, spec)
    data = load_data(context, "dots", 8, 3)
    config = TrainConfig(steps=steps, batch_size=4, progress=False, scaler=context.scaler, checkpoint_every=0)
    train(model, data, config, device=context.device, checkpoint_path=tmp)
    return model, context.scaler


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.net.parameters()])


def test_disabled_scaler_is_a_pass_through() -> None:
    scaler = LossScaler()
    loss = torch.tensor(3.0, requires_grad=True)
    assert scaler.scale_loss(loss) is loss and scaler.scale == 1.0
    scaler.update()
    assert scaler.state_dict()["scale"] == 1.0


def test_scaled_training_matches_unscaled(toy_app: App) -> None:
    plain, _ = trained(toy_app, "toy", 10)
    scaled, scaler = trained(toy_app, "toy", 10, loss_scale=2.0**16)
    assert scaler.enabled and scaler.skipped_steps == 0
    assert torch.allclose(weights(plain), weights(scaled), rtol=1e-5, atol=1e-6)
    assert not torch.equal(weights(plain), weights(build_model(build_context(toy_app), "toy"))), "it trained"


def test_overflow_skips_the_step_and_halves_the_scale(toy_app: App) -> None:
    model, scaler = trained(toy_app, "toy:spike=3", 6, loss_scale=2.0**16)
    assert scaler.skipped_steps == 1 and scaler.scale == 2.0**15
    assert torch.isfinite(weights(model)).all()
    unscaled, _ = trained(toy_app, "toy:spike=3", 6)  # without scaling the 1e35 loss wrecks the weights
    assert not torch.allclose(weights(model), weights(unscaled), rtol=1e-3)


def test_scale_grows_after_a_quiet_spell() -> None:
    scaler = LossScaler(enabled=True, init_scale=4.0, growth_interval=3)
    for _ in range(3):
        scaler.update()
    assert scaler.scale == 8.0 and scaler.good_steps == 0


def test_scaler_state_is_checkpointed_and_resumed(toy_app: App, tmp_path: Path) -> None:
    straight, straight_scaler = trained(toy_app, "toy:spike=2", 8, loss_scale=2.0**16)
    checkpoint = tmp_path / "checkpoint.safetensors"
    trained(toy_app, "toy:spike=2", 4, loss_scale=2.0**16, tmp=checkpoint)
    context = build_context(toy_app, loss_scale=2.0**16)
    model = build_model(context, "toy:spike=2")
    start = restore_checkpoint(model, checkpoint, context.scaler)
    assert start == 4 and context.scaler.scale == 2.0**15 and context.scaler.skipped_steps == 1
    model.steps = start  # the toy counts its own steps for the spike
    data = load_data(context, "dots", 8, 3)
    train(model, data, TrainConfig(steps=8, batch_size=4, progress=False, scaler=context.scaler),
          device=context.device, checkpoint_path=None, start_step=start)
    assert torch.allclose(weights(model), weights(straight), rtol=1e-6, atol=1e-7)
    assert context.scaler.scale == straight_scaler.scale


def test_auto_precision_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.loop.device as device_module

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", torch.device("cuda")) == torch.float16, "older GPUs: fp16 + loss scaling"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) is None
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == torch.bfloat16
    assert resolve_precision("fp32", torch.device("cpu")) is None
