"""A compact super-resolution network (ESPCN/FSRCNN class), one shared body with a head per scale.

All convolutions run at the low resolution and the head ends in a pixel shuffle, so an x4 of a 512x512
image costs about as much as a few convolutions on 512x512. The network predicts only the residual over
bicubic upsampling, which is what makes it learn fast on a CPU budget. Sharing the body between x2, x3
and x4 (as MDSR does) lets every training step improve all three scales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SCALES = (2, 3, 4)


class SRNet(nn.Module):
    def __init__(self, width: int = 48, depth: int = 4, scales: tuple[int, ...] = SCALES) -> None:
        super().__init__()
        self.width, self.depth, self.scales = width, depth, tuple(scales)
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))
        self.tails = nn.ModuleDict({str(s): nn.Conv2d(width, 3 * s * s, 3, padding=1) for s in self.scales})
        for tail in self.tails.values():  # start as plain bicubic: the residual begins at zero
            assert isinstance(tail, nn.Conv2d) and tail.bias is not None
            nn.init.zeros_(tail.weight)
            nn.init.zeros_(tail.bias)

    #: receptive-field radius in low-resolution pixels (head + body + tail 3x3 convolutions)
    @property
    def radius(self) -> int:
        return self.depth + 2

    def parameters_for(self, scale: int) -> int:
        """Parameters used at one scale (the body plus that scale's tail)."""
        shared = sum(p.numel() for name, p in self.named_parameters() if not name.startswith("tails."))
        return shared + sum(p.numel() for p in self.tails[str(scale)].parameters())

    def forward(self, low: torch.Tensor, scale: int) -> torch.Tensor:
        """``low`` RGB in [0, 1] -> RGB at ``scale`` times the size (not clamped)."""
        x = F.relu(self.head(low))
        skip = x
        for conv in self.body:
            x = F.relu(conv(x))
        residual = F.pixel_shuffle(self.tails[str(scale)](x + skip), scale)
        base = F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)
        return base + residual
