"""Generator and discriminator: DCGAN-shaped convolutional stacks sized for 28-128 px.

The spatial pyramid halves the image until it is 4-11 px (``levels``), doubling the channels up to
8x ``width``, so one pair of classes covers MNIST's 28 px, 32 px and 64/128 px art.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn


def levels_for(size: int) -> int:
    """Number of 2x steps between the base grid (>= 4 px) and ``size`` (a multiple of 4)."""
    levels = 0
    while size % 2 ** (levels + 1) == 0 and size // 2 ** (levels + 1) >= 4:
        levels += 1
    return levels


def channels_at(width: int, level: int) -> int:
    return width * min(2**level, 8)


def up_block(c_in: int, c_out: int, upsample: str) -> list[nn.Module]:
    """One 2x step of G. 'nearest' (resize then 3x3 conv) avoids the checkerboard of transposed convs."""
    if upsample == "nearest":
        conv: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest"),
                                 nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]
    else:
        conv = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    return [*conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]


def conv_block(channels: int) -> list[nn.Module]:
    """A 3x3 conv that keeps the grid: depth for G where the grid is small and convolutions are cheap."""
    return [nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.LeakyReLU(0.2)]


class Generator(nn.Module):
    def __init__(self, latent: int, width: int, size: int, channels: int, upsample: str = "nearest",
                 categories: int = 0, blocks: int = 0) -> None:
        super().__init__()
        self.categories = categories
        self.levels = levels_for(size)
        self.base = size // 2**self.levels
        top = channels_at(width, self.levels)
        self.top = top
        self.project = nn.Sequential(nn.Linear(latent + categories, top * self.base**2),
                                     nn.Unflatten(1, (top, self.base, self.base)), nn.BatchNorm2d(top),
                                     nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        for level in reversed(range(self.levels)):
            c_in, c_out = channels_at(width, level + 1), channels_at(width, level)
            for _ in range(blocks):  # at every grid below the image size
                layers += conv_block(c_in)
            layers += up_block(c_in, c_out, upsample)
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.categories:
            z = torch.cat([z, category_code(z, self.categories).to(z.dtype)], dim=1)
        return self.body(self.project(z))


def category_of(z: torch.Tensor, categories: int) -> torch.Tensor:
    """The discrete code carried by a Gaussian latent: z's first entry, cut into K equally likely bins.

    Deriving it from z (instead of drawing it beside z) keeps the latent one Gaussian vector, so
    ``sample``, ``decode`` and ``genart walk`` need no special case; the normal CDF makes the K
    categories equally likely, and any K works with any latent size."""
    uniform = 0.5 * (1 + torch.erf(z[:, 0].float() / 2**0.5))
    return (uniform * categories).long().clamp_(0, categories - 1)


def latents_in_category(n: int, latent: int, category: int, categories: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` Gaussian latents whose first entry lies in ``category``'s bin (the inverse of ``category_of``):
    to draw, or show, one category on purpose."""
    z = torch.randn(n, latent, generator=generator)
    u = (category + torch.rand(n, generator=generator).clamp(1e-4, 1 - 1e-4)) / categories
    z[:, 0] = torch.special.ndtri(u)
    return z


def category_code(z: torch.Tensor, categories: int) -> torch.Tensor:
    return nn.functional.one_hot(category_of(z, categories), categories).float()


class MinibatchStd(nn.Module):
    """Appends the mean feature standard deviation as a channel, so D can see a collapse.

    ``group=0`` takes it over the whole batch (one number for every image). ``group=G`` takes it within
    groups of G images, as StyleGAN does: each image gets its own group's figure, so a batch with a few
    near-copies in it shows them to D instead of averaging them away among the rest.

    The square root gets a small floor. R1 differentiates D's gradient, and the second derivative of
    ``std`` where a feature barely varies across the batch divides by ~0: inf, then NaN. Under bf16
    such features are common (MNIST's blank borders); it killed the benchmark run at step 1233."""

    def __init__(self, group: int = 0) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n < 2:
            std = x.new_zeros((n, 1, *x.shape[2:]), dtype=torch.float32)
        elif self.group < 2 or n % min(self.group, n):  # whole batch (also when groups do not divide it)
            value = (x.float().var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
            std = value.expand(n, 1, *x.shape[2:])
        else:
            g = min(self.group, n)
            grouped = x.float().reshape(g, n // g, *x.shape[1:])  # image i is in group i % (n // g)
            value = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # [n // g]
            std = value.repeat(g).view(n, 1, 1, 1).expand(n, 1, *x.shape[2:])
        return torch.cat([x, std.to(x.dtype)], dim=1)


class Discriminator(nn.Module):
    def __init__(self, width: int, size: int, channels: int, spectral_norm: bool, categories: int = 0,
                 mbstd_group: int = 0) -> None:
        super().__init__()
        wrap = _sn if spectral_norm else (lambda module: module)
        self.levels = levels_for(size)
        base = size // 2**self.levels
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, width, 3, 1, 1)), nn.LeakyReLU(0.2)]
        for level in range(self.levels):
            c_in, c_out = channels_at(width, level), channels_at(width, level + 1)
            layers += [wrap(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]
        top = channels_at(width, self.levels)
        layers += [MinibatchStd(mbstd_group), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        features = (top + 1) * base * base
        self.head = wrap(nn.Linear(features, 1))
        # InfoGAN's Q: predicts G's categorical code from D's features (shared trunk, own linear layer)
        self.classify = nn.Linear(features, categories) if categories else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(1)
