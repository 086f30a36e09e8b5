"""Majority clean-up of palette indices: the step that turns a model's mottle into flat areas.

A generated image's flat areas are never quite flat: a few levels of noise that nearest-colour mapping
turns into a speckle of two or three palette colours (seen on 64 px diffusion samples). A pixel-art
artist removes such "orphan" pixels by hand; here each pass gives every opaque pixel the colour most
of its 3x3 neighbourhood has (its own colour wins a tie, so edges between two areas stay where they
are), until nothing changes or the passes run out. Only palette indices move, so the output keeps at
most ``n`` colours; what is lost is "each pixel is its nearest palette colour".
"""

from __future__ import annotations

from typing import Any


def majority(indices: Any, count: int, opaque: Any, passes: int) -> Any:
    """``indices`` ``[N, H, W]`` into a palette of ``count`` colours, cleaned by up to ``passes`` 3x3
    majority votes among opaque pixels; transparent pixels neither vote nor change."""
    import torch
    import torch.nn.functional as F

    mask = opaque.float()[:, None]
    for _ in range(passes):
        best_votes = torch.full(indices.shape, -1.0, device=indices.device)
        best = indices.clone()
        for colour in range(count):  # one colour at a time: memory of one image, not count images
            member = (indices == colour).float()[:, None] * mask
            if not bool(member.any()):
                continue
            votes = F.avg_pool2d(F.pad(member, (1, 1, 1, 1)), 3, stride=1, divisor_override=1)[:, 0]
            votes = votes + 0.5 * (indices == colour)  # a tie keeps the pixel's own colour
            better = votes > best_votes
            best = torch.where(better, torch.full_like(best, colour), best)
            best_votes = torch.where(better, votes, best_votes)
        cleaned = torch.where(opaque, best, indices)
        if torch.equal(cleaned, indices):
            break
        indices = cleaned
    return indices
