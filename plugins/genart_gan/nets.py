"""Generator and discriminator: DCGAN-shaped convolutional stacks sized for 28-128 px.

The spatial pyramid halves the image until it is 4-11 px (``levels``), doubling the channels up to
8x ``width``, so one pair of classes covers MNIST's 28 px, 32 px and 64/128 px art.

With ``classes=K`` (labelled data) both become class-conditional: G takes the class as one-hot weights
beside z and through class-conditional BatchNorm (a gain and bias per class, as in BigGAN), and D adds the
projection term of Miyato & Koyama 2018 (the inner product of a class embedding with its pooled features).
A class is given as weights ``[N, K]`` (one-hot rows; a blend of rows for ``genart walk`` between
classes). With ``classes=0`` the networks are built exactly as before, layer for layer and draw for draw.
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


class ClassNorm(nn.Module):
    """BatchNorm whose gain and bias are chosen by the class (conditional BatchNorm, de Vries et al. 2017).

    The statistics are the plain batch's; the affine part is ``weights @ gain`` and ``weights @ bias``
    (``weights`` ``[N, K]``: one-hot for a class, a blend between classes), starting at gain 1, bias 0 for
    every class, i.e. where the unconditional BatchNorm starts."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Parameter(torch.ones(classes, channels))
        self.bias = nn.Parameter(torch.zeros(classes, channels))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        w = weights.to(self.gain.dtype)
        gain, bias = (w @ self.gain).to(x.dtype), (w @ self.bias).to(x.dtype)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


def norm(channels: int, classes: int) -> nn.Module:
    return ClassNorm(channels, classes) if classes else nn.BatchNorm2d(channels)


def up_block(c_in: int, c_out: int, upsample: str, classes: int = 0) -> list[nn.Module]:
    """One 2x step of G. 'nearest' (resize then 3x3 conv) avoids the checkerboard of transposed convs."""
    if upsample == "nearest":
        conv: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest"),
                                 nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]
    else:
        conv = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    return [*conv, norm(c_out, classes), nn.LeakyReLU(0.2)]


def conv_block(channels: int, classes: int = 0) -> list[nn.Module]:
    """A 3x3 conv that keeps the grid: depth for G where the grid is small and convolutions are cheap."""
    return [nn.Conv2d(channels, channels, 3, 1, 1, bias=False), norm(channels, classes), nn.LeakyReLU(0.2)]


def run_layers(layers: nn.Sequential, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``layers(x)`` with the class weights handed to every class-conditional norm."""
    for layer in layers:
        x = layer(x, weights) if isinstance(layer, ClassNorm) else layer(x)
    return x


class Generator(nn.Module):
    def __init__(self, latent: int, width: int, size: int, channels: int, upsample: str = "nearest",
                 categories: int = 0, blocks: int = 0, classes: int = 0) -> None:
        super().__init__()
        self.categories = categories
        self.classes = classes
        self.levels = levels_for(size)
        self.base = size // 2**self.levels
        top = channels_at(width, self.levels)
        self.top = top
        self.project = nn.Sequential(nn.Linear(latent + categories + classes, top * self.base**2),
                                     nn.Unflatten(1, (top, self.base, self.base)), norm(top, classes),
                                     nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        for level in reversed(range(self.levels)):
            c_in, c_out = channels_at(width, level + 1), channels_at(width, level)
            for _ in range(blocks):  # at every grid below the image size
                layers += conv_block(c_in, classes)
            layers += up_block(c_in, c_out, upsample, classes)
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] from latents; ``weights`` ``[N, classes]`` are required when ``classes`` > 0."""
        if self.categories:
            z = torch.cat([z, category_code(z, self.categories).to(z.dtype)], dim=1)
        if not self.classes:
            return self.body(self.project(z))
        if weights is None or weights.shape != (z.shape[0], self.classes):
            raise ValueError(f"a generator of {self.classes} classes needs class weights [N, {self.classes}]")
        z = torch.cat([z, weights.to(z.dtype)], dim=1)
        return run_layers(self.body, run_layers(self.project, z, weights), weights)


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
                 mbstd_group: int = 0, classes: int = 0) -> None:
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
        # the projection discriminator's class embedding: one vector per class over D's pooled channels
        self.classes = classes
        self.embed = wrap(nn.Linear(classes, top + 1, bias=False)) if classes else None

    def score(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[N]`` from the body's features: the head, plus with classes the projection term
        <embed(class), sum of the features over the grid>, so D judges "a real image of this class"."""
        scores = self.head(features).squeeze(1)
        if self.embed is None:
            return scores
        if weights is None:
            raise ValueError(f"a discriminator of {self.classes} classes needs class weights")
        pooled = features.unflatten(1, (self.embed.out_features, -1)).sum(2)
        return scores + (self.embed(weights.to(pooled.dtype)) * pooled).sum(1)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.body(x), weights)
