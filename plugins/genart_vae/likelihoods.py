"""Decoder likelihoods p(x | z): what the VAE's reconstruction term measures, in nats per image.

Each likelihood tells the decoder how many output channels it needs (a per-pixel scale doubles
them), turns decoder output into a log-likelihood of the target, and into the image to show (the
distribution's mean). Discrete likelihoods (``levels`` set) are proper probabilities of 8-bit or
binary pixels, so their nats convert to bits per dimension and compare with the literature;
continuous ones (``mse``, ``bce`` on grey levels) are training objectives only.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


class Likelihood(nn.Module):
    """Base class: a (possibly learnable) module the VAE owns and trains with its decoder."""

    #: number of values each pixel channel takes (2: binary, 256: 8-bit), None for a density
    levels: int | None = None

    def out_channels(self, channels: int) -> int:
        return channels

    def prepare(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The target the likelihood scores (e.g. a binarised draw); identity by default."""
        return x

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``x`` (``[N, C, H, W]`` in [0, 1]) per image, in nats."""
        raise NotImplementedError

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The image to show for decoder output ``out``: the likelihood's mean, in [0, 1]."""
        raise NotImplementedError


class Bernoulli(Likelihood):
    """Independent Bernoulli pixels. With ``binarize`` each target pixel is redrawn as 0/1 with
    probability equal to its grey level every time it is seen (dynamic binarisation), the standard
    protocol for MNIST likelihoods; without it this is the usual BCE on grey levels."""

    def __init__(self, binarize: bool) -> None:
        super().__init__()
        self.binarize = binarize
        self.levels = 2 if binarize else None

    def prepare(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.binarize:
            return x
        if generator is None:
            return torch.bernoulli(x.float().clamp(0, 1))
        noise = torch.rand(x.shape, generator=generator, device=generator.device).to(x.device)
        return (noise < x.float()).float()

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(out.float(), x.float(), reduction="none").flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out.float())


class FixedGaussian(Likelihood):
    """Gaussian with a fixed standard deviation: a scaled squared error (continuous density)."""

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.sigma = sigma

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mean = torch.sigmoid(out.float())
        squared = (mean - x.float()).pow(2).flatten(1).sum(1)
        dims = x[0].numel()
        return 0.5 * squared / self.sigma**2 + dims * (math.log(self.sigma) + 0.5 * LOG_2PI)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out.float())


class Discretized(Likelihood):
    """A location-scale distribution (logistic or Gaussian) discretised to the 256 levels of 8-bit
    pixels, as in PixelCNN++: each level owns a bin of width 2/255 on [-1, 1] and the two extreme
    levels take the tails. The scale is learned, per pixel (the decoder predicts it) or per channel
    (one parameter each), so the model calibrates its own noise instead of us guessing a beta."""

    levels = 256

    def __init__(self, family: str, scale: str, min_log_scale: float = -7.0) -> None:
        super().__init__()
        self.family = family
        self.per_pixel = scale == "pixel"
        self.min_log_scale = min_log_scale
        self.log_scale = None if self.per_pixel else nn.Parameter(torch.full((4,), -2.0))

    def out_channels(self, channels: int) -> int:
        return 2 * channels if self.per_pixel else channels

    def _params(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = out.float()
        if self.per_pixel:
            mean, log_scale = out.chunk(2, dim=1)
        else:
            assert self.log_scale is not None  # a learned scale per channel when not per pixel
            mean = out
            log_scale = self.log_scale[: out.shape[1]].view(1, -1, 1, 1)  # broadcasts over the pixels
        return mean, log_scale.clamp(min=self.min_log_scale)

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mean, log_scale = self._params(out)
        # Snap targets to the 8-bit grid so the likelihood is a proper pmf over 256 levels.
        x = (x.float().clamp(0, 1) * 255).round() / 127.5 - 1
        if self.family == "logistic":
            return -_discretised_logistic(x, mean, log_scale).flatten(1).sum(1)
        # The Gaussian: CDF differences, with the density times the bin width where they underflow.
        inv_scale = torch.exp(-log_scale)
        centred = x - mean
        upper = (centred + 1 / 255) * inv_scale
        lower = (centred - 1 / 255) * inv_scale
        log_cdf_upper, cdf_upper = torch.special.log_ndtr(upper), torch.special.ndtr(upper)
        log_sf_lower, cdf_lower = torch.special.log_ndtr(-lower), torch.special.ndtr(lower)
        delta = cdf_upper - cdf_lower
        t = centred * inv_scale
        log_mid = -0.5 * t * t - log_scale - 0.5 * LOG_2PI + math.log(2 / 255)
        interior = torch.where(delta > 1e-5, torch.log(delta.clamp(min=1e-12)), log_mid)
        log_prob = torch.where(x < -0.999, log_cdf_upper, torch.where(x > 0.999, log_sf_lower, interior))
        return -log_prob.flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        mean, _ = self._params(out)
        return ((mean + 1) / 2).clamp(0, 1)


class LogisticMixture(Likelihood):
    """A per-pixel mixture of ``components`` discretised logistics (PixelCNN++'s output distribution,
    without the autoregression): the decoder predicts, for every pixel, mixture weights and one RGB
    mean per component; a learned scale per channel, shared by the components (or one set each).
    Colour channels are independent given the component, so one component is one colour.

    Why: where the decoder is unsure where an edge lies, a single logistic can only hedge with the
    average colour (a blur); a mixture puts its mass on the two colours either side. ``show=mode``
    shows, per pixel, the mean of the most probable component (a sharp edge where the weights
    cross), after averaging the weights over a (2 ``smooth`` + 1)-pixel square, so that near-ties do not
    scatter single pixels of another colour along an edge; ``show=mean`` shows the mixture's mean (as
    blurred as a single logistic). Neither changes the likelihood."""

    levels = 256

    def __init__(self, components: int, show: str, shared_scale: bool = True, smooth: int = 0,
                 min_log_scale: float = -7.0) -> None:
        super().__init__()
        self.components = components
        self.show = show
        self.smooth = smooth
        self.min_log_scale = min_log_scale
        self.log_scale = nn.Parameter(torch.full((1 if shared_scale else components, 4), -2.0))

    def out_channels(self, channels: int) -> int:
        return self.components * (channels + 1)

    def _params(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log mixture weights ``[N, K, H, W]``, means ``[N, K, C, H, W]``, log scales ``[1, K, C, 1, 1]``."""
        out = out.float()
        n, _, h, w = out.shape
        k = self.components
        logits, means = out[:, :k], out[:, k:].reshape(n, k, -1, h, w)
        log_scale = self.log_scale[:, : means.shape[2]].clamp(min=self.min_log_scale)
        return torch.log_softmax(logits, dim=1), means, log_scale.view(1, self.log_scale.shape[0], -1, 1, 1)

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        log_weights, means, log_scale = self._params(out)
        x = (x.float().clamp(0, 1) * 255).round() / 127.5 - 1
        per_component = _discretised_logistic(x[:, None], means, log_scale).sum(2)  # [N, K, H, W]
        return -torch.logsumexp(per_component + log_weights, dim=1).flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        log_weights, means, _ = self._params(out)
        if self.show == "mode":
            weights = log_weights.exp()
            if self.smooth > 0:
                weights = F.avg_pool2d(weights, 2 * self.smooth + 1, 1, self.smooth, count_include_pad=False)
            index = weights.argmax(dim=1, keepdim=True)[:, :, None].expand(-1, 1, means.shape[2], -1, -1)
            picked = means.gather(1, index)[:, 0]
        else:
            picked = (log_weights.exp()[:, :, None] * means).sum(1)
        return ((picked + 1) / 2).clamp(0, 1)


def _discretised_logistic(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(pixel level x) for a logistic discretised to the bins [x - 1/255, x + 1/255] on [-1, 1].

    Uses sigma(u) - sigma(l) = sigma(u) sigma(-l) (1 - exp(l - u)): three terms that are each stable in
    the tails, so no fallback for an underflowing difference is needed, and u - l = (2/255) / scale is
    known before the pixels are. About half the element-wise passes (and their backward) of the
    textbook form, which matters in a small VAE's step, where the convolutions are cheap. The two
    extreme levels take the tails.
    """
    inv_scale = torch.exp(-log_scale)
    centred = x - mean
    log_cdf_upper = -F.softplus(-(centred + 1 / 255) * inv_scale)  # log sigma(u)
    log_sf_lower = -F.softplus((centred - 1 / 255) * inv_scale)  # log sigma(-l)
    log_bin = torch.log(-torch.expm1(-(2 / 255) * inv_scale))  # log(1 - exp(l - u))
    not_top, not_bottom = (x < 0.999).float(), (x > -0.999).float()
    return log_cdf_upper * not_top + log_sf_lower * not_bottom + log_bin * (not_top * not_bottom)


def build_likelihood(name: str, params: Any) -> Likelihood:
    if name == "bernoulli":
        return Bernoulli(binarize=params.binarize)
    if name == "bce":
        return Bernoulli(binarize=False)
    if name == "mse":
        return FixedGaussian(params.sigma)
    if name == "mixlogistic":
        return LogisticMixture(params.components, params.show, params.scale == "shared", params.smooth)
    return Discretized(name, params.scale)
