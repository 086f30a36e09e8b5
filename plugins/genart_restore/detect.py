"""What is wrong with a picture, measured from the picture alone: the default ``restore`` decides from these.

Two cheap, robust readings per image:

* ``estimate_sigma`` (Donoho's MAD of the finest diagonal Haar band, in degrade.py): white noise. On
  Kodak24 it reads 1.5-8.2 (0-255 units) on the clean photos (texture reads as a little noise) and
  11.9-18.5 with sigma-15 noise, so ``NOISE_THRESHOLD`` = 10 separates them with margin on both sides.
* ``blockiness``: JPEG's 8x8 grid. The mean absolute luma step across the grid's lines divided by the mean
  step inside blocks: about 1.0 (0.97-1.05) on clean photos, 1.27-3.95 after JPEG at quality 30 or lower,
  1.15-1.68 at quality 50, 0.99-1.18 at 90. ``BLOCK_THRESHOLD`` = 1.12 sits above every clean photo.

Both need some pixels: an image under ``MIN_SIZE`` on a side is left as it is, and blocking is only judged
from ``MIN_BLOCK_SIZE`` up: a 32 px picture has three grid lines each way, too few to tell JPEG from chance
(the default run's 32 px VAE samples read 0.81-2.0, their decoder upsampling on its own 8 px grid).
"""

from __future__ import annotations

import torch

from .degrade import estimate_sigma

NOISE_THRESHOLD = 10.0  # 0-255 units
BLOCK_THRESHOLD = 1.12
MIN_SIZE = 32
MIN_BLOCK_SIZE = 64


def luma(colour: torch.Tensor) -> torch.Tensor:
    """``[N, 1, H, W]`` Rec. 601 luma of ``[N, 3, H, W]`` (grey passes through)."""
    if colour.shape[1] == 1:
        return colour
    r, g, b = colour[:, 0:1], colour[:, 1:2], colour[:, 2:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def _grid_ratio(steps: torch.Tensor, dim: int) -> torch.Tensor:
    """Per image: mean step across 8-pixel grid lines over mean step elsewhere (along ``dim``)."""
    n = steps.shape[dim]
    phase = torch.arange(n, device=steps.device) % 8
    on = steps.index_select(dim, (phase == 7).nonzero()[:, 0]).flatten(1).mean(1)
    off = steps.index_select(dim, (phase != 7).nonzero()[:, 0]).flatten(1).mean(1)
    return on / off.clamp_min(1e-6)


def blockiness(colour: torch.Tensor) -> torch.Tensor:
    """Per image: how much stronger luma steps are on JPEG's 8x8 grid than off it (1 = no grid)."""
    y = luma(colour.float())
    if min(y.shape[-2:]) < 16:
        return torch.ones(y.shape[0], device=y.device)
    across_columns = (y[..., :, 1:] - y[..., :, :-1]).abs()
    across_rows = (y[..., 1:, :] - y[..., :-1, :]).abs()
    return (_grid_ratio(across_columns, 3) + _grid_ratio(across_rows, 2)) / 2


def diagnose(colour: torch.Tensor) -> list[str]:
    """Per image: ``"denoise"``, ``"jpeg"`` or ``"none"``.

    Noise first: a noisy picture has no visible grid, and a JPEG reads almost noise-free (the quantiser
    removes the finest band), so the two readings rarely both fire; when they do, noise is what shows.
    """
    if min(colour.shape[-2:]) < MIN_SIZE:
        return ["none"] * colour.shape[0]
    grey = colour.expand(-1, 3, -1, -1) if colour.shape[1] == 1 else colour
    sigmas = (estimate_sigma(grey.float()) * 255).tolist()
    blocks = blockiness(colour).tolist() if min(colour.shape[-2:]) >= MIN_BLOCK_SIZE else [1.0] * colour.shape[0]
    return ["denoise" if s > NOISE_THRESHOLD else "jpeg" if b > BLOCK_THRESHOLD else "none"
            for s, b in zip(sigmas, blocks, strict=True)]
