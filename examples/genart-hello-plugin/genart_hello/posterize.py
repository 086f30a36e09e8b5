"""The posterize post-processor."""

from __future__ import annotations

import torch


class Posterize:
    def __init__(self, levels: int) -> None:
        self.levels = levels

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        steps = self.levels - 1
        colour = (images[:, :3] * steps).round() / steps
        # Leave an alpha channel alone: posterizing transparency would cut soft edges.
        return torch.cat([colour, images[:, 3:]], 1) if images.shape[1] == 4 else colour
