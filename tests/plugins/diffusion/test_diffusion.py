"""The diffusion model and its samplers: contracts, exact resume, sampler accuracy, third-party samplers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

import genart
from genart.contract.plugins import App
from genart.loop.checkpoints import restore_checkpoint
from genart.loop.train import TrainConfig, train
from genart.testing import build_context, check_loss_scaling, check_model, make_tiny_images
from genart_diffusion.nets import UNet, default_levels
from genart_diffusion.samplers import EulerSampler, HeunSampler, StochasticSampler, edm_sigmas

TINY = "diffusion:image_size=28,channels=1,width=8"


def build(app: App, spec: str) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


def tiny_data(n: int = 8, channels: int = 1, size: int = 28) -> torch.Tensor:
    return (make_tiny_images(n, channels, size, seed=3) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("options", ["objective=flow", "objective=edm,sampler=euler",
                                     "sampler=stochastic,attention=0,depth=2"])
def test_contract(builtin_app: App, options: str) -> None:
    check_model(build(builtin_app, f"{TINY},steps=4,{options}"), steps=2, batch_size=4)


def test_contract_colour_sizes(builtin_app: App) -> None:
    check_model(build(builtin_app, "diffusion:image_size=32,channels=3,width=8,steps=2"), steps=1)
    for size in (30, 64):  # odd grids on the way down (30 -> 15 -> 8) must come back to the skip sizes
        net = UNet(3, size, width=8)
        x = torch.randn(2, 3, size, size)
        assert net(x, torch.rand(2)).shape == x.shape
    assert [default_levels(s) for s in (28, 32, 64, 128)] == [3, 3, 4, 5]


def test_loss_scaling(builtin_app: App) -> None:
    check_loss_scaling(builtin_app, f"{TINY},steps=2")


@pytest.mark.parametrize("objective", ["flow", "edm"])
def test_resume_is_exact(builtin_app: App, tmp_path: Path, objective: str) -> None:
    spec = f"{TINY},objective={objective}"
    data = tiny_data(8)
    config = TrainConfig(steps=4, batch_size=4, seed=5, checkpoint_every=0, progress=False)
    device = torch.device("cpu")
    straight = build(builtin_app, spec)
    torch.manual_seed(5)
    train(straight, data, config, device=device, checkpoint_path=None)
    first = build(builtin_app, spec)
    torch.manual_seed(5)
    # the 4-step run stopped after 2 (its learning rate decays over all 4): keep the step-2 checkpoint
    def keep_step_two(step: int) -> None:
        if step == 2:
            shutil.copy(tmp_path / "b.safetensors", tmp_path / "a.safetensors")

    at_two = TrainConfig(steps=4, batch_size=4, seed=5, checkpoint_every=2, progress=False)
    train(first, data, at_two, device=device, checkpoint_path=tmp_path / "b.safetensors", on_checkpoint=keep_step_two)
    torch.manual_seed(123)  # disturb the RNG: the checkpoint must restore it
    resumed = build(builtin_app, spec)
    assert restore_checkpoint(resumed, tmp_path / "a.safetensors") == 2
    train(resumed, data, config, device=device, checkpoint_path=None, start_step=2)
    for part in ("net", "ema"):
        for key, value in straight.state_dict()[part].items():
            assert torch.equal(value, resumed.state_dict()[part][key]), f"{part}.{key}"
    assert resumed.step == straight.step == 4


def test_ema_is_what_sampling_uses(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},steps=2,ema=0.9")
    batch = make_tiny_images(4, 1, 28, seed=1)
    for _ in range(3):
        model.train_step(batch)
    assert any(not torch.equal(a, b) for a, b in zip(model.ema.parameters(), model.net.parameters(), strict=True))
    with torch.inference_mode():
        before = model.sample(2, torch.Generator().manual_seed(1))
        model.net.apply(lambda m: [p.data.zero_() for p in m.parameters(recurse=False)])  # raw net: irrelevant
        after = model.sample(2, torch.Generator().manual_seed(1))
    assert torch.equal(before, after)


def test_sample_steps_change_the_cost_and_keep_seeds(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},steps=2")
    calls = []
    predict = model.predict
    model.predict = lambda net, x, sigma: calls.append(1) or predict(net, x, sigma)
    with torch.inference_mode():
        a = model.sample(2, torch.Generator().manual_seed(3))
        b = model.sample(2, torch.Generator().manual_seed(3))
        c = model.sample(2, torch.Generator().manual_seed(4))
    assert len(calls) == 3 * 3  # Heun steps (the default stochastic sampler's too): 2 per step, 1 for the last
    assert torch.equal(a, b) and not torch.equal(a, c)


# -- samplers on a denoiser whose ODE has a closed form ---------------------------------------------
MEAN, STD = 0.3, 0.2


def gaussian_denoiser(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """E[x0 | x] for x0 ~ N(MEAN, STD^2) per pixel: the exact denoiser of Gaussian data."""
    return MEAN + STD ** 2 / (STD ** 2 + sigma ** 2) * (x - MEAN)


def exact_flow(x_start: torch.Tensor, sigma_max: float) -> torch.Tensor:
    """The probability-flow ODE of Gaussian data moves x linearly in its standard score."""
    return MEAN + (x_start - MEAN) * STD / (STD ** 2 + sigma_max ** 2) ** 0.5


def test_edm_schedule() -> None:
    sigmas = edm_sigmas(10, 0.002, 80.0)
    assert len(sigmas) == 11 and sigmas[-1] == 0
    assert sigmas[0] == pytest.approx(80.0) and sigmas[-2] == pytest.approx(0.002)
    assert all(a > b for a, b in zip(sigmas, sigmas[1:], strict=False))


def test_ode_samplers_follow_the_exact_flow_and_heun_is_second_order() -> None:
    x = torch.randn(256, generator=torch.Generator().manual_seed(0)) * 80
    target = exact_flow(x, 80.0)

    def error(sampler: Any, steps: int) -> float:
        return float((sampler(gaussian_denoiser, x, edm_sigmas(steps, 0.002, 80.0)) - target).abs().max())

    heun, euler = HeunSampler(), EulerSampler()
    assert error(heun, 50) < 0.05 * STD
    assert error(heun, 50) * 4 < error(euler, 50) < 0.5 * STD
    assert error(heun, 100) < error(heun, 50) / 3  # halving the step size: about 4x less error
    assert error(euler, 100) > error(euler, 50) / 3  # first order: about 2x


def test_stochastic_sampler_keeps_the_distribution_and_is_seeded() -> None:
    x = torch.randn(4096, generator=torch.Generator().manual_seed(0)) * 80
    sampler = StochasticSampler(churn=10, s_min=0.05, s_max=50, s_noise=1.0)
    sigmas = edm_sigmas(32, 0.002, 80.0)
    out = sampler(gaussian_denoiser, x, sigmas, torch.Generator().manual_seed(1))
    again = sampler(gaussian_denoiser, x, sigmas, torch.Generator().manual_seed(1))
    other = sampler(gaussian_denoiser, x, sigmas, torch.Generator().manual_seed(2))
    assert torch.equal(out, again) and not torch.equal(out, other)
    assert float(out.mean()) == pytest.approx(MEAN, abs=0.02)
    assert float(out.std()) == pytest.approx(STD, rel=0.05)


class CountingSampler:
    """A third party's sampler: one Euler step straight from sigma_max to 0."""

    deterministic = True
    calls = 0

    def __call__(self, denoise: Any, x: torch.Tensor, sigmas: list[float], generator: Any = None) -> torch.Tensor:
        CountingSampler.calls += 1
        return denoise(x, sigmas[0])


class SamplerPlugin:
    @genart.hookimpl
    def register_components(self, register: Any) -> None:
        register("sampler", "one-shot", lambda params, context: CountingSampler(),
                 description="one denoiser call")


def test_a_plugin_can_add_a_sampler(builtin_app: App, register_plugin: Any) -> None:
    register_plugin(SamplerPlugin(), "one-shot-sampler", app=builtin_app)
    model = build(builtin_app, f"{TINY},sampler=one-shot")
    with torch.inference_mode():
        images = model.sample(2, torch.Generator().manual_seed(0))
        model.decode(torch.randn(1, 1, 28, 28))  # deterministic: walks use it too
    assert images.shape == (2, 1, 28, 28) and CountingSampler.calls == 2


def test_unknown_sampler_is_a_clear_error(builtin_app: App) -> None:
    with pytest.raises(genart.UsageError, match="unknown sampler 'heunn'.*heun"):
        build(builtin_app, f"{TINY},sampler=heunn")


def test_learning_rate_follows_the_run_to_zero(builtin_app: App) -> None:
    data = tiny_data(8)
    for schedule, last in (("linear", 0.25e-3), ("constant", 1e-3)):
        model = build(builtin_app, f"{TINY},lr_schedule={schedule}")
        assert isinstance(model, genart.FollowsProgress)
        train(model, data, TrainConfig(steps=4, batch_size=4, progress=False), device=torch.device("cpu"),
              checkpoint_path=None)
        assert model.extra_metrics()["lr"] == pytest.approx(last), "the last step's rate: 1e-3 * (1 - 3/4)"
    untold = build(builtin_app, TINY)
    untold.train_step(make_tiny_images(4, 1, 28, seed=1))
    assert untold.extra_metrics()["lr"] == 1e-3, "outside the loop (no progress told): the constant rate"


def layout_model(app: App, layout: str, context_channels_last: bool) -> Any:
    import dataclasses

    torch.manual_seed(0)
    context = dataclasses.replace(build_context(app), channels_last=context_channels_last)
    return context.build("model", f"diffusion:image_size=28,channels=3,width=8,steps=2,layout={layout}")


@pytest.mark.parametrize(("layout", "context_channels_last", "expected"),
                         [("auto", True, False), ("auto", False, False), ("nhwc", False, True), ("nchw", True, False)])
def test_layout_on_the_cpu(builtin_app: App, layout: str, context_channels_last: bool, expected: bool) -> None:
    """``auto`` keeps the U-Net contiguous on the CPU even where the run prefers channels_last (bf16)."""
    model = layout_model(builtin_app, layout, context_channels_last)
    conv = model.net.stem.weight  # [8, 3, 3, 3]: the two layouts have different strides
    assert model.channels_last is expected
    assert conv.is_contiguous(memory_format=torch.channels_last if expected else torch.contiguous_format)
    assert not conv.is_contiguous() if expected else conv.is_contiguous()
    batch = tiny_data(4, channels=3).float().div(255).contiguous(memory_format=torch.channels_last)
    assert model.network_input(batch).is_contiguous(
        memory_format=torch.channels_last if expected else torch.contiguous_format)


def test_layouts_train_and_sample_alike(builtin_app: App) -> None:
    data = tiny_data(4, channels=3).float().div(255)
    models = [layout_model(builtin_app, layout, True) for layout in ("nchw", "nhwc")]
    for model in models:
        torch.manual_seed(1)
        model.train_step(data)
    samples = [model.sample(2, torch.Generator().manual_seed(0)) for model in models]
    assert torch.allclose(samples[0], samples[1], atol=1e-4)


def test_default_batch_depends_on_channels(builtin_app: App) -> None:
    from genart.contract.protocols import default_batch_size

    assert default_batch_size(build(builtin_app, TINY)) == 64
    assert default_batch_size(build(builtin_app, "diffusion:image_size=32,channels=3,width=8")) == 32


def test_patch_folds_pixels_into_channels(builtin_app: App) -> None:
    """``patch=2`` runs the U-Net on a 4 x 14 x 14 fold of a 28 px grey image and unfolds its output."""
    from genart_diffusion.nets import level_channels

    net = UNet(1, 28, width=8, patch=2)
    assert net.stem.in_channels == 4 and len(net.down) == default_levels(14) == 2
    x = torch.randn(2, 1, 28, 28)
    assert net(x, torch.rand(2)).shape == x.shape
    assert level_channels(8, 3) == [8, 16, 16] and level_channels(8, 3, max_mult=4) == [8, 16, 32]
    assert UNet(1, 28, width=8, max_mult=4).mid[0].conv1.out_channels == 32
    check_model(build(builtin_app, f"{TINY},patch=2,steps=2"), steps=1, batch_size=4)
    with pytest.raises(genart.UsageError, match="multiple of patch"):
        build(builtin_app, "diffusion:image_size=30,channels=1,width=8,patch=4")


def test_default_network_is_unchanged_by_the_new_options() -> None:
    """``patch=1`` and ``max_mult=2`` (the defaults) keep the network of before they existed: the same
    76,049 parameters at width 8 (counted with the previous unet.py) in the same modules."""
    net = UNet(1, 28, width=8)
    assert sum(p.numel() for p in net.parameters()) == 76049
    assert net.stem.in_channels == 1 and net.mid[0].conv1.out_channels == 16


def test_training_times_follow_t_mean_and_t_std(builtin_app: App) -> None:
    from genart_diffusion.model import training_times

    torch.manual_seed(0)
    default = training_times(20000, 0.0, 1.0, torch.device("cpu"))
    torch.manual_seed(0)
    assert torch.equal(default, torch.sigmoid(torch.randn(20000))), "the defaults draw what they drew before"
    shifted = training_times(20000, -1.0, 0.5, torch.device("cpu"))
    assert float(default.median()) == pytest.approx(0.5, abs=0.02)
    assert float(shifted.median()) == pytest.approx(float(torch.sigmoid(torch.tensor(-1.0))), abs=0.02)
    assert float(torch.logit(shifted).std()) == pytest.approx(0.5, abs=0.02)
    with pytest.raises(genart.UsageError, match="t_std"):
        build(builtin_app, f"{TINY},t_std=0")


def test_grey_images_default_to_the_folded_network(builtin_app: App) -> None:
    """Automatic width and patch: 28 px grey runs ``patch=2, width=32``; colour and any explicit width
    keep the pixel-space network, so a grey run recorded with ``width=16`` rebuilds what it trained."""
    from genart.runner.loading import pin_recorded_params

    grey = build(builtin_app, "diffusion:image_size=28,channels=1")
    assert (grey.width, grey.patch, grey.net.stem.in_channels) == (32, 2, 4)
    colour = build(builtin_app, "diffusion:image_size=32,channels=3")
    assert (colour.width, colour.patch, colour.net.stem.in_channels) == (16, 1, 3)
    assert build(builtin_app, "diffusion:image_size=28,channels=1,patch=2").width == 32
    assert build(builtin_app, "diffusion:image_size=28,channels=1,patch=1").width == 16
    context = build_context(builtin_app)
    old = pin_recorded_params(context, "diffusion:image_size=28,channels=1", {"width": 16, "image_size": 28})
    rebuilt = context.build("model", old)
    assert (rebuilt.width, rebuilt.patch) == (16, 1)
    assert sum(p.numel() for p in rebuilt.net.parameters()) == sum(
        p.numel() for p in UNet(1, 28, width=16).parameters())


def test_default_sampler_steps_and_t_mean_per_image_kind(builtin_app: App) -> None:
    """Both kinds sample with EDM's stochastic sampler; grey images with 40 steps, colour with 20; colour
    trains with t_mean 1.0 (more high noise), grey with 0. Explicit values win, and a run recorded with
    the previous defaults (heun, 20 steps, t_mean 0) rebuilds with them."""
    from genart.runner.loading import pin_recorded_params

    grey = build(builtin_app, "diffusion:image_size=28,channels=1,width=8")
    colour = build(builtin_app, "diffusion:image_size=32,channels=3,width=8")
    assert isinstance(grey.sampler, StochasticSampler) and isinstance(colour.sampler, StochasticSampler)
    assert (grey.sample_steps, grey.t_mean, len(grey.sigmas())) == (40, 0.0, 41)
    assert (colour.sample_steps, colour.t_mean, len(colour.sigmas())) == (20, 1.0, 21)
    told = build(builtin_app, "diffusion:image_size=32,channels=3,width=8,steps=7,t_mean=0,sampler=heun")
    assert (told.sample_steps, told.t_mean, type(told.sampler)) == (7, 0.0, HeunSampler)
    context = build_context(builtin_app)
    old = pin_recorded_params(context, "diffusion:image_size=32,channels=3,width=8",
                              {"sampler": "heun", "steps": 20, "t_mean": 0.0})
    rebuilt = context.build("model", old)
    assert (rebuilt.sample_steps, rebuilt.t_mean, type(rebuilt.sampler)) == (20, 0.0, HeunSampler)
    with pytest.raises(genart.UsageError, match="steps"):
        build(builtin_app, f"{TINY},steps=-1")


def test_colour_training_draws_t_around_its_default_mean(builtin_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import genart_diffusion.model as diffusion_model

    seen: list[float] = []
    real = diffusion_model.training_times
    monkeypatch.setattr(diffusion_model, "training_times",
                        lambda n, mean, std, device: seen.append(mean) or real(n, mean, std, device))
    for spec in ("diffusion:image_size=32,channels=3,width=8", TINY, f"{TINY},t_mean=0.5"):
        model = build(builtin_app, spec)
        model.train_step(make_tiny_images(2, model.params.channels, model.params.image_size, seed=1))
    assert seen == [1.0, 0.0, 0.5]


def test_walks_decode_through_heun_when_the_sampler_is_stochastic(builtin_app: App) -> None:
    """The default sampler adds noise; ``decode`` (what ``genart walk`` calls) must not, so a walk's
    frames are the deterministic images of their initial noise."""
    model = build(builtin_app, f"{TINY},steps=3")
    assert isinstance(model.sampler, StochasticSampler)
    z = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        first, again = model.decode(z), model.decode(z)
        heun = model.generate(z, HeunSampler(), None)
        stochastic = model.generate(z, model.sampler, torch.Generator().manual_seed(0))
    assert torch.equal(first, again) and torch.equal(first, heun)
    assert not torch.equal(first, stochastic), "the stochastic sampler differs: decode did not use it"
