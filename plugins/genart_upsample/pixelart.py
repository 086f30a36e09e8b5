"""Pixel art is upsampled by nearest neighbour in ``method=auto``: each pixel becomes a crisp block.

A learned or bicubic upsampler treats a sprite's hard pixel steps as blurred photo edges to be smoothed
(or sharpened with ringing), and invents in-between colours a palette never had. Nearest neighbour keeps
the palette and the pixel grid exactly, which is what pixel art is made of.

A picture counts as pixel art when it has few colours (at most ``MAX_COLOURS`` distinct 8-bit colours
among its visible pixels) and flat runs (at least ``MIN_FLAT`` of its horizontally and vertically
neighbouring visible pixels are exactly equal). Photos and generated samples have thousands of colours;
a flat graphic with a handful of colours (a logo) also counts, and nearest suits it as well at x2-x4.
"""

from __future__ import annotations

from typing import Any

import torch

MAX_COLOURS = 64
MIN_FLAT = 0.5


def is_pixel_art(image: torch.Tensor) -> bool:
    """``[C, H, W]`` in [0, 1] (alpha last when C is 2 or 4)."""
    c = image.shape[0]
    q = image.clamp(0, 1).mul(255).round().to(torch.int64)
    colour = q[: c - 1] if c in (2, 4) else q
    visible = q[-1] > 0 if c in (2, 4) else torch.ones(q.shape[-2:], dtype=torch.bool)
    if int(visible.sum()) < 4:
        return False
    key = colour[0]
    for channel in colour[1:]:
        key = key * 256 + channel
    if torch.unique(key[visible]).numel() > MAX_COLOURS:
        return False
    pairs = same = 0
    for a, b, va, vb in ((key[:, 1:], key[:, :-1], visible[:, 1:], visible[:, :-1]),
                         (key[1:], key[:-1], visible[1:], visible[:-1])):
        both = va & vb
        pairs += int(both.sum())
        same += int(((a == b) & both).sum())
    return pairs > 0 and same / pairs >= MIN_FLAT


class PixelArtAware:
    """``method=auto``: nearest for the images that look like pixel art, ``smooth`` for the rest; says so once."""

    def __init__(self, smooth: Any, nearest: Any, scale: float) -> None:
        self.smooth, self.nearest, self.scale = smooth, nearest, scale
        self.noted = False
        self.last_choices: list[str] = []

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Both of its upsamplers make the same size (genart checks a chain's memory with it)."""
        size: tuple[int, int] = self.smooth.output_size(height, width)
        return size

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        pixel = [is_pixel_art(image) for image in images]
        self.last_choices = ["nearest" if p else "smooth" for p in pixel]
        if not any(pixel):
            return self.smooth(images)
        if not self.noted:
            from genart.api import echo

            echo(f"upsample: {sum(pixel)} of {len(pixel)} image(s) look like pixel art (few colours, flat runs): "
                 "used nearest-neighbour to keep their pixels crisp (method=learned or bicubic overrides)")
            self.noted = True
        if all(pixel):
            return self.nearest(images)
        index = torch.tensor([i for i, p in enumerate(pixel) if p])
        rest = torch.tensor([i for i, p in enumerate(pixel) if not p])
        a, b = self.nearest(images[index]), self.smooth(images[rest])
        out = a.new_empty(images.shape[0], *a.shape[1:])
        out[index], out[rest] = a, b.to(a)
        return out
