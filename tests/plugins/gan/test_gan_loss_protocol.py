"""The GAN family's loss protocol: what a third-party loss implements, checked with isinstance."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import genart
from genart import GANLoss, RelativisticGANLoss, Scored
from genart.contract.plugins import App
from genart.testing import build_context, make_tiny_images
from genart_gan.losses import LOSSES

TINY = "gan:image_size=28,channels=1,width=4,latent=8"


class Relativistic:
    """Relativistic average loss (Jolicoeur-Martineau 2018): G's objective needs the real batch."""

    def __init__(self) -> None:
        self.real_shapes: list[tuple[int, ...]] = []

    def d_loss(self, d: Any, real: Scored, fake: Scored) -> torch.Tensor:
        r, f = real.scores.float(), fake.scores.float()
        return torch.nn.functional.softplus(-(r - f.mean())).mean() + torch.nn.functional.softplus(f - r.mean()).mean()

    def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
        raise AssertionError("a relativistic loss is given the real batch")

    def g_loss_given_real(self, d: Any, fake: Scored, real: Scored) -> torch.Tensor:
        self.real_shapes.append(tuple(real.images.shape))
        r, f = real.scores.float(), fake.scores.float()
        return torch.nn.functional.softplus(-(f - r.mean())).mean() + torch.nn.functional.softplus(r - f.mean()).mean()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_builtin_losses_implement_the_protocol(name: str) -> None:
    assert isinstance(LOSSES[name](), GANLoss)
    assert not isinstance(LOSSES[name](), RelativisticGANLoss)


def test_a_relativistic_loss_gets_the_real_batch(builtin_app: App, register_plugin: Any) -> None:
    made: list[Relativistic] = []

    class ThirdParty:
        @genart.hookimpl
        def register_losses(self, register: Any) -> None:
            register("rel", lambda p, c: made.append(Relativistic()) or made[-1], tags=("gan",))

    register_plugin(ThirdParty(), "rel-loss", app=builtin_app)
    model = build_context(builtin_app).build("model", f"{TINY},loss=rel")
    logs = model.train_step(make_tiny_images(4, 1, 28))
    assert made[0].real_shapes == [(4, 1, 28, 28)] and torch.isfinite(torch.tensor(logs["g_loss"]))


def test_a_loss_without_d_loss_is_refused(builtin_app: App, register_plugin: Any) -> None:
    class OnlyG:
        def g_loss(self, d: Any, fake: Scored) -> torch.Tensor:
            return fake.scores.mean()

    class ThirdParty:
        @genart.hookimpl
        def register_losses(self, register: Any) -> None:
            register("only-g", lambda p, c: OnlyG(), description="half a loss", tags=("gan",))

    register_plugin(ThirdParty(), "half-loss", app=builtin_app)
    with pytest.raises(genart.UsageError, match="not an adversarial loss"):
        build_context(builtin_app).build("model", f"{TINY},loss=only-g")
