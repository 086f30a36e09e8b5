"""Transparent sprites on a background the artist picks, instead of always white."""

from __future__ import annotations

from typing import Any

NAMED = {"white": (255, 255, 255), "black": (0, 0, 0)}


def parse_background(text: str) -> tuple[int, int, int]:
    """``white``, ``black`` or ``#rrggbb`` as an RGB triple; anything else is a ValueError naming it."""
    value = text.strip().lower()
    if value in NAMED:
        return NAMED[value]
    digits = value[1:] if value.startswith("#") else ""
    if len(digits) != 6 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"background must be white, black or #rrggbb, not {text!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def composite(tensor: Any, rgb: tuple[int, int, int]) -> Any:
    """``[C, H, W]`` float in [0, 1] with alpha (C = 2 or 4) laid over ``rgb``; other tensors unchanged.

    Grey-with-alpha lays over the background's luminance (ITU-R BT.601), the weights PIL uses for "L".
    """
    import torch

    channels = tensor.shape[0]
    if channels not in (2, 4):
        return tensor
    color, alpha = tensor[:-1], tensor[-1:]
    if channels == 2:
        level = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255
        backdrop = torch.full_like(color, level)
    else:
        backdrop = torch.tensor([c / 255 for c in rgb], dtype=tensor.dtype).view(3, 1, 1).expand_as(color)
    return color * alpha + backdrop * (1 - alpha)
