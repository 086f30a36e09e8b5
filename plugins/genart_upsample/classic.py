"""Classical resampling with correct alpha handling."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from genart.images import split_alpha
from genart.tiling import wrap_pad

#: input pixels of wrap-around padding for wrap=true: more than the reach of lanczos-3 and bicubic
WRAP_MARGIN = 4


def lanczos_resize(images: torch.Tensor, size: tuple[int, int], a: int = 3) -> torch.Tensor:
    """Separable Lanczos-a resampling (antialiased when shrinking), as two matrix products."""
    out = images
    for dim, new in ((2, size[0]), (3, size[1])):
        old = out.shape[dim]
        matrix = _lanczos_matrix(old, new, a, out.dtype, out.device)
        out = torch.movedim(torch.movedim(out, dim, -1) @ matrix.T, -1, dim)
    return out


def _lanczos_matrix(old: int, new: int, a: int, dtype: torch.dtype, device: Any) -> torch.Tensor:
    scale = new / old
    support = a / min(scale, 1.0)
    centres = (torch.arange(new, dtype=torch.float64) + 0.5) / scale - 0.5
    source = torch.arange(old, dtype=torch.float64)
    distance = (source[None, :] - centres[:, None]) * min(scale, 1.0)
    weights = torch.sinc(distance) * torch.sinc(distance / a)
    weights = torch.where(distance.abs() < a, weights, torch.zeros_like(weights))
    weights = weights * ((source[None, :] - centres[:, None]).abs() < support)
    weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-12)
    return weights.to(dtype=dtype, device=device)


class ClassicUpsampler:
    def __init__(self, params: Any) -> None:
        self.params = params

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """What an image of this size becomes (genart checks a chain's memory with it before any work)."""
        return max(1, round(height * self.params.scale)), max(1, round(width * self.params.scale))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        _, _, h, w = images.shape
        size = (max(1, round(h * self.params.scale)), max(1, round(w * self.params.scale)))
        if self.params.wrap:  # resize one period of the endless tiling with its neighbours around it, then crop
            margin = wrap_margin(self.params.scale)
            extra = round(margin * self.params.scale)
            out = self._resize_all(wrap_pad(images, margin), (size[0] + 2 * extra, size[1] + 2 * extra))
            return out[..., extra:extra + size[0], extra:extra + size[1]]
        return self._resize_all(images, size)

    def _resize_all(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        colour, alpha = split_alpha(images.float())
        if alpha is not None:  # resample premultiplied colour so transparent pixels do not bleed
            colour = colour * alpha
        resized = self._resize(colour, size)
        if alpha is not None:
            new_alpha = self._resize(alpha, size).clamp(0, 1)
            resized = torch.where(new_alpha > 1e-6, resized / new_alpha.clamp_min(1e-6), torch.zeros_like(resized))
            return torch.cat([resized.clamp(0, 1), new_alpha], 1)
        return resized.clamp(0, 1)

    def _resize(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        method = self.params.method
        if method == "lanczos":
            return lanczos_resize(images, size)
        if method == "nearest":
            return F.interpolate(images, size=size, mode="nearest-exact")
        return F.interpolate(images, size=size, mode=method, align_corners=False, antialias=True)


def wrap_margin(scale: float) -> int:
    """A margin of at least WRAP_MARGIN input pixels that the scale maps onto whole output pixels where one
    exists (x1.5: 4 -> 6), so the cropped result samples the same positions as an unpadded resize."""
    least = max(WRAP_MARGIN, math.ceil(3 / min(scale, 1.0)) + 1)  # shrinking widens the antialiased kernel
    for margin in range(least, 8 * least + 1):
        if abs(margin * scale - round(margin * scale)) < 1e-9:
            return margin
    return least
