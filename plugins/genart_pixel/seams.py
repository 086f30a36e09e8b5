"""How visible the seam is when an image is tiled: the one metric tests and benchmarks share.

The wrapped edge is the pair (last column, first column) and (last row, first row). An image that
tiles seamlessly changes across that edge about as much as it changes between any two neighbouring
columns or rows inside it, so the ratio of the two mean absolute differences is about 1 for a
tileable image and well above 1 when the edge is a visible seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Seams:
    edge: float  # mean |difference| across the wrapped edge (both directions)
    interior: float  # mean |difference| between neighbouring interior columns and rows

    @property
    def ratio(self) -> float:
        return self.edge / self.interior if self.interior > 0 else (1.0 if self.edge == 0 else float("inf"))


def seams(images: Any) -> Seams:
    """Seam figures over a batch ``[N, C, H, W]`` (or one ``[C, H, W]``), pooled over every image."""
    images = images.float()
    if images.dim() == 3:
        images = images[None]
    edge_x = (images[..., :, 0] - images[..., :, -1]).abs()
    edge_y = (images[..., 0, :] - images[..., -1, :]).abs()
    inner_x = (images[..., :, 1:] - images[..., :, :-1]).abs()
    inner_y = (images[..., 1:, :] - images[..., :-1, :]).abs()
    edge = (float(edge_x.sum()) + float(edge_y.sum())) / (edge_x.numel() + edge_y.numel())
    interior = (float(inner_x.sum()) + float(inner_y.sum())) / (inner_x.numel() + inner_y.numel())
    return Seams(edge, interior)


def seam_ratio(images: Any) -> float:
    """Mean difference across the wrapped edge over the mean between neighbouring interior columns/rows."""
    return seams(images).ratio


def tile_preview(images: Any, repeat: int) -> Any:
    """Each image repeated ``repeat`` x ``repeat`` times, for checking seams by eye."""
    return images.repeat(1, 1, repeat, repeat)
