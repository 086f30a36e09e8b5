"""Registers the VAE model and its likelihoods (light: torch loads in the factories)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import genart
from genart import Register, param

LIKELIHOOD_TAG = "vae-likelihood"


@dataclass
class VAEParams:
    """A convolutional VAE: strided convolutions around a Gaussian latent, trained on the ELBO."""

    image_size: int = param(32, "side of the square images (e.g. 32; 28 for MNIST)")
    channels: int = param(3, "image channels: 1 (grey), 3 (colour) or 4 (colour with transparency)")
    latent: int = param(32, "latent dimensions")
    latent_grid: int = param(0, "0: the latent is a flat vector (linear layers); G: a G x G map with latent / G^2 "
                                "channels per cell (3x3 convolutions), G the image size halved 1-5 times")
    width: int = param(32, "channels of the first convolution (doubles per level)")
    blocks: int = param(0, "residual blocks per resolution level (0: plain strided convolutions)")
    loss: str = param("mixlogistic", "likelihood p(x|z), a registered VAE loss: mixlogistic, logistic, gaussian, "
                                     "bernoulli, bce, mse (quote options: loss=\"bernoulli:binarize=true\")")
    beta: float = param(2.0, "weight of the KL term (beta-VAE; 1 is the true ELBO, more gives cleaner samples)")
    warmup: int = param(0, "KL warm-up: steps over which the KL weight ramps from 0 to beta")
    free_bits: float = param(0.0, "free bits: nats per latent dimension (batch average) not penalised")
    lr: float = param(2e-3, "Adam learning rate")
    lr_schedule: Literal["constant", "linear", "cosine"] = param(
        "constant", "learning rate over the run (by steps, or by wall clock under --minutes): constant, or "
                    "linear or cosine decay to 0 at the end")
    temperature: float = param(1.0, "spread of the prior draws decoded by sample (scales the fitted prior's "
                                     "components too)")
    prior: Literal["mixture", "normal"] = param("mixture", "what sample draws latents from: a Gaussian mixture "
                                                           "fitted to the training images' posterior means when "
                                                           "training ends (ex-post, stored in the checkpoint), or "
                                                           "the standard normal")
    prior_components: int = param(50, "components of the fitted mixture (1: one full-covariance Gaussian)")
    tileable: bool = param(False, "samples tile seamlessly: circular padding in every convolution and training "
                                  "images rolled by random offsets (wrapping around)")

    def validate(self) -> None:
        if self.image_size < 4:
            raise ValueError("image_size must be at least 4")
        if self.channels not in (1, 3, 4):
            raise ValueError("channels must be 1, 3 or 4 (RGBA)")
        if self.latent < 1 or self.width < 1 or self.blocks < 0:
            raise ValueError("latent and width must be positive, blocks >= 0")
        if self.beta < 0 or self.warmup < 0 or self.free_bits < 0:
            raise ValueError("beta, warmup and free_bits must be >= 0")
        if self.latent_grid and not any(self.image_size == self.latent_grid * 2**n for n in range(1, 6)):
            raise ValueError(f"latent_grid must be 0 or image_size ({self.image_size}) halved 1-5 times")
        if self.latent_grid < 0 or (self.latent_grid and self.latent % self.latent_grid**2):
            raise ValueError("latent_grid must be 0, or a G with latent divisible by G * G")
        if self.prior_components < 1:
            raise ValueError("prior_components must be >= 1")
        if self.lr <= 0 or self.temperature <= 0:
            raise ValueError("lr and temperature must be > 0")


@dataclass
class BernoulliParams:
    """Independent Bernoulli pixels (binary data such as MNIST)."""

    binarize: bool = param(True, "dynamic binarisation: redraw each pixel as 0/1 with its grey level as "
                                 "probability every time it is seen (the standard MNIST likelihood protocol)")


@dataclass
class DiscretizedParams:
    """A location-scale distribution discretised to 256 levels, with a learned scale."""

    scale: Literal["pixel", "channel"] = param("channel", "learned scale: one per channel (sharper samples) or "
                                                          "per pixel, predicted by the decoder (better bits/dim)")


@dataclass
class LogisticMixtureParams:
    """A per-pixel mixture of discretised logistics: edges as a choice between colours, not their average."""

    components: int = param(3, "mixture components per pixel (each one colour, with its own scale per channel)")
    show: Literal["mode", "mean"] = param("mode", "image shown: each pixel's most probable component (sharp "
                                                  "edges) or the mixture's mean (blurred like one logistic)")
    scale: Literal["shared", "component"] = param("shared", "learned scale per channel: one set shared by all "
                                                            "components, or one set per component")
    smooth: int = param(1, "show=mode: average the weights over a (2 smooth + 1)-pixel square before picking "
                           "(fewer stray pixels along edges; 0: per pixel)")

    def validate(self) -> None:
        if self.components < 1:
            raise ValueError("components must be >= 1")
        if self.smooth < 0:
            raise ValueError("smooth must be >= 0")


@dataclass
class FixedGaussianParams:
    """Gaussian pixels with a fixed standard deviation."""

    sigma: float = param(0.1, "standard deviation in [0,1] pixel units (smaller weighs reconstruction more)")

    def validate(self) -> None:
        if self.sigma <= 0:
            raise ValueError("sigma must be > 0")


def build_vae(params: VAEParams, context: Any) -> Any:
    from .model import VAE

    return VAE(params, context)


def _likelihood_factory(name: str) -> Any:
    def factory(params: Any, context: Any) -> Any:
        from .likelihoods import build_likelihood

        return build_likelihood(name, params)

    factory.__name__ = f"build_{name}"
    return factory


@genart.hookimpl
def register_models(register: Register) -> None:
    register("vae", build_vae, params=VAEParams,
             description="convolutional variational autoencoder (diverse samples, smooth latent space)")


@genart.hookimpl
def register_losses(register: Register) -> None:
    tags = (LIKELIHOOD_TAG,)
    register("logistic", _likelihood_factory("logistic"), params=DiscretizedParams, tags=tags,
             description="VAE likelihood: discretised logistic over 256 levels with learned scale (colour)")
    register("gaussian", _likelihood_factory("gaussian"), params=DiscretizedParams, tags=tags,
             description="VAE likelihood: discretised Gaussian over 256 levels with learned variance (colour)")
    register("mixlogistic", _likelihood_factory("mixlogistic"), params=LogisticMixtureParams, tags=tags,
             description="VAE likelihood: per-pixel mixture of discretised logistics (sharp edges between colours)")
    register("bernoulli", _likelihood_factory("bernoulli"), params=BernoulliParams, tags=tags,
             description="VAE likelihood: Bernoulli pixels with dynamic binarisation (binary data, MNIST)")
    register("bce", _likelihood_factory("bce"), tags=tags,
             description="VAE likelihood: binary cross-entropy on grey levels (no binarisation; a density only)")
    register("mse", _likelihood_factory("mse"), params=FixedGaussianParams, tags=tags,
             description="VAE likelihood: Gaussian with fixed sigma, i.e. scaled squared error (a density only)")
