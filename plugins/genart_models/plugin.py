"""Registers the ``model`` post-processor and the ``models`` and ``convert-weights`` commands.

One post-processor for every community model rather than ``upsample:model=`` and ``restore:model=``:
spandrel tells us whether a file is an upscaler (scale > 1) or a restorer (scale 1), so the user
should not have to; the built-in upsample and restore plugins keep their own parameters and
weights untouched; and one spec (``model:file=4x-UltraSharp``) reads the same for both kinds.
Light: spandrel and torch load only in the factory and the commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import genart
from genart import param


@dataclass
class ModelParams:
    """Run your own upscaler or restorer weights (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT, SPAN, NAFNet, ...)."""

    file: str = param("", "weights file (.safetensors, .pth, .pt) or its name in the models folder (genart models)")
    scale: int = param(0, "the scale you expect; 0 takes the model's (a different one is refused)")
    tile: int = param(-1, "tile size in input pixels (bounds memory); 0: whole image; -1: 384, or whole for "
                          "architectures with image-wide operations (see docs/models.md)")
    overlap: int = param(-1, "context pixels around each tile (-1: by architecture, see docs/models.md)")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = param(
        "auto", "auto: bf16 or fp16 on CUDA where the architecture allows it, fp32 on CPUs")
    extra: bool = param(False, "allow spandrel_extra_arches' non-commercial/copyleft architectures (if installed)")
    architecture: str = param("", "the detected architecture is recorded here; give one to insist on it")
    sha256: str = param("", "the file's SHA-256 is recorded here; give one to insist on that exact file")

    def validate(self) -> None:
        """Resolve the file and detect the model now, so a bad file is one line before any image is read,
        and the recipe records the absolute path, architecture, scale and SHA-256 it ran."""
        if not self.file:
            raise ValueError("give file=PATH or file=NAME (a weights file; see genart models)")
        if self.tile not in (-1, 0) and self.tile < 16:
            raise ValueError("tile must be -1 (auto), 0 (whole image) or >= 16")
        from genart.errors import UsageError

        from .detect import describe
        from .files import find_model

        try:
            path = find_model(self.file)
            info = describe(path, self.extra)
        except UsageError as error:
            raise ValueError(str(error)) from None
        if self.sha256 and self.sha256.lower() != info.sha256:
            raise ValueError(f"{path} has SHA-256 {info.sha256[:12]}..., not {self.sha256[:12]}...")
        if self.architecture and self.architecture.lower() != info.architecture.lower():
            raise ValueError(f"{path} is a {info.architecture} model, not {self.architecture}")
        if self.scale and self.scale != info.scale:
            raise ValueError(f"{Path(path).name} is a x{info.scale} {info.name} model; scale={self.scale} disagrees "
                             "(leave scale out, or use a model of that scale)")
        self.file, self.scale, self.architecture, self.sha256 = str(path), info.scale, info.architecture, info.sha256


def build_model_post(params: ModelParams, context: Any) -> Any:
    from .runner import ModelPost

    return ModelPost(params, context.device)


@genart.hookimpl
def register_post_processors(register: Any) -> None:
    register("model", build_model_post, params=ModelParams,
             description="your own upscaler/restorer weights through spandrel (ESRGAN, SwinIR, HAT, DAT, SPAN, ...)")


@genart.hookimpl
def register_commands(cli: Any) -> None:
    from .commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)
