"""Registers the ``gan`` model and the adversarial losses (light: torch loads in the factories)."""

from __future__ import annotations

from typing import Any

import genart
from genart import Register

from .params import GANParams


def build_gan(params: GANParams, context: Any) -> Any:
    from .model import GAN

    return GAN(params, context)


def _loss_factory(name: str) -> Any:
    def build(params: None, context: Any) -> Any:
        from . import losses

        return losses.LOSSES[name]()

    return build


@genart.hookimpl
def register_models(register: Register) -> None:
    register("gan", build_gan, params=GANParams,
             description="data-efficient conv GAN (spectral norm, lazy R1, EMA of G, DiffAugment)")


@genart.hookimpl
def register_losses(register: Register) -> None:
    register("ns", _loss_factory("ns"), description="non-saturating GAN loss (binary cross-entropy on logits)",
             tags=("gan",))
    register("hinge", _loss_factory("hinge"), description="hinge GAN loss (as in SNGAN / BigGAN)", tags=("gan",))
    register("lsgan", _loss_factory("lsgan"), description="least-squares GAN loss (targets 1 real, 0 fake)",
             tags=("gan",))
    register("wgan-gp", _loss_factory("wgan-gp"),
             description="Wasserstein loss with gradient penalty on real/fake interpolates (weight 10)",
             tags=("gan",))
