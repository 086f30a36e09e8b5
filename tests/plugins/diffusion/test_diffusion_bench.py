"""benchmarks/diffusion_bench.py's helpers: the speed grid and scoring a trained model under other sample settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.plugins import App
from genart_diffusion.samplers import EulerSampler, HeunSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import diffusion_bench  # noqa: E402

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
    assert isinstance(model.sampler, HeunSampler)
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
