"""The vae model and its likelihoods: contracts, proper likelihoods, evaluate(), binarisation, KL options."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.testing import build_context, check_model, make_tiny_images

TINY = "vae:image_size=8,width=4,latent=3"
LOSSES = ["logistic", "gaussian", '"logistic:scale=pixel"', '"gaussian:scale=pixel"', "bernoulli",
          '"bernoulli:binarize=false"', "bce", "mse", '"mse:sigma=0.3"']


def build(app: App, spec: str) -> Any:
    torch.manual_seed(0)
    return build_context(app).build("model", spec)


@pytest.mark.parametrize("loss", LOSSES)
def test_contract_every_likelihood(builtin_app: App, loss: str) -> None:
    check_model(build(builtin_app, f"{TINY},loss={loss}"), steps=2, batch_size=4)


@pytest.mark.parametrize("spec", ["vae:image_size=28,channels=1,width=4,latent=2,loss=bernoulli",
                                  "vae:image_size=32,width=4,latent=2,blocks=1",
                                  "vae:image_size=12,width=4,latent=2,warmup=5,free_bits=0.5,beta=0.5"])
def test_contract_sizes_and_options(builtin_app: App, spec: str) -> None:
    model = build(builtin_app, spec)
    check_model(model, steps=2, batch_size=4)
    assert model.latent_shape == (model.params.latent,)


def test_latent_interface(builtin_app: App) -> None:
    model = build(builtin_app, TINY)
    x = make_tiny_images(5, 3, 8)
    z = model.encode(x)
    assert z.shape == (5, 3)
    assert torch.equal(z, model.net.encode(x)[0]), "encode must return the posterior mean"
    assert torch.equal(z, model.encode(x)), "encode must be deterministic"
    images = model.decode(z)
    assert images.shape == (5, 3, 8, 8) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("family", ["logistic", "gaussian"])
@pytest.mark.parametrize("scale", ["pixel", "channel"])
def test_discretised_likelihood_is_a_distribution_over_256_levels(builtin_app: App, family: str, scale: str) -> None:
    likelihood = build_context(builtin_app).build("loss", f"{family}:scale={scale}")
    levels = torch.arange(256, dtype=torch.float32) / 255
    for mean, log_scale in [(0.3, -3.0), (-0.95, -5.0), (0.99, -1.0), (0.0, -6.5), (2.0, 0.5)]:
        if scale == "pixel":
            out = torch.tensor([mean, log_scale]).view(1, 2, 1, 1).expand(256, 2, 1, 1)
        else:
            out = torch.full((256, 1, 1, 1), mean)
            likelihood.log_scale.data.fill_(log_scale)
        with torch.no_grad():
            probabilities = torch.exp(-likelihood.nll(out, levels.view(256, 1, 1, 1)))
        assert torch.isfinite(probabilities).all()
        assert abs(float(probabilities.sum()) - 1) < 2e-3, (mean, log_scale, float(probabilities.sum()))


def test_discretised_logistic_matches_the_textbook_form(builtin_app: App) -> None:
    """The factored form equals sigma(u) - sigma(l) computed in float64 (on the side of the mean where
    it does not cancel), deep into the tails; and stays finite where even float64 underflows."""
    likelihood = build_context(builtin_app).build("loss", "logistic:scale=pixel")
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 4, 4)).float() / 255
    mean = torch.rand(64, 1, 4, 4) * 2.4 - 1.2
    log_scale = torch.rand(64, 1, 4, 4) * 5.5 - 5
    nll = likelihood.nll(torch.cat([mean, log_scale], 1), x)
    centred = (x.double() * 2 - 1) - mean.double()
    inv_scale = torch.exp(-log_scale.double())
    upper = torch.where(x == 1, torch.inf, (centred + 1 / 255) * inv_scale)
    lower = torch.where(x == 0, -torch.inf, (centred - 1 / 255) * inv_scale)
    mass = torch.where(centred > 0, torch.sigmoid(-lower) - torch.sigmoid(-upper),
                       torch.sigmoid(upper) - torch.sigmoid(lower))
    reference = -torch.log(mass).flatten(1).sum(1)
    assert torch.isfinite(reference).all()
    assert torch.allclose(nll.double(), reference, rtol=1e-5, atol=1e-3), (nll.double() - reference).abs().max()
    extreme = likelihood.nll(torch.cat([mean, torch.full_like(mean, -7.0)], 1), x)
    assert torch.isfinite(extreme).all()


def test_dynamic_binarisation(builtin_app: App) -> None:
    likelihood = build_context(builtin_app).build("loss", "bernoulli")
    grey = torch.full((2000, 1, 2, 2), 0.3)
    draws = likelihood.prepare(grey)
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(draws.mean()) - 0.3) < 0.02
    assert not torch.equal(draws, likelihood.prepare(grey)), "binarisation must be redrawn each time"
    seeded = [likelihood.prepare(grey, torch.Generator().manual_seed(4)) for _ in range(2)]
    assert torch.equal(*seeded), "a seeded generator must give the same draw"
    plain = build_context(builtin_app).build("loss", "bernoulli:binarize=false")
    assert torch.equal(plain.prepare(grey), grey)


def test_bernoulli_model_trains_on_binarised_targets(builtin_app: App) -> None:
    model = build(builtin_app, "vae:image_size=8,channels=1,width=4,latent=2,loss=bernoulli")
    seen = []
    original = model.likelihood.nll
    model.likelihood.nll = lambda out, x: seen.append(x.clone()) or original(out, x)
    model.train_step(torch.full((4, 1, 8, 8), 0.5))
    assert set(seen[0].unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("loss", ["logistic", "bernoulli", "mse"])
def test_evaluate_bounds(builtin_app: App, loss: str) -> None:
    channels = 1 if loss == "bernoulli" else 3
    model = build(builtin_app, f"vae:image_size=8,channels={channels},width=4,latent=3,loss={loss}")
    data = make_tiny_images(8, channels, 8, seed=2)
    for _ in range(5):
        model.train_step(data)
    one = model.evaluate(data, 1, torch.Generator().manual_seed(0))
    assert math.isclose(one["nll_is_nats"], one["nelbo_nats"], rel_tol=1e-5), "k=1 IS is the ELBO"
    many = model.evaluate(data, 64, torch.Generator().manual_seed(0))
    assert all(math.isfinite(v) for v in many.values())
    assert many["nll_is_nats"] <= many["nelbo_nats"]
    assert many["nelbo_nats"] > 0
    if loss == "mse":
        assert "bits_per_dim" not in many, "a density has no bits/dim"
    else:
        dims = channels * 64
        assert math.isclose(many["bits_per_dim"], many["nll_is_nats"] / (dims * math.log(2)), rel_tol=1e-6)
    again = model.evaluate(data, 64, torch.Generator().manual_seed(0))
    assert again == many, "evaluate must be reproducible for a seeded generator"


def test_free_bits_and_warmup(builtin_app: App) -> None:
    batch = make_tiny_images(4, 3, 8)
    model = build(builtin_app, f"{TINY},free_bits=10,beta=1")
    losses = model.train_step(batch)
    # Each of the 3 dimensions has far less than 10 nats at initialisation: the KL term is 3 x 10.
    assert math.isclose(losses["loss"] - (losses["nelbo"] - losses["kl"]), 30.0, rel_tol=1e-4)
    model = build(builtin_app, f"{TINY},warmup=4,beta=2")
    weights = []
    for _ in range(6):
        weights.append(model.kl_weight())
        model.train_step(batch)
    assert weights == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    state = model.state_dict()
    fresh = build(builtin_app, f"{TINY},warmup=4,beta=2")
    fresh.load_state_dict(state)
    assert fresh.step == 6, "the warm-up position must survive a checkpoint"


def test_temperature_scales_the_prior(builtin_app: App) -> None:
    model = build(builtin_app, f"{TINY},temperature=0.0001")
    centre = model.decode(torch.zeros(1, 3))
    drawn = model.sample(2, torch.Generator().manual_seed(0))
    assert torch.allclose(drawn, centre.expand_as(drawn), atol=1e-3)


@pytest.mark.parametrize(("spec", "message"), [
    ("vae:channels=2", "channels must be 1, 3 or 4"),
    ("vae:loss=nope", "unknown loss 'nope'"),
    ('vae:loss="bernoulli:binarize=maybe"', "not a boolean"),
    ('vae:loss="logistic:scale=global"', "not one of pixel, channel"),
    ("vae:free_bits=-1", "must be >= 0"),
])
def test_bad_parameters_are_one_line_errors(genart_cli: Any, builtin_app: App, tmp_path: Path, spec: str,
                                            message: str) -> None:
    result = genart_cli(["run", "--model", spec, "--steps", "1", "--out", str(tmp_path), "-q"], app=builtin_app)
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if "error" in line.lower()]) == 1


def test_a_non_likelihood_loss_is_refused(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    if "hinge" not in builtin_app.registry.names("loss"):
        pytest.skip("no GAN losses installed")
    result = genart_cli(["run", "--model", "vae:loss=hinge", "--out", str(tmp_path), "-q"], app=builtin_app)
    assert result.exit_code == 2 and "not a VAE likelihood" in result.output


def test_trains_identically_under_loss_scaling(builtin_app: App) -> None:
    from genart.testing import check_loss_scaling

    check_loss_scaling(builtin_app, "vae:image_size=16,width=8,latent=4")


def test_learning_rate_follows_the_run(builtin_app: App) -> None:
    """lr_schedule=linear decays to 0 over the loop's progress (genart.FollowsProgress); constant and a
    model trained outside the loop keep lr."""
    import genart
    from genart.loop.train import TrainConfig, train
    data = (make_tiny_images(8, 3, 8, seed=0) * 255).to(torch.uint8)
    for schedule, last in (("linear", 0.5e-3), ("constant", 2e-3)):
        model = build(builtin_app, f"{TINY},lr_schedule={schedule}")
        assert isinstance(model, genart.FollowsProgress)
        train(model, data, TrainConfig(steps=4, batch_size=4, progress=False), device=torch.device("cpu"),
              checkpoint_path=None)
        assert model.optimizer.param_groups[0]["lr"] == pytest.approx(last), "the last step's: 2e-3 * (1 - 3/4)"
    untold = build(builtin_app, f"{TINY},lr_schedule=linear")
    untold.train_step(make_tiny_images(4, 3, 8, seed=1))
    assert untold.optimizer.param_groups[0]["lr"] == 2e-3


@pytest.mark.parametrize(("spec", "cells"), [("vae:image_size=16,width=4,latent=32,latent_grid=4", 2),
                                             ("vae:image_size=32,width=4,latent=64,latent_grid=8", 1)])
def test_spatial_latent(builtin_app: App, spec: str, cells: int) -> None:
    """latent_grid=G: the latent is a G x G map (flattened to ``latent`` numbers, so the prior, walks and
    evaluate are unchanged) made and read by 3x3 convolutions, and each cell sees only its own region."""
    model = build(builtin_app, spec)
    check_model(model, steps=2, batch_size=4)
    grid = model.params.latent_grid
    assert model.latent_shape == (model.params.latent,) and model.net.cells == cells
    assert isinstance(model.net.to_stats, torch.nn.Conv2d) and model.net.base == grid
    z = torch.zeros(1, model.params.latent)
    nudged = z.clone()
    nudged.view(1, cells, grid, grid)[0, :, 0, 0] = 5.0  # the top-left cell only
    change = (model.decode(nudged) - model.decode(z)).abs().sum(1)[0]
    cell = model.params.image_size // grid
    assert change[:cell, :cell].sum() > 0, "the cell must reach its own corner"
    assert change[-cell:, -cell:].sum() == 0, "a far corner must not depend on that cell"


@pytest.mark.parametrize(("spec", "message"), [("vae:image_size=16,latent=32,latent_grid=3", "halved 1-5 times"),
                                               ("vae:image_size=16,latent=30,latent_grid=4", "divisible by G * G"),
                                               ("vae:image_size=16,latent=16,latent_grid=16", "halved 1-5 times")])
def test_bad_latent_grid_is_a_one_line_error(genart_cli: Any, builtin_app: App, tmp_path: Path, spec: str,
                                             message: str) -> None:
    result = genart_cli(["run", "--model", spec, "--steps", "1", "--out", str(tmp_path), "-q"], app=builtin_app)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output
