"""Mapping colour images (already in the distance space, ``[N, H, W, 3]``) to palette indices.

``none`` picks each pixel's nearest palette colour. ``bayer`` adds an 8x8 ordered threshold before
picking, so flat areas between two palette colours become a regular pattern. ``floyd-steinberg``
pushes each pixel's error onto its unvisited neighbours. ``strength`` scales the threshold or the error
(0 is the same as ``none``).
"""

from __future__ import annotations

from typing import Any

from .quantize import nearest_index


def bayer_matrix(size: int = 8) -> Any:
    """The ``size`` x ``size`` Bayer threshold matrix, values in (0, 1) centred on 0.5."""
    import torch

    matrix = torch.zeros(1, 1, dtype=torch.float64)
    while matrix.shape[0] < size:
        matrix = torch.cat([torch.cat([4 * matrix, 4 * matrix + 2], 1), torch.cat([4 * matrix + 3, 4 * matrix + 1], 1)])
    return (matrix + 0.5) / matrix.numel()


def palette_spread(palette: Any) -> float:
    """Mean distance from each palette colour to its nearest other one: the step a dither must bridge."""
    import torch

    if palette.shape[0] < 2:
        return 0.0
    distance = torch.cdist(palette.double(), palette.double())
    distance.fill_diagonal_(float("inf"))
    return float(distance.min(1).values.mean())


def nearest_by_runs(rgb: Any, palette: Any, space: str) -> Any:
    """Nearest palette indices ``[N, H, W]`` for sRGB ``rgb`` ``[N, H, W, 3]``, converting only the first pixel
    of each horizontal run of identical pixels (a pixelized image is mostly runs) and copying its answer along."""
    import torch

    from .colour import to_space

    n, h, w, _ = rgb.shape
    rows = rgb.reshape(n * h, w, 3)
    start = torch.ones(n * h, w, dtype=torch.bool, device=rgb.device)
    start[:, 1:] = (rows[:, 1:] != rows[:, :-1]).any(-1)
    found = nearest_index(to_space(rows[start], space), palette)
    per_start = torch.zeros(n * h, w, dtype=torch.int64, device=rgb.device)
    per_start[start] = found
    last = torch.where(start, torch.arange(w, device=rgb.device).expand(n * h, w), 0).cummax(1).values
    return per_start.gather(1, last).reshape(n, h, w)


def map_indices(pixels: Any, palette: Any, dither: str, strength: float, space: str, opaque: Any) -> Any:
    """Palette indices ``[N, H, W]`` for ``pixels`` ``[N, H, W, 3]`` (in the space ``palette`` is in)."""
    n, h, w = pixels.shape[:3]
    if dither == "none" or strength == 0 or palette.shape[0] < 2:
        return nearest_index(pixels.reshape(n * h * w, -1), palette).reshape(n, h, w)
    if dither == "bayer":
        threshold = bayer_matrix().to(pixels.device, pixels.dtype) - 0.5
        reps = (-(-h // 8), -(-w // 8))
        offset = threshold.repeat(*reps)[:h, :w] * strength * palette_spread(palette)
        direction = pixels.new_tensor({"oklab": [1.0, 0.0, 0.0], "lightness": [1.0]}.get(space, [3 ** -0.5] * 3))
        shifted = pixels + offset[None, :, :, None] * direction
        return nearest_index(shifted.reshape(n * h * w, -1), palette).reshape(n, h, w)
    return floyd_steinberg(pixels, palette, strength, opaque)


def floyd_steinberg(pixels: Any, palette: Any, strength: float, opaque: Any) -> Any:
    """Raster-order error diffusion (7/16 right, 3/16 down-left, 5/16 down, 1/16 down-right), all images at once."""
    import numpy as np
    import torch

    work = pixels.detach().cpu().double().numpy().copy()
    pal = palette.detach().cpu().double().numpy()
    keep = opaque.detach().cpu().numpy().astype(np.float64)[..., None] * strength
    n, h, w, _ = work.shape
    out = np.zeros((n, h, w), dtype=np.int64)
    for y in range(h):
        for x in range(w):
            old = work[:, y, x]
            index = ((old[:, None, :] - pal[None]) ** 2).sum(-1).argmin(1)
            out[:, y, x] = index
            error = (old - pal[index]) * keep[:, y, x]
            if x + 1 < w:
                work[:, y, x + 1] += error * (7 / 16)
            if y + 1 < h:
                if x > 0:
                    work[:, y + 1, x - 1] += error * (3 / 16)
                work[:, y + 1, x] += error * (5 / 16)
                if x + 1 < w:
                    work[:, y + 1, x + 1] += error * (1 / 16)
    return torch.from_numpy(out).to(pixels.device)
