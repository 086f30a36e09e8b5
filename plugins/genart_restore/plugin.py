"""Registers ``restore``, the ``restorer-trainer`` model and the ``patches`` dataset.

Light on purpose: torch and kornia load inside the factories, so ``genart --help`` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import genart
from genart import DatasetParams, Register, param
from genart.tiling import check_ensemble

LEARNED_TASKS = ("denoise", "jpeg", "deblur", "inpaint")


@dataclass
class RestoreParams:
    """Restore images: auto (default) denoises or deblocks only what it finds; or classic filters, or a learned
    task: denoise, jpeg, deblur, inpaint."""

    task: Literal["auto", "classic", "denoise", "jpeg", "deblur", "inpaint"] = param(
        "auto", "auto (measure noise and JPEG blocking per image, then denoise, deblock or leave it alone), "
                "classic (fast filters), or learned: denoise, jpeg (deblocking), deblur, inpaint (needs mask)")
    strength: float = param(1.0, "overall strength; 0 returns the input unchanged")
    denoise: float = param(0.1, "classic: bilateral colour sigma (0 turns denoising off)")
    sharpen: float = param(2.0, "classic: unsharp-mask amount (0 turns sharpening off)")
    contrast: float = param(0.0, "classic: CLAHE clip limit for local contrast (0 turns it off)")
    sigma: float = param(-1.0, "denoise: noise level in 0-255 units (negative: estimate it from the image)")
    mask: str = param("", "inpaint: mask image, white = fill (resized to each image)")
    weights: str = param("", "learned: weights file or restorer-trainer run folder (default: the shipped ones)")
    tile: int = param(512, "learned: tile size in pixels (bounds memory on huge images)")
    ensemble: int = param(8, "learned: average over this many flips/rotations (1, 2, 4, 8); 1 is 8x faster")
    wrap: bool = param(False, "treat each image as a repeating tile: edges are computed from the opposite edge, "
                              "so a tileable input stays tileable")

    def validate(self) -> None:
        check_ensemble(self.ensemble)
        if self.strength < 0 or self.denoise < 0 or self.sharpen < 0 or self.contrast < 0:
            raise ValueError("strength, denoise, sharpen and contrast must be >= 0")
        if self.task == "inpaint" and not self.mask:
            raise ValueError("task=inpaint needs mask=PATH (white = fill)")
        if self.mask and not Path(self.mask).is_file():
            raise ValueError(f"mask file not found: {self.mask}")
        if self.mask and self.task != "inpaint":
            raise ValueError("mask= is only used with task=inpaint")
        if self.sigma >= 0 and self.task != "denoise":
            raise ValueError("sigma= is only used with task=denoise")
        if self.sigma > 255:
            raise ValueError("sigma is in 0-255 units and must be <= 255")
        if self.weights and not Path(self.weights).exists():
            raise ValueError(f"weights not found: {self.weights}")
        if self.task == "auto" and (self.denoise, self.sharpen, self.contrast) != (0.1, 2.0, 0.0):
            raise ValueError("denoise=, sharpen= and contrast= set the classic chain: add task=classic")
        if self.weights and self.task in ("classic", "auto"):
            raise ValueError("weights= needs a learned task (denoise, jpeg, deblur or inpaint)")
        if self.tile < 16:
            raise ValueError("tile must be >= 16")


@dataclass
class RestorerTrainerParams:
    """Train a learned restore task from clean images (synthetic degradations), or Noise2Void from noisy ones."""

    task: Literal["denoise", "jpeg", "deblur", "inpaint"] = param("denoise", "which task to train")
    objective: Literal["supervised", "n2v"] = param(
        "supervised", "supervised: degrade clean patches; n2v: blind-spot training on noisy images (denoise)")
    patch: int = param(64, "patch size (the dataset's image size), a multiple of 4")
    width: int = param(32, "channels at half resolution (twice that at quarter resolution)")
    depth: int = param(4, "convolutions at quarter resolution")
    lr: float = param(1e-3, "peak Adam learning rate (cosine decay over steps)")
    steps: int = param(3000, "default training steps (also the learning-rate schedule length)")
    batch: int = param(32, "default batch size")
    init: str = param("", "start from weights to fine-tune: shipped, a weights file or a run folder")
    grow: int = param(0, "with init: add this many quarter-resolution convolutions that start as identities "
                         "(same output, more capacity)")
    sigma_min: float = param(0.0, "denoise: lowest training noise level (0-255); n2v: simulated noise (0: none)")
    sigma_max: float = param(55.0, "denoise: highest training noise level (0-255); n2v: 0 for real noisy data")
    quality_min: int = param(10, "jpeg: lowest training quality")
    quality_max: int = param(70, "jpeg: highest training quality")
    blur_min: float = param(0.5, "deblur: smallest Gaussian blur sigma (pixels)")
    blur_max: float = param(2.5, "deblur: largest Gaussian blur sigma (pixels)")

    def validate(self) -> None:
        if self.patch % 4 or self.patch < 8:
            raise ValueError("patch must be a multiple of 4 and >= 8")
        if self.width < 4 or self.depth < 1 or self.steps < 1 or self.batch < 1 or self.lr <= 0:
            raise ValueError("width >= 4, depth >= 1, steps >= 1, batch >= 1 and lr > 0 are required")
        if self.objective == "n2v" and self.task != "denoise":
            raise ValueError("objective=n2v is for task=denoise")
        if not 0 <= self.sigma_min <= self.sigma_max <= 255:
            raise ValueError("need 0 <= sigma_min <= sigma_max <= 255")
        if not 1 <= self.quality_min <= self.quality_max <= 100:
            raise ValueError("need 1 <= quality_min <= quality_max <= 100")
        if not 0 < self.blur_min <= self.blur_max <= 10:
            raise ValueError("need 0 < blur_min <= blur_max <= 10")
        if self.grow < 0 or (self.grow and not self.init):
            raise ValueError("grow must be >= 0 and needs init= (the network to grow)")
        if self.init and self.init != "shipped" and not Path(self.init).exists():
            raise ValueError(f"init weights not found: {self.init}")


@dataclass
class PatchParams(DatasetParams):
    """Many random crops per image at native resolution (for training restorers and upsamplers)."""

    path: str = param("", "folder of images (searched recursively)")
    count: int = param(4096, "number of patches (drawn in proportion to each image's area)")
    scales: list[float] = param([1.0], "also crop from copies downscaled by these factors, e.g. 1+0.7+0.5")
    seed: int = param(0, "seed for choosing the crops")

    def __post_init__(self) -> None:
        self.path = os.path.expanduser(self.path) if self.path.startswith("~") else self.path

    def validate(self) -> None:
        if not self.path:
            raise ValueError("needs path=DIR")
        if self.count < 1:
            raise ValueError("count must be >= 1")
        if not self.scales or any(not 0.1 <= s <= 1 for s in self.scales):
            raise ValueError("scales must be in [0.1, 1]")


def build_restore(params: RestoreParams, context: Any) -> Any:
    if params.task == "auto":
        from .auto import AutoRestorer

        return AutoRestorer(params, context.device)
    if params.task == "classic":
        from .classic import ClassicRestorer

        return ClassicRestorer(params)
    from .learned import LearnedRestorer

    return LearnedRestorer(params, context.device)


def build_trainer(params: RestorerTrainerParams, context: Any) -> Any:
    from .trainer import RestorerTrainer

    return RestorerTrainer(params, context.device, context.scaler)


def build_patches(params: PatchParams, context: Any) -> Any:
    from .patches import PatchDataset

    return PatchDataset(params)


@genart.hookimpl
def register_post_processors(register: Register) -> None:
    register("restore", build_restore, params=RestoreParams,
             description="restore images: auto (denoise or deblock what it finds, else unchanged), classic filters, "
                         "or learned denoise / jpeg / deblur / inpaint")


@genart.hookimpl
def register_models(register: Register) -> None:
    register("restorer-trainer", build_trainer, params=RestorerTrainerParams,
             description="trains a learned restore task (genart train --model restorer-trainer:task=denoise)")


@genart.hookimpl
def register_datasets(register: Register) -> None:
    register("patches", build_patches, params=PatchParams,
             description="many random native-resolution crops per image (for restorer and SR training)")


@genart.hookimpl
def register_commands(cli: Any) -> None:
    from .commands import restore

    cli.add_command(restore)
