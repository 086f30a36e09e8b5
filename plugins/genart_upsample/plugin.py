"""Registers the ``upsample`` post-processor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import genart
from genart import param


@dataclass
class UpsampleParams:
    """Resize by an integer or fractional factor; alpha is kept and resized with the colour."""

    scale: float = param(2.0, "scale factor (e.g. 2, 3, 4, 1.5)")
    method: Literal["bicubic", "bilinear", "nearest", "lanczos"] = param("bicubic", "interpolation method")

    def validate(self) -> None:
        if not 0 < self.scale <= 16:
            raise ValueError("scale must be in (0, 16]")


def build_upsample(params: UpsampleParams, context: Any) -> Any:
    from .classic import ClassicUpsampler

    return ClassicUpsampler(params)


@genart.hookimpl
def register_post_processors(register: Any) -> None:
    register("upsample", build_upsample, params=UpsampleParams,
             description="upsample images (bicubic, bilinear, nearest or lanczos; antialiased when shrinking)")
