"""The classical restoration chain, built from kornia filters."""

from __future__ import annotations

from typing import Any

import kornia
import torch

from genart.images import split_alpha
from genart.tiling import wrapped

#: wrap=true pads by this many pixels: more than the bilateral (5x5) and unsharp (5x5) filters reach together
WRAP_MARGIN = 6


class ClassicRestorer:
    """Bilateral denoise keeps edges while flattening noise; unsharp masking restores crispness lost by
    the VAE's blur; CLAHE lifts flat, low-contrast regions. Alpha passes through untouched."""

    def __init__(self, params: Any) -> None:
        self.params = params

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if self.params.wrap and self.params.strength != 0:
            return wrapped(self._restore, images, WRAP_MARGIN)
        return self._restore(images)

    def _restore(self, images: torch.Tensor) -> torch.Tensor:
        p = self.params
        if p.strength == 0:
            return images.clamp(0, 1)
        colour, alpha = split_alpha(images.float())
        _, _, h, w = colour.shape
        out = colour
        if p.denoise > 0 and min(h, w) >= 3:
            out = kornia.filters.bilateral_blur(out, 5, p.denoise * p.strength, (1.5, 1.5))
        if p.sharpen > 0 and min(h, w) >= 3:
            blurred = kornia.filters.gaussian_blur2d(out, (5, 5), (1.0, 1.0))
            out = out + p.sharpen * p.strength * (out - blurred)
        out = out.clamp(0, 1)
        if p.contrast > 0 and min(h, w) >= 16:
            enhanced = kornia.enhance.equalize_clahe(out, clip_limit=p.contrast, grid_size=(2, 2))
            out = torch.lerp(out, enhanced, min(1.0, p.strength))
        out = out.clamp(0, 1)
        return torch.cat([out, alpha], 1) if alpha is not None else out
