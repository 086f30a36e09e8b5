"""Registers the ``diffusion`` model, the samplers (component kind ``sampler``) and the image-conditioned
post-processors ``diffuse-vary`` and ``diffuse-inpaint`` (light: torch loads in the factories)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import genart
from genart import Register, RegisterComponent, param

SAMPLER_KIND = "sampler"


@dataclass
class DiffusionParams:
    """A compact U-Net denoiser trained by rectified flow (or EDM), sampled with an ODE/SDE sampler."""

    image_size: int = param(32, "side of the square images, 28 to 128 (28 for MNIST)")
    channels: int = param(3, "image channels: 1 (grey), 3 (colour) or 4 (colour with transparency, e.g. sprites)")
    width: int = param(0, "U-Net channels at its full resolution (twice that below); a multiple of 8, or 0: 16 x patch "
                          "(32 for grey images, 16 for colour)")
    max_mult: int = param(2, "channels double with each halving of the grid up to this multiple of width")
    patch: int = param(0, "pixels per side folded into channels before the U-Net (2: a 28 px grey image becomes "
                          "4 x 14 x 14); 0: 2 for grey images at the automatic width, else 1")
    depth: int = param(1, "residual blocks per resolution in the encoder (one more in the decoder)")
    levels: int = param(0, "resolutions of the U-Net (0: halve until the lowest grid is at most 8 px)")
    attention: int = param(1, "self-attention at this many of the lowest resolutions (and the middle; 0: none)")
    dropout: float = param(0.0, "dropout inside the residual blocks")
    layout: Literal["auto", "nchw", "nhwc"] = param(
        "auto", "memory layout of the U-Net's activations: nchw (contiguous), nhwc (channels_last), or auto: "
                "nchw on the CPU, where this small network trains 1.5-1.8x faster in it under bf16 (measured at "
                "28 px, widths 16-32), else the run's choice (channels_last under bf16/fp16 on CUDA)")
    objective: Literal["flow", "edm"] = param("flow", "training objective: flow (rectified flow, velocity target) "
                                                      "or edm (Karras et al. 2022 preconditioning)")
    t_mean: float | None = param(None, "flow: location of the logit-normal training distribution of t (positive: "
                                       "more training at high noise, where layout and colour are decided; "
                                       "none: 1.0 for colour, 0 for grey images)")
    t_std: float = param(1.0, "flow: scale of the logit-normal training distribution of t")
    lr: float = param(1e-3, "Adam learning rate (high: short CPU runs need fast progress)")
    lr_schedule: Literal["linear", "cosine", "constant"] = param(
        "linear", "learning rate over the run (by steps, or by wall clock under --minutes): linear or cosine "
                  "decay to 0 at the end, or constant")
    ema: float = param(0.999, "cap of the EMA decay of the weights used for sampling")
    sampler: str = param("stochastic", "sampler (a registered sampler component): stochastic (EDM's Algorithm 2), "
                                       "heun, euler, or a plugin's; walks always use a deterministic one")
    steps: int = param(0, "sampler steps (noise levels); Heun and stochastic evaluate the network 2*steps-1 times; "
                          "0: 40 for grey images, 20 for colour. Change at sample time: --model-args steps=N")
    sigma_min: float = param(0.002, "lowest noise level of the step schedule")
    sigma_max: float = param(80.0, "highest noise level of the step schedule (where sampling starts)")
    rho: float = param(7.0, "EDM schedule exponent (higher spends more steps at low noise)")
    tileable: bool = param(False, "samples tile seamlessly: circular padding in every convolution and training "
                                  "images rolled by random offsets (wrapping around)")
    cond_drop: float = param(0.1, "labelled data: share of training labels replaced by \"no class\", so the same "
                                  "network also learns the unconditional model guidance needs")
    guidance: float = param(1.5, "labelled data: classifier-free guidance scale when sampling a class (0: "
                                 "unconditional, 1: conditional, more: stronger class, less variety). Change at "
                                 "sample time: genart sample --guidance G")

    def validate(self) -> None:
        if not 28 <= self.image_size <= 128:
            raise ValueError("image_size must be from 28 to 128")
        if self.channels not in (1, 3, 4):
            raise ValueError("channels must be 1, 3 or 4")
        if self.width < 0 or self.width % 8 or 0 < self.width < 8:
            raise ValueError("width must be 0 (automatic) or a positive multiple of 8")
        if self.max_mult < 1 or self.patch < 0:
            raise ValueError("max_mult must be >= 1 and patch >= 0")
        if self.patch and self.image_size % self.patch:
            raise ValueError("image_size must be a multiple of patch")
        if self.depth < 1 or self.levels < 0 or self.attention < 0:
            raise ValueError("depth must be >= 1, levels and attention >= 0")
        if not 0 <= self.cond_drop < 1 or self.guidance < 0:
            raise ValueError("cond_drop must be in [0, 1) and guidance >= 0")
        if not 0 <= self.dropout < 1 or not 0 <= self.ema < 1:
            raise ValueError("dropout and ema must be in [0, 1)")
        if self.lr <= 0 or self.t_std <= 0:
            raise ValueError("lr and t_std must be > 0")
        if self.steps < 0:
            raise ValueError("steps must be >= 1 (or 0: automatic)")
        if not 0 < self.sigma_min < self.sigma_max or self.rho <= 0:
            raise ValueError("need 0 < sigma_min < sigma_max and rho > 0")


@dataclass
class StochasticParams:
    """EDM's stochastic sampler: Heun steps with fresh noise added before each ("churn")."""

    churn: float = param(10.0, "total noise added over the run (EDM's S_churn; 0 gives the Heun ODE sampler)")
    s_min: float = param(0.05, "add noise only at sigma >= s_min")
    s_max: float = param(50.0, "add noise only at sigma <= s_max")
    s_noise: float = param(1.003, "scale of the added noise (slightly above 1 offsets the denoiser's smoothing)")

    def validate(self) -> None:
        if self.churn < 0 or self.s_min < 0 or self.s_max < self.s_min or self.s_noise <= 0:
            raise ValueError("need churn >= 0, 0 <= s_min <= s_max and s_noise > 0")


@dataclass
class VaryParams:
    """SDEdit: noise each image partway and denoise it with a trained diffusion run."""

    run: Path | None = param(None, "run folder of a trained diffusion model")
    strength: float = param(0.5, "share of noise, 0..1: 0 keeps the image, 1 draws a new one")
    steps: int = param(0, "sampler steps over the noised part (0: the run's steps)")
    seed: int = param(0, "seed of the noise (same image and seed: same result)")

    def validate(self) -> None:
        if self.run is None:
            raise ValueError("needs run=DIR (a trained diffusion run)")
        if not 0 <= self.strength <= 1:
            raise ValueError("strength must be in 0..1")
        if self.steps < 0:
            raise ValueError("steps must be >= 0")


@dataclass
class InpaintParams:
    """RePaint: fill a masked region with content of the trained domain, consistent with the rest."""

    run: Path | None = param(None, "run folder of a trained diffusion model")
    mask: Path | None = param(None, "mask image, white where to fill (resized to each image); default: region")
    region: Literal["center", "left", "right", "top", "bottom"] = param(
        "center", "region to fill when no mask is given: the centre square of half the side, or a half")
    resample: int = param(3, "RePaint resampling: times each step is redone after re-noising (1: none)")
    steps: int = param(0, "sampler steps (0: the run's steps)")
    seed: int = param(0, "seed of the noise")

    def validate(self) -> None:
        if self.run is None:
            raise ValueError("needs run=DIR (a trained diffusion run)")
        if self.resample < 1 or self.steps < 0:
            raise ValueError("resample must be >= 1 and steps >= 0")


def build_diffusion(params: DiffusionParams, context: Any) -> Any:
    from .model import Diffusion

    return Diffusion(params, context)


def build_euler(params: Any, context: Any) -> Any:
    from .samplers import EulerSampler

    return EulerSampler()


def build_heun(params: Any, context: Any) -> Any:
    from .samplers import HeunSampler

    return HeunSampler()


def build_stochastic(params: StochasticParams, context: Any) -> Any:
    from .samplers import StochasticSampler

    return StochasticSampler(params.churn, params.s_min, params.s_max, params.s_noise)


def build_vary(params: VaryParams, context: Any) -> Any:
    from .edit import Vary

    return Vary(params, context)


def build_inpaint(params: InpaintParams, context: Any) -> Any:
    from .edit import Inpaint

    return Inpaint(params, context)


@genart.hookimpl
def register_models(register: Register) -> None:
    register("diffusion", build_diffusion, params=DiffusionParams,
             description="U-Net diffusion model (rectified flow, EMA, stochastic/Heun/Euler samplers)")


@genart.hookimpl
def register_components(register: RegisterComponent) -> None:
    register(SAMPLER_KIND, "euler", build_euler, description="Euler ODE sampler on EDM's step schedule (1 eval/step)")
    register(SAMPLER_KIND, "heun", build_heun,
             description="Heun ODE sampler on EDM's step schedule (2 evals/step, EDM Algorithm 1)")
    register(SAMPLER_KIND, "stochastic", build_stochastic, params=StochasticParams,
             description="EDM's stochastic sampler: Heun steps with added noise (Algorithm 2)")


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("diffuse-vary", build_vary, params=VaryParams,
             description="SDEdit with a trained diffusion run: noise partway, denoise (run=DIR,strength=0.5)")
    register("diffuse-inpaint", build_inpaint, params=InpaintParams,
             description="RePaint with a trained diffusion run: fill a mask with the run's domain (run=DIR)")
