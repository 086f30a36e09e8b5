"""The VAE's prior fitted after training: the fit, sampling from it, checkpoints, the loop's call, walks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from genart import FinishesTraining, LatentSampler
from genart.contract.plugins import App
from genart.loop.checkpoints import restore_checkpoint
from genart.loop.train import TrainConfig, train
from genart.records.runs import load_checkpoint, save_checkpoint
from genart.testing import build_context, make_tiny_images
from genart_vae.prior import MixturePrior, fit_mixture, fitting_subset

TINY = "vae:image_size=8,width=4,latent=3"


def build(app: App, spec: str = TINY) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


def tiny_data(n: int = 24) -> torch.Tensor:
    return (make_tiny_images(n, 3, 8, seed=3) * 255).round().to(torch.uint8)


def test_one_component_is_the_mean_and_covariance_of_the_points() -> None:
    points = torch.randn(500, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) @ torch.tensor(
        [[2.0, 0, 0, 0], [1.0, 0.5, 0, 0], [0, 0, 1, 0], [0.3, 0, 0, 0.2]], dtype=torch.float64) + 3
    prior = fit_mixture(points, 1)
    assert torch.allclose(prior.means[0], points.mean(0))
    covariance = prior.scale_tril[0] @ prior.scale_tril[0].T
    assert torch.allclose(covariance, torch.cov(points.T), atol=1e-3)


def test_the_mixture_finds_separated_clusters_deterministically() -> None:
    generator = torch.Generator().manual_seed(1)
    centres = torch.tensor([[-6.0, 0.0], [6.0, 0.0], [0.0, 8.0]], dtype=torch.float64)
    counts = [300, 150, 50]
    points = torch.cat([c + 0.5 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
                        for c, n in zip(centres, counts, strict=True)])
    prior = fit_mixture(points, 3)
    order = [int((prior.means - c).norm(dim=1).argmin()) for c in centres]
    assert sorted(order) == [0, 1, 2], "one component per cluster"
    assert torch.allclose(prior.means[order], centres, atol=0.2)
    assert torch.allclose(prior.weights[order], torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64), atol=0.02)
    again = fit_mixture(points, 3)
    assert torch.equal(again.means, prior.means) and torch.equal(again.scale_tril, prior.scale_tril)
    drawn = prior.sample(4000, torch.Generator().manual_seed(0))
    assert prior.log_prob(drawn).mean() > prior.log_prob(torch.zeros(1, 2)).item() + 5, "draws land in the clusters"


def test_log_prob_matches_torch_distributions_far_from_and_near_the_means() -> None:
    """The expanded Mahalanobis form (x'Px - 2m'Px + m'Pm) gives the textbook mixture density."""
    generator = torch.Generator().manual_seed(2)
    means = torch.randn(4, 5, generator=generator, dtype=torch.float64) * 3
    factors = torch.randn(4, 5, 5, generator=generator, dtype=torch.float64)
    scale_tril = torch.linalg.cholesky(factors @ factors.transpose(1, 2) + 0.1 * torch.eye(5, dtype=torch.float64))
    weights = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    prior = MixturePrior(weights, means, scale_tril)
    components = torch.distributions.MultivariateNormal(means, scale_tril=scale_tril)
    reference = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(probs=weights), components)
    z = torch.cat([torch.randn(200, 5, generator=generator, dtype=torch.float64) * 10, means + 1e-6])
    assert torch.allclose(prior.log_prob(z), reference.log_prob(z), rtol=1e-9, atol=1e-9)


def test_large_latents_take_the_direct_path_to_the_same_prior(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past OUTER_PRODUCT_LIMIT, EM skips the N x D^2 outer products (memory) and fits the same mixture."""
    from genart_vae import prior as prior_module

    points = torch.randn(300, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    points[:100] += 4
    expanded = fit_mixture(points, 4)
    monkeypatch.setattr(prior_module, "OUTER_PRODUCT_LIMIT", 0)
    direct = fit_mixture(points, 4)
    for a, b in zip(expanded.state_dict().values(), direct.state_dict().values(), strict=True):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-10)


def test_fitting_subset_is_evenly_spaced_and_capped() -> None:
    assert torch.equal(fitting_subset(5, 10), torch.arange(5))
    index = fitting_subset(100_000, 8)
    assert index.shape == (8,) and index[0] == 0 and index[-1] == 99_999


def test_finish_training_fits_the_posterior_means_and_sample_uses_them(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},prior_components=1")
    assert isinstance(model, FinishesTraining) and isinstance(model, LatentSampler)
    data = tiny_data()
    model.train_step(data[:8].float() / 255)
    assert model.fitted_prior() is None, "no prior before training has finished"
    rng = torch.get_rng_state()
    model.finish_training(data)
    assert torch.equal(torch.get_rng_state(), rng), "the fit must not draw from the global RNG (exact resume)"
    means = model.encode(data.float() / 255).double()
    prior = model.fitted_prior()
    assert prior is not None
    assert torch.allclose(prior.means[0], means.mean(0), atol=1e-5)
    assert torch.allclose(prior.scale_tril[0] @ prior.scale_tril[0].T, torch.cov(means.T), atol=1e-3)
    drawn = model.sample(6, torch.Generator().manual_seed(4))
    expected = model.decode(prior.sample(6, torch.Generator().manual_seed(4)))
    assert torch.equal(drawn, expected.cpu())
    standard = model.decode(torch.randn(6, 3, generator=torch.Generator().manual_seed(4)))
    assert not torch.allclose(drawn, standard.cpu()), "sample must not draw from N(0, I) once fitted"


def test_training_on_makes_the_prior_stale(builtin_app: App) -> None:
    model = build(builtin_app)
    data = tiny_data()
    model.finish_training(data)
    assert model.fitted_prior() is not None
    model.train_step(data[:8].float() / 255)
    assert model.fitted_prior() is None and model.state_dict()["prior"] == {}
    drawn = model.sample(3, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, model.decode(torch.randn(3, 3, generator=torch.Generator().manual_seed(0))).cpu())


def test_prior_normal_fits_nothing(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},prior=normal")
    model.finish_training(tiny_data())
    assert model.prior is None and model.fitted_prior() is None


def test_the_prior_survives_a_checkpoint_and_old_checkpoints_fall_back(builtin_app: App, tmp_path: Path) -> None:
    spec = f"{TINY},prior_components=10"  # fewer than the tiny data's points, so all of them are fitted
    model = build(builtin_app, spec)
    model.finish_training(tiny_data())
    save_checkpoint(tmp_path / "state.safetensors", model.state_dict())
    state, _ = load_checkpoint(tmp_path / "state.safetensors")
    assert set(state["prior"]) == {"weights", "means", "scale_tril"}
    assert state["prior"]["scale_tril"].shape == (model.params.prior_components, 3, 3)
    fresh = build(builtin_app, spec)
    fresh.load_state_dict(state)
    seed = torch.Generator().manual_seed(2)
    assert torch.equal(fresh.sample(5, seed), model.sample(5, torch.Generator().manual_seed(2)))
    old = {key: value for key, value in state.items() if key != "prior"}  # a checkpoint from before the prior
    older = build(builtin_app)
    older.load_state_dict(old)
    assert older.fitted_prior() is None
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(older.sample(5, torch.Generator().manual_seed(2)), older.decode(z).cpu())


@pytest.mark.parametrize("checkpoint_every", [0, 3])
def test_the_loop_fits_the_prior_into_the_last_checkpoint(builtin_app: App, tmp_path: Path,
                                                          checkpoint_every: int) -> None:
    # checkpoint_every=3 with 6 steps: the loop's last save is not at the end; with 0 only the end saves
    context = build_context(builtin_app)
    torch.manual_seed(0)
    model = context.build("model", TINY)
    data = tiny_data()
    path = tmp_path / "run.safetensors"
    train(model, data, TrainConfig(steps=6, batch_size=4, progress=False, checkpoint_every=checkpoint_every),
          device=context.device, checkpoint_path=path)
    state, _ = load_checkpoint(path)
    assert state["model"]["step"] == 6 and set(state["model"]["prior"]) == {"weights", "means", "scale_tril"}
    loaded = context.build("model", TINY)
    assert restore_checkpoint(loaded, path) == 6
    assert loaded.fitted_prior() is not None
    drawn = loaded.sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, model.sample(4, torch.Generator().manual_seed(0)))


def test_an_interrupted_and_resumed_run_ends_with_the_same_prior(builtin_app: App, tmp_path: Path) -> None:
    context = build_context(builtin_app)
    data = tiny_data()
    torch.manual_seed(0)
    straight = context.build("model", TINY)
    train(straight, data, TrainConfig(steps=8, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "straight.safetensors")
    torch.manual_seed(0)
    first = context.build("model", TINY)
    train(first, data, TrainConfig(steps=3, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "part.safetensors")  # stops at 3 and fits a prior there
    torch.manual_seed(99)
    second = context.build("model", TINY)
    start = restore_checkpoint(second, tmp_path / "part.safetensors")
    train(second, data, TrainConfig(steps=8, batch_size=4, progress=False), device=context.device,
          checkpoint_path=tmp_path / "part.safetensors", start_step=start)
    a, b = straight.fitted_prior(), second.fitted_prior()
    assert isinstance(a, MixturePrior) and isinstance(b, MixturePrior)
    assert torch.equal(a.means, b.means) and torch.equal(a.scale_tril, b.scale_tril)
    assert (tmp_path / "straight.safetensors").read_bytes() == (tmp_path / "part.safetensors").read_bytes()


def test_walk_anchors_come_from_the_fitted_prior(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    result = genart_cli(["train", "--model", TINY, "--steps", "4", "--batch-size", "4", "--out", str(tmp_path),
                         "--data", "shapes:count=16", "-q", "--sample-every", "0"], app=builtin_app)
    assert result.exit_code == 0, result.output
    run = next(path for path in tmp_path.iterdir() if path.is_dir())
    state, _ = load_checkpoint(run / "checkpoint.safetensors")
    assert state["model"]["prior"], "genart train must leave a fitted prior in the checkpoint"
    from genart_explore import walk

    seen: list[torch.Tensor] = []
    original = walk.loop_latents

    def spy(points: Any, frames: int, spherical: bool) -> Any:
        seen.append(points)
        return original(points, frames, spherical)

    walk.loop_latents = spy
    try:
        walk.walk_run(builtin_app, run, tmp_path / "walk.gif", points=3, frames=6, size=0, post=[], columns=3,
                      duration=50, seed=7, overwrite=False, device="cpu")
    finally:
        walk.loop_latents = original
    prior = MixturePrior.from_state(state["model"]["prior"])
    assert torch.allclose(seen[0], prior.sample(3, torch.Generator().manual_seed(7)).double())
