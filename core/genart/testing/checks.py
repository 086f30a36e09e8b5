"""Contract checks for plugin authors: plain functions a plugin's tests call on its built components.

One calling convention: the built component first, options by keyword; a check that must build the
component several times (to compare runs) takes the App and the spec instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract.plugins import App


def make_tiny_images(n: int = 4, channels: int = 3, size: int | tuple[int, int] = 16, seed: int = 0) -> Any:
    """Smooth random images with edges (not white noise), so filters have something to work on."""
    import torch
    import torch.nn.functional as F

    h, w = (size, size) if isinstance(size, int) else size
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, max(2, h // 4), max(2, w // 4), generator=generator)
    images = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    ramp = torch.linspace(0, 1, w).view(1, 1, 1, w)
    images = torch.where(images > 0.5, images, images * ramp)
    if channels in (2, 4):
        images[:, -1:] = (torch.rand(n, 1, h, w, generator=generator) > 0.3).float()
    return images.clamp(0, 1)


def build_context(app: App, device: str = "cpu", loss_scale: float = 0.0) -> Any:
    """A context for building components in tests. ``loss_scale`` > 0 turns on fp16-style loss scaling
    (in fp32), so a CPU test can check that a model routes its backward and step through the scaler:
    trained with and without it, the weights must agree."""
    import torch

    from ..contract.components import BuildContext
    from ..loop.amp import LossScaler

    scaler = LossScaler(enabled=loss_scale > 0, init_scale=loss_scale or 1.0)
    return BuildContext(registry=app.registry, device=torch.device(device), scaler=scaler)


# -- contract checks ------------------------------------------------------------------------------
def check_post_processor(processor: Callable[[Any], Any], channels: tuple[int, ...] = (1, 3, 4),
                         sizes: tuple[tuple[int, int], ...] = ((16, 16), (7, 13), (1, 1), (33, 20))) -> None:
    """A post-processor keeps values in [0, 1], accepts any size and channel count it claims, keeps the
    batch size, and is deterministic."""
    import torch

    for c in channels:
        for h, w in sizes:
            images = make_tiny_images(2, c, (h, w), seed=h * 31 + w)
            out = processor(images.clone())
            assert isinstance(out, torch.Tensor), f"returned {type(out).__name__} for {c}x{h}x{w}"
            assert out.dim() == 4 and out.shape[0] == 2, f"bad output shape {tuple(out.shape)} for {c}x{h}x{w}"
            assert torch.isfinite(out).all(), f"non-finite output for {c}x{h}x{w}"
            assert out.min() >= 0 and out.max() <= 1, f"values outside [0,1] for {c}x{h}x{w}"
            again = processor(images.clone())
            assert torch.equal(out, again), f"not deterministic for {c}x{h}x{w}"
            if c in (2, 4):
                assert out.shape[1] == c, "alpha channel lost"


def check_model(model: Any, steps: int = 2, batch_size: int = 4) -> None:
    """A model trains (finite scalar losses), finishes training (``finish_training``, when it has it),
    samples in [0, 1] at its image shape, samples
    deterministically, and survives a checkpoint round trip (same state -> same samples)."""
    import math
    import tempfile
    from pathlib import Path

    import torch

    from ..records.runs import load_checkpoint, save_checkpoint

    c, h, w = model.image_shape
    batch = make_tiny_images(batch_size, c, (h, w), seed=1)
    for _ in range(steps):
        losses = model.train_step(batch)
        assert isinstance(losses, dict) and losses, "train_step must return a non-empty dict"
        assert all(math.isfinite(float(v)) for v in losses.values()), f"non-finite losses {losses}"
    finish = getattr(model, "finish_training", None)
    if callable(finish):  # as the loop calls it: once training stops, with the (uint8) training images
        finish((batch * 255).round().to(torch.uint8))
    with torch.inference_mode():
        first = model.sample(3, torch.Generator().manual_seed(5))
        second = model.sample(3, torch.Generator().manual_seed(5))
    assert tuple(first.shape) == (3, c, h, w), f"sample shape {tuple(first.shape)} != {(3, c, h, w)}"
    assert first.min() >= 0 and first.max() <= 1, "samples outside [0,1]"
    assert torch.equal(first, second), "samples differ for the same generator seed"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.safetensors"
        save_checkpoint(path, model.state_dict())
        model.train_step(batch)  # move away from the saved state
        state, _ = load_checkpoint(path)
        model.load_state_dict(state)
    with torch.inference_mode():
        restored = model.sample(3, torch.Generator().manual_seed(5))
    assert torch.allclose(first, restored, atol=1e-6), "load_state_dict did not restore the model"


def check_loss_scaling(app: App, spec: str, steps: int = 3, batch_size: int = 4, scale: float = 2.0**12) -> None:
    """A model routes every backward and optimiser step through ``context.scaler``, so it trains
    correctly under fp16 loss scaling: trained on the same batches with and without a (power-of-two)
    scale, in fp32, its whole state must agree. A model that calls ``loss.backward()`` itself fails."""
    import torch

    states = []
    for loss_scale in (0.0, scale):
        torch.manual_seed(0)
        context = build_context(app, loss_scale=loss_scale)
        model = context.build("model", spec)
        calls = _count_calls(context.scaler, ("backward", "step"))
        c, h, w = model.image_shape
        for step in range(steps):
            torch.manual_seed(100 + step)
            model.train_step(make_tiny_images(batch_size, c, (h, w), seed=step))
            context.scaler.update()
        assert context.scaler.skipped_steps == 0, "no step should overflow at this scale"
        assert calls["backward"] >= steps and calls["step"] >= steps, \
            f"train_step must call context.scaler.backward(loss) and context.scaler.step(optimizer) ({calls})"
        states.append(_flat_tensors(model.state_dict()))
    assert states[0].keys() == states[1].keys()
    for key, plain in states[0].items():
        scaled = states[1][key]
        if plain.is_floating_point():
            assert torch.allclose(plain, scaled, rtol=1e-4, atol=1e-6), \
                f"{key} differs with loss scaling: the model bypasses context.scaler"


def _count_calls(target: Any, names: tuple[str, ...]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for name in names:
        method = getattr(target, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _method(*args, **kwargs)

        setattr(target, name, counted)
    return counts


def _flat_tensors(state: Any, prefix: str = "") -> dict[str, Any]:
    import torch

    flat: dict[str, Any] = {}
    if isinstance(state, dict):
        for key, value in state.items():
            flat.update(_flat_tensors(value, f"{prefix}{key}."))
    elif isinstance(state, (list, tuple)):
        for index, value in enumerate(state):
            flat.update(_flat_tensors(value, f"{prefix}{index}."))
    elif isinstance(state, torch.Tensor):
        flat[prefix.rstrip(".")] = state.detach().cpu()
    return flat


def check_dataset(dataset: Any, size: int = 16, channels: int = 3, *, count: int | None = None) -> None:
    """A dataset yields uint8 [N, C, size, size] for each channel count, the same on every call.

    Build it with a small count (``stripes:count=4``) so the check is quick, and pass ``count`` to
    check it yields exactly that many images."""
    import torch

    for c in sorted({channels, 1, 3}):
        images = dataset.load(size, c)
        assert isinstance(images, torch.Tensor) and images.dtype == torch.uint8, "load must return uint8"
        assert images.dim() == 4 and tuple(images.shape[1:]) == (c, size, size), f"bad shape {tuple(images.shape)}"
        assert images.shape[0] > 0, "dataset is empty"
        assert count is None or images.shape[0] == count, f"{images.shape[0]} images, expected count={count}"
        assert torch.equal(images, dataset.load(size, c)), "load is not deterministic"


def check_latent(model: Any, *, n: int = 3) -> None:
    """A model's latent methods: ``decode`` maps ``[n, *latent_shape]`` to images in [0, 1] at its image
    shape, deterministically; with ``encode`` too, images map to latents of ``latent_shape`` that decode."""
    import torch

    from ..contract.protocols import Encoder, LatentDecoder

    c, h, w = model.image_shape
    assert isinstance(model, LatentDecoder), "a latent model needs latent_shape and decode(z)"
    shape = tuple(int(d) for d in model.latent_shape)
    z = torch.randn(n, *shape, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        images, again = model.decode(z), model.decode(z)
    assert tuple(images.shape) == (n, c, h, w), f"decode gave {tuple(images.shape)}"
    assert images.min() >= 0 and images.max() <= 1, "decoded images outside [0,1]"
    assert torch.equal(images, again), "decode is not deterministic"
    if isinstance(model, Encoder):
        with torch.inference_mode():
            latents = model.encode(make_tiny_images(n, c, (h, w), seed=4))
            assert tuple(latents.shape) == (n, *shape), f"encode gave {tuple(latents.shape)}, not {(n, *shape)}"
            assert torch.isfinite(latents).all(), "encode gave non-finite latents"
            assert tuple(model.decode(latents).shape) == (n, c, h, w), "encoded latents do not decode"


def make_tiny_run(app: App, folder: Path, model: str, data: str, *, steps: int = 2, batch_size: int = 4,
                  num_samples: int = 4, seed: int = 0) -> Path:
    """Train ``model`` on ``data`` for a few steps into a run folder under ``folder`` (on the CPU, fp32,
    no progress bar): a real run folder to test commands that read one (``sample``, ``walk``, ...)."""
    from ..runner.jobs import train_job
    from ..runner.settings import RunSettings

    settings = RunSettings(model=model, data=data, steps=steps, batch_size=batch_size, num_samples=num_samples,
                           seed=seed, device="cpu", precision="fp32", out=str(folder), progress=False)
    return train_job(app, settings)
