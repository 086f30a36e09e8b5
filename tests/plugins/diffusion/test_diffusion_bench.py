"""benchmarks/diffusion_bench.py's helpers: the speed grid and scoring a trained model under other sample settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks import diffusion_bench
from genart.contract.plugins import App
from genart_diffusion.samplers import EulerSampler, StochasticSampler

SPEC = "diffusion:image_size=28,channels=1,width=8,steps=2"


@pytest.fixture
def trained(builtin_app: App) -> tuple[Any, Any]:
    ctx = diffusion_bench.context("fp32")
    data = (torch.rand(8, 1, 28, 28) * 255).to(torch.uint8)
    run = diffusion_bench.train_for(ctx, SPEC, data, 0, seed=1, max_steps=3, batch_size=4)
    assert run["batch"] == 4 and run["steps"] == 3
    return ctx, run["model"]


def test_speed_grid_measures_every_combination() -> None:
    rows = diffusion_bench.speed_grid(28, 1, [8], [2, 4], ["fp32"], ["nhwc", "nchw"], 0.01)
    assert [(r["layout"], r["batch"]) for r in rows] == [("nhwc", 2), ("nhwc", 4), ("nchw", 2), ("nchw", 4)]
    assert all(r["steps"] >= 1 and r["images_per_s"] > 0 and r["params"] > 0 for r in rows)


def test_a_variant_keeps_the_trained_weights_and_changes_the_sampler(trained: tuple[Any, Any]) -> None:
    ctx, model = trained
    assert isinstance(model.sampler, StochasticSampler)  # the default
    variant = diffusion_bench.variant_model(ctx, SPEC, model, "sampler=euler,steps=3")
    assert isinstance(variant.sampler, EulerSampler) and variant.params.steps == 3
    for mine, theirs in zip(variant.ema.parameters(), model.ema.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    same = diffusion_bench.variant_model(ctx, SPEC, model, "steps=2")
    generator = torch.Generator().manual_seed(0)
    first = same.sample(2, generator)
    assert torch.equal(first, model.sample(2, torch.Generator().manual_seed(0)))


def test_raw_samples_with_the_training_weights(trained: tuple[Any, Any]) -> None:
    ctx, model = trained
    raw = diffusion_bench.variant_model(ctx, SPEC, model, "raw")
    differ = False
    for ema, net, trained_net in zip(raw.ema.parameters(), raw.net.parameters(), model.net.parameters(), strict=True):
        assert torch.equal(ema, trained_net) and torch.equal(net, trained_net)
    for ema, net in zip(model.ema.parameters(), model.net.parameters(), strict=True):
        differ = differ or not torch.equal(ema, net)
    assert differ, "the trained model's EMA should differ from its weights after 3 steps"


def test_bad_grid_options_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (["--grid-widths", "16,x"], ["--grid-layouts", "nhcw"]):
        monkeypatch.setattr(sys, "argv", ["diffusion_bench.py", "--what", "grid", *bad])
        assert diffusion_bench.main() == 2
        assert "diffusion_bench:" in capsys.readouterr().err


def test_tone_figures_tell_washed_samples_from_one_tone_samples() -> None:
    flat = torch.zeros(4, 3, 8, 8)
    flat[:, :, :, :4] = 1.0  # half black, half white: contrast 0.5, every image alike
    tones = diffusion_bench.tone_figures(flat)
    assert tones["contrast"] == pytest.approx(0.5, abs=0.05) and tones["spread"] == 0
    solid = torch.stack([torch.full((3, 8, 8), v) for v in (0.0, 0.25, 0.75, 1.0)])
    tones = diffusion_bench.tone_figures((solid * 255).to(torch.uint8))
    assert tones["contrast"] == 0 and tones["spread"] > 0.4


def test_weight_free_scores_each_variant_from_the_same_weights(
        builtin_app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    ctx = diffusion_bench.context("fp32")
    monkeypatch.setattr(diffusion_bench, "TUNING",
                        diffusion_bench.Tuning(variants=("sampler=euler,steps=3", "steps=2"), keep=True))
    real = (torch.rand(16, 1, 28, 28) * 255).to(torch.uint8)
    rows = diffusion_bench.weight_free(ctx, {"diffusion": SPEC}, real, real, 0, tmp_path, "tiny")
    assert [r["name"] for r in rows] == ["diffusion", "  sampler=euler,steps=3", "  steps=2"]
    assert all(0 <= r["precision"] <= 1 and r["diversity"] >= 0 and r["contrast"] > 0 for r in rows)
    kept = load_file(str(tmp_path / "tiny-diffusion-samplereuler-steps3.safetensors"))["images"]
    assert kept.shape == (8, 1, 28, 28) and kept.dtype == torch.uint8
    assert (tmp_path / "tiny-diffusion.png").is_file() and (tmp_path / "tiny-diffusion-steps2.png").is_file()
    # ``steps=2`` is the spec's own setting: the same weights and seed give the same samples
    same = load_file(str(tmp_path / "tiny-diffusion-steps2.safetensors"))["images"]
    assert torch.equal(same, load_file(str(tmp_path / "tiny-diffusion.safetensors"))["images"])


def test_background_figures_read_the_border_colour() -> None:
    from benchmarks import sample_backgrounds

    images = torch.zeros(4, 3, 8, 8)
    images[2:] = 0.9  # two near-white backgrounds, two black
    images[:, :, 2:6, 2:6] = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)  # a red square in each
    figures = sample_backgrounds.background_figures(images)
    assert figures["dark"] == 0.5 and figures["bright"] == 0.5 and figures["saturation"] == 0
    assert figures["off-background"] == pytest.approx(16 / 64)
