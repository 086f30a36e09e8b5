"""Encoder and decoder networks: strided convolutions down to a 4-7 px grid, a Gaussian latent.

Kept deliberately plain (no normalisation layers, which cost more than they help at this size on a
CPU) so the default model trains to recognisable samples in well under a minute on two cores.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .upsample import Upsample2x


def num_levels(size: int) -> int:
    """Stride-2 stages that keep the smallest grid at 4 px or more (32 -> 3 levels, 28 -> 2)."""
    levels = 0
    while size % 2 == 0 and size // 2 >= 4 and levels < 5:
        size //= 2
        levels += 1
    return levels


class Residual(nn.Module):
    """A 3x3 residual block: extra depth per level without changing the grid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.SiLU(), nn.Conv2d(channels, channels, 3, 1, 1), nn.SiLU(),
                                  nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def grid_levels(size: int, grid: int) -> int:
    """Stride-2 stages from ``size`` down to a ``grid`` px latent map (a power-of-two fraction of it)."""
    levels = 0
    while size > grid and size % 2 == 0:
        size //= 2
        levels += 1
    if size != grid:
        raise ValueError(f"latent_grid={grid} is not the image size halved a whole number of times")
    return levels


def level_widths(width: int, levels: int) -> list[int]:
    return [min(width * 2**level, 512) for level in range(levels)]


class VAENet(nn.Module):
    """Encoder x -> (mean, log-variance) of q(z|x); decoder z -> likelihood parameters."""

    def __init__(self, channels: int, size: int, latent: int, width: int, out_channels: int,
                 blocks: int = 0, grid: int = 0) -> None:
        super().__init__()
        self.levels = num_levels(size) if grid <= 0 else grid_levels(size, grid)
        self.base = size // 2**self.levels
        #: latent channels per cell of a spatial latent map (0: a flat vector through linear layers)
        self.cells = 0 if grid <= 0 else latent // (grid * grid)
        widths = level_widths(width, self.levels) or [width]
        self.top = widths[-1]
        encoder: list[nn.Module] = []
        c_in = channels
        for c_out in widths[: self.levels]:
            encoder += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.SiLU()]
            encoder += [Residual(c_out) for _ in range(blocks)]
            c_in = c_out
        if self.levels == 0:
            encoder += [nn.Conv2d(c_in, width, 3, 1, 1), nn.SiLU()]
        self.encoder = nn.Sequential(*encoder)
        self.to_stats: nn.Module
        self.from_latent: nn.Module
        if self.cells:
            self.to_stats = nn.Conv2d(self.top, 2 * self.cells, 3, 1, 1)
            self.from_latent = nn.Conv2d(self.cells, self.top, 3, 1, 1)
        else:
            flat = self.top * self.base * self.base
            self.to_stats = nn.Linear(flat, 2 * latent)
            self.from_latent = nn.Linear(latent, flat)
        decoder: list[nn.Module] = []
        for level in reversed(range(self.levels)):
            c_in = widths[level]
            c_out = widths[level - 1] if level > 0 else max(width // 2, 8)
            decoder += [Residual(c_in) for _ in range(blocks)]
            decoder += [nn.SiLU(), Upsample2x(c_in, c_out)]
        c_last = max(width // 2, 8) if self.levels else width
        decoder.append(nn.SiLU())
        self.decoder = nn.Sequential(*decoder)
        self.to_output = nn.Conv2d(c_last, out_channels, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x * 2 - 1)
        if not self.cells:
            h = h.flatten(1)
        with full_precision(h):
            mean, log_var = self.to_stats(h.float()).chunk(2, dim=1)
        return mean.flatten(1), log_var.flatten(1).clamp(-12, 8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.cells:
            z = z.reshape(-1, self.cells, self.base, self.base)
        h = self.decoder(self.from_latent(z).view(-1, self.top, self.base, self.base))
        with full_precision(h):
            return self.to_output(h.float())


def full_precision(x: torch.Tensor) -> Any:
    """Autocast off: the latent statistics and the likelihood parameters stay fp32 under bf16
    training, since bf16 resolves only ~1/128 near 1, coarser than an 8-bit level."""
    return torch.autocast(x.device.type, enabled=False)
