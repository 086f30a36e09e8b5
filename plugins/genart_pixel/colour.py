"""sRGB <-> Oklab on tensors whose last dimension holds the three channels.

Oklab is a perceptual space: Euclidean distances in it track how different two colours look far better
than distances in sRGB, so nearest-colour mapping, k-means and cell medians are done there.
"""

from __future__ import annotations

from typing import Any

_TO_LMS = ((0.4122214708, 0.5363325363, 0.0514459929),
           (0.2119034982, 0.6806995451, 0.1073969566),
           (0.0883024619, 0.2817188376, 0.6299787005))
_LMS_TO_LAB = ((0.2104542553, 0.7936177850, -0.0040720468),
               (1.9779984951, -2.4285922050, 0.4505937099),
               (0.0259040371, 0.7827717662, -0.8086757660))
_LAB_TO_LMS = ((1.0, 0.3963377774, 0.2158037573),
               (1.0, -0.1055613458, -0.0638541728),
               (1.0, -0.0894841775, -1.2914855480))
_LMS_TO_RGB = ((4.0767416621, -3.3077115913, 0.2309699292),
               (-1.2684380046, 2.6097574011, -0.3413193965),
               (-0.0041960863, -0.7034186147, 1.7076147010))


def _combine(rows: tuple[tuple[float, ...], ...], channels: list[Any], dim: int) -> Any:
    """The 3x3 matrix ``rows`` applied along ``dim`` as three weighted sums of whole channels: elementwise
    work on any layout, where a matmul over a last dimension of 3 would copy and crawl."""
    import torch

    return torch.stack([a * channels[0] + b * channels[1] + c * channels[2] for a, b, c in rows], dim)


def srgb_to_oklab(rgb: Any, dim: int = -1) -> Any:
    """sRGB in [0, 1] (three channels along ``dim``) to Oklab (L in [0, 1], a and b about [-0.4, 0.4])."""
    import torch

    rgb = rgb.clamp(0, 1)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lms = _combine(_TO_LMS, list(linear.unbind(dim)), dim)
    root = torch.sign(lms) * lms.abs().pow(1 / 3)
    return _combine(_LMS_TO_LAB, list(root.unbind(dim)), dim)


def oklab_to_srgb(lab: Any, dim: int = -1) -> Any:
    """Oklab (three channels along ``dim``) back to sRGB, clamped to [0, 1]."""
    import torch

    lms = _combine(_LAB_TO_LMS, list(lab.unbind(dim)), dim) ** 3
    linear = _combine(_LMS_TO_RGB, list(lms.unbind(dim)), dim).clamp(0, 1)
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear.pow(1 / 2.4) - 0.055).clamp(0, 1)


def to_space(rgb: Any, space: str) -> Any:
    """Colours in the space distances are measured in: ``oklab``, its ``lightness`` alone (``[..., 1]``:
    the right one for a ramp such as the GameBoy's four greens, where hue cannot be matched), or plain ``rgb``."""
    if space == "lightness":
        return srgb_to_oklab(rgb)[..., :1]
    return srgb_to_oklab(rgb) if space == "oklab" else rgb.clamp(0, 1)
