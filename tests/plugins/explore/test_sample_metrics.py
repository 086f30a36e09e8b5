"""The weight-free sample figures: the maths on known cases, and the ranking of collapsed generators."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.runner.pipeline import load_data
from genart.testing import build_context
from genart_explore.sample_metrics import PixelPCA, evaluate_samples, frechet_distance, score


def test_frechet_distance_of_gaussians_matches_the_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    b = torch.randn(20000, 3, generator=g, dtype=torch.float64) * 2 + 1
    # N(0, I) vs N(1, 4I) in 3-d: 3 * 1^2 + 3 * (1 + 4 - 2 * 2) = 6
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_identical_sets_score_perfectly_and_disjoint_ones_zero() -> None:
    g = torch.Generator().manual_seed(1)
    real = torch.randn(200, 8, generator=g, dtype=torch.float64)
    same = score(real, real.clone())
    assert same["precision"] == same["recall"] == 1.0 and same["diversity"] == pytest.approx(1.0)
    far = score(real, real + 100)
    assert far["precision"] == far["recall"] == 0.0


def test_pca_keeps_the_directions_the_real_images_vary_in() -> None:
    images = torch.zeros(50, 1, 16, 16)
    images[:, :, :8] = torch.rand(50, 1, 1, 1)  # only the top half varies, all its pixels together
    features = PixelPCA.fit(images, size=16, components=4)
    variance = features(images).var(0)
    assert variance[0] > 1000 * variance[1:].max()


@pytest.fixture(scope="module")
def shapes() -> tuple[torch.Tensor, torch.Tensor]:
    context = build_context(App.from_entry_points())
    real = load_data(context, "shapes:count=400,seed=1", 32, 3)
    other = load_data(context, "shapes:count=200,seed=2", 32, 3)
    return real, other


def test_collapsed_generators_rank_below_a_healthy_one(shapes: tuple[torch.Tensor, torch.Tensor]) -> None:
    real, healthy = shapes
    g = torch.Generator().manual_seed(0)
    jitter = (torch.rand(200, 3, 32, 32, generator=g) * 8).to(torch.uint8)
    one_image = (healthy[:1].expand(200, -1, -1, -1).int() + jitter).clamp(max=255).to(torch.uint8)
    few_modes = healthy[:5].repeat(40, 1, 1, 1)
    figures = {name: evaluate_samples(real, images)["model"]
               for name, images in (("healthy", healthy), ("one", one_image), ("few", few_modes))}
    floor = evaluate_samples(real, healthy)["floor"]
    healthy_fig = figures["healthy"]
    # held-out real images score like the real-vs-real floor
    assert abs(healthy_fig["recall"] - floor["recall"]) < 0.1 and abs(healthy_fig["diversity"] - 1) < 0.1
    for name in ("one", "few"):
        collapsed = figures[name]
        assert collapsed["recall"] < 0.5 * healthy_fig["recall"], (name, collapsed)
        assert collapsed["diversity"] < healthy_fig["diversity"] - 0.1, (name, collapsed)
        assert collapsed["fd"] > 2 * healthy_fig["fd"], (name, collapsed)
    # five distinct images still spread like random pairs of real ones; one image does not spread at all
    assert figures["one"]["diversity"] < 0.3


def test_eval_reports_sample_figures_for_a_model_without_likelihood(genart_cli: Any, builtin_app: App,
                                                                    tmp_path: Path) -> None:
    from genart.runner.jobs import train_job
    from genart.runner.settings import RunSettings

    settings = RunSettings(model="gan:image_size=28,channels=1,width=4,latent=8", data="shapes:count=16",
                           steps=2, batch_size=4, num_samples=2, out=str(tmp_path), device="cpu",
                           precision="fp32", progress=False)
    run = train_job(builtin_app, settings)
    data = "shapes:count=40,seed=4,split=test,holdout=20"
    result = genart_cli(["eval", str(run), "--data", data, "--samples", "12", "-q"], app=builtin_app)
    assert result.exit_code == 0, result.output
    assert "reports no likelihood" in result.output and "recall (k=3)" in result.output
    record = json.loads((run / "manifest.json").read_text())["metrics"]["sample_eval"][data]
    assert record["samples"] == 12 and record["reference"] == 10
    for part in ("model", "floor"):
        assert set(record[part]) == {"precision", "recall", "diversity", "fd"}
        assert all(math.isfinite(v) for v in record[part].values())
    assert record["floor"]["recall"] > record["model"]["recall"]  # an untrained GAN is far from the data
    too_few = genart_cli(["eval", str(run), "--data", "shapes:count=40,split=test,holdout=6", "-q"], app=builtin_app)
    assert too_few.exit_code != 0 and "at least 8 held-out images" in too_few.output
