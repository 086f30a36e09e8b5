"""The test kit's new checks pass good components and catch broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from genart import Scored
from genart.contract.plugins import App
from genart.testing import build_context, check_dataset, check_gan_loss, check_latent
from genart_gan.losses import LOSSES


def test_check_latent_passes_the_toy_model_and_catches_a_wrong_shape(toy_app: App) -> None:
    model = build_context(toy_app).build("model", "toy")
    check_latent(model)
    model.latent_shape = (5,)  # decode cannot take these
    with pytest.raises((AssertionError, RuntimeError)):
        check_latent(model)


def test_check_latent_checks_encode_too(builtin_app: App) -> None:
    model = build_context(builtin_app).build("model", "vae:image_size=16,channels=1,width=4,latent=3")
    check_latent(model)
    model.encode = lambda images: torch.zeros(images.shape[0], 7)  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="encode gave"):
        check_latent(model)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_check_gan_loss_passes_the_builtin_losses(name: str) -> None:
    check_gan_loss(LOSSES[name]())


def test_check_gan_loss_catches_a_loss_that_ignores_the_discriminator() -> None:
    class Detached:
        def d_loss(self, d: Any, real: Scored, fake: Scored) -> torch.Tensor:
            return (real.scores.detach() - fake.scores.detach()).mean()

        def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
            return -fake.scores.mean()

    with pytest.raises(AssertionError, match="no gradient into the discriminator"):
        check_gan_loss(Detached())


def test_check_gan_loss_checks_that_a_relativistic_loss_uses_the_real_batch() -> None:
    class Relativistic:
        def __init__(self, use_real: bool) -> None:
            self.use_real = use_real

        def d_loss(self, d: Any, real: Scored, fake: Scored) -> torch.Tensor:
            return torch.nn.functional.softplus(fake.scores - real.scores).mean()

        def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
            raise AssertionError("not called")

        def g_loss_given_real(self, d: Any, fake: Scored, real: Scored) -> torch.Tensor:
            reference = real.scores.mean() if self.use_real else 0.0
            return torch.nn.functional.softplus(reference - fake.scores).mean()

    check_gan_loss(Relativistic(use_real=True))
    with pytest.raises(AssertionError, match="does not depend on the real batch"):
        check_gan_loss(Relativistic(use_real=False))


def test_check_dataset_checks_a_small_count(toy_app: App) -> None:
    dataset = build_context(toy_app).build("dataset", "dots:count=3")
    check_dataset(dataset, size=8, count=3)
    with pytest.raises(AssertionError, match="expected count=4"):
        check_dataset(dataset, size=8, count=4)


def test_tiny_run_fixture_makes_a_run_folder(tiny_run: Any, toy_app: App, genart_cli: Any, tmp_path: Path) -> None:
    run = tiny_run(toy_app, "toy", "dots", steps=3)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["train"]["steps_done"] == 3
    result = genart_cli(["sample", str(run), "--out", str(tmp_path / "more"), "-n", "2"], app=toy_app)
    assert result.exit_code == 0, result.output
