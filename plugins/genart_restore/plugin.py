"""Registers the ``restore`` post-processor (light: kornia/torch load in the factory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import genart
from genart import param


@dataclass
class RestoreParams:
    """Classical restoration: edge-preserving denoise, then sharpening, then optional local contrast."""

    task: Literal["classic"] = param("classic", "which restoration to run")
    strength: float = param(1.0, "overall strength; 0 returns the input unchanged")
    denoise: float = param(0.08, "bilateral colour sigma (0 turns denoising off)")
    sharpen: float = param(1.0, "unsharp-mask amount (0 turns sharpening off)")
    contrast: float = param(0.0, "CLAHE clip limit for local contrast (0 turns it off)")

    def validate(self) -> None:
        if self.strength < 0 or self.denoise < 0 or self.sharpen < 0 or self.contrast < 0:
            raise ValueError("strength, denoise, sharpen and contrast must be >= 0")


def build_restore(params: RestoreParams, context: Any) -> Any:
    from .classic import ClassicRestorer

    return ClassicRestorer(params)


@genart.hookimpl
def register_post_processors(register: Any) -> None:
    register("restore", build_restore, params=RestoreParams,
             description="restore images: denoise, sharpen and (optionally) boost local contrast")
