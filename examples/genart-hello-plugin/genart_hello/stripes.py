"""The stripes dataset."""

from __future__ import annotations

import torch


class Stripes:
    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed = count, seed

    def load(self, size: int, channels: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        colours = torch.rand(self.count, 2, channels, 1, 1, generator=generator)
        period = torch.randint(4, 12, (self.count, 1, 1, 1), generator=generator)
        y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        mask = (((x + y)[None, None] // period) % 2).float()
        images = colours[:, 0] * mask + colours[:, 1] * (1 - mask)
        return (images * 255).round().to(torch.uint8)
