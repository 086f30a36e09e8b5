"""Registers the ``upsample`` post-processor and the ``sr-trainer`` model (light: torch loads in factories)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import genart
from genart import Register, param
from genart.tiling import check_ensemble

LEARNED_SCALES = (2, 3, 4)


@dataclass
class UpsampleParams:
    """Resize by an integer or fractional factor; alpha is kept and resized with the colour."""

    scale: float = param(2.0, "scale factor (e.g. 2, 3, 4, 1.5)")
    method: Literal["auto", "learned", "bicubic", "bilinear", "nearest", "lanczos"] = param(
        "auto", "auto: nearest for pixel art (few colours, flat runs), else learned for x2/x3/x4 when weights "
                "exist, else bicubic")
    weights: str = param("", "learned: weights file or sr-trainer run folder (default: the shipped ones)")
    tile: int = param(512, "learned: tile size in input pixels (bounds memory on huge images)")
    ensemble: int = param(1, "learned: average over this many flips/rotations (1, 2, 4, 8); each costs a pass")
    wrap: bool = param(False, "treat each image as a repeating tile: edges are computed from the opposite edge, "
                              "so a tileable input stays tileable")

    def validate(self) -> None:
        if not 0 < self.scale <= 16:
            raise ValueError("scale must be in (0, 16]")
        if self.tile < 16:
            raise ValueError("tile must be >= 16")
        check_ensemble(self.ensemble)
        if self.weights and not Path(self.weights).exists():
            raise ValueError(f"weights not found: {self.weights}")
        if self.method == "learned" and self.scale not in LEARNED_SCALES:
            raise ValueError(f"no learned model for scale {self.scale:g}; learned supports x2, x3 and x4 "
                             "(use method=bicubic or lanczos)")


@dataclass
class SRTrainerParams:
    """Train the learned upsampler on clean images (it makes the low-resolution inputs itself)."""

    scales: list[int] = param([2, 3, 4], "scales to train, joined with + (one shared body, a head each)")
    patch: int = param(72, "high-resolution patch size (the dataset's image size); divisible by each scale")
    width: int = param(48, "feature channels")
    depth: int = param(4, "body convolutions")
    lr: float = param(1e-3, "peak Adam learning rate (cosine decay over steps)")
    steps: int = param(4500, "default training steps (also the learning-rate schedule length)")
    batch: int = param(32, "default batch size")
    init: str = param("", "start from these weights (shipped, a file or a run folder) to fine-tune")

    def validate(self) -> None:
        if not self.scales or any(s not in LEARNED_SCALES for s in self.scales):
            raise ValueError("scales must be chosen from 2, 3 and 4")
        if any(self.patch % s for s in self.scales) or self.patch < 12:
            raise ValueError("patch must be >= 12 and divisible by every scale")
        if self.width < 4 or self.depth < 1 or self.steps < 1 or self.batch < 1 or self.lr <= 0:
            raise ValueError("width >= 4, depth >= 1, steps >= 1, batch >= 1 and lr > 0 are required")
        if self.init and self.init != "shipped" and not Path(self.init).exists():
            raise ValueError(f"init weights not found: {self.init}")


def use_learned(params: UpsampleParams) -> bool:
    if params.method == "learned":
        return True
    if params.method != "auto" or params.scale not in LEARNED_SCALES:
        return False
    if params.weights:
        return True
    from .learned import shipped_scales

    return int(params.scale) in shipped_scales()


def build_upsample(params: UpsampleParams, context: Any) -> Any:
    from dataclasses import replace

    from .classic import ClassicUpsampler

    if use_learned(params):
        from .learned import LearnedUpsampler

        smooth: Any = LearnedUpsampler(params, context.device)
    else:
        smooth = ClassicUpsampler(replace(params, method="bicubic") if params.method == "auto" else params)
    if params.method != "auto":
        return smooth
    from .pixelart import PixelArtAware

    return PixelArtAware(smooth, ClassicUpsampler(replace(params, method="nearest")), params.scale)


def build_sr_trainer(params: SRTrainerParams, context: Any) -> Any:
    from .trainer import SRTrainer

    return SRTrainer(params, context.device, context.scaler)


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("upsample", build_upsample, params=UpsampleParams,
             description="upsample images: learned x2/x3/x4 super-resolution, or bicubic/bilinear/nearest/lanczos")


@genart.hookimpl
def register_models(register: Register) -> None:
    register("sr-trainer", build_sr_trainer, params=SRTrainerParams,
             description="trains the learned upsampler from clean images (genart train --model sr-trainer)")


@genart.hookimpl
def register_commands(cli: Any) -> None:
    from .commands import upscale

    cli.add_command(upscale)
