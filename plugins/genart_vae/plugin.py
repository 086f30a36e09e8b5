"""Registers the VAE model and its reconstruction losses (light: torch loads in the factories)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import genart
from genart import param


@dataclass
class VAEParams:
    """A convolutional VAE: encoder and decoder of strided convolutions around a Gaussian latent."""

    image_size: int = param(32, "side of the square images, a multiple of 8 (e.g. 28 via padding is not allowed)")
    channels: int = param(3, "image channels: 1 (grey) or 3 (colour)")
    latent: int = param(32, "latent dimensions")
    width: int = param(32, "channels of the first convolution (doubles per level)")
    beta: float = param(1.0, "weight of the KL term (beta-VAE)")
    loss: str = param("bce", "reconstruction loss (a registered loss, e.g. bce, mse)")
    lr: float = param(2e-3, "Adam learning rate")

    def validate(self) -> None:
        if self.image_size < 8 or self.image_size % 4:
            raise ValueError("image_size must be a multiple of 4 and at least 8")
        if self.channels not in (1, 3):
            raise ValueError("channels must be 1 or 3")
        if self.latent < 1 or self.width < 1:
            raise ValueError("latent and width must be positive")


def build_vae(params: VAEParams, context: Any) -> Any:
    from .model import VAE

    return VAE(params, context)


def build_bce(params: None, context: Any) -> Any:
    from .losses import bernoulli_nll

    return bernoulli_nll


def build_mse(params: None, context: Any) -> Any:
    from .losses import gaussian_nll_fixed

    return gaussian_nll_fixed


@genart.hookimpl
def register_models(register: Any) -> None:
    register("vae", build_vae, params=VAEParams,
             description="convolutional variational autoencoder (diverse samples, smooth latent space)")


@genart.hookimpl
def register_losses(register: Any) -> None:
    register("bce", build_bce, description="Bernoulli likelihood (binary cross-entropy), summed per image",
             tags=("vae-likelihood",))
    register("mse", build_mse, description="Gaussian likelihood with fixed variance (scaled squared error)",
             tags=("vae-likelihood",))
