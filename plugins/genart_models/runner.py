"""The ``model`` post-processor: a spandrel model run through genart's tiler.

``genart.tiling.run_learned`` does what every learned post-processor shares (premultiplied alpha,
grey images, padding to the network's grid, exact tiling); this module adapts a spandrel
descriptor to it: channel conversion for grey models, the model's dtype and device, and
``keep_mean=False``, because a community model's output is what its author trained it to be
(a colour-mean correction would make genart's result differ from every other tool's).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genart.api import check_chain
from genart.errors import UsageError
from genart.tiling import pad_to_multiple, run_learned, tiled, tiled_bands

from .detect import describe, load_descriptor

LUMA = (0.299, 0.587, 0.114)


def pick_dtype(choice: str, info: Any, device: torch.device) -> torch.dtype:
    """fp32 on CPUs; on CUDA the fastest reduced precision the architecture is known to work in."""
    if choice == "fp32" or (choice == "auto" and device.type != "cuda"):
        return torch.float32
    if choice == "bf16" or (choice == "auto" and info.supports_bfloat16 and _cuda_bf16(device)):
        if not info.supports_bfloat16:
            raise UsageError(f"{info.name} does not run in bf16 (spandrel marks it fp32-only); use precision=fp32")
        return torch.bfloat16
    if choice == "fp16" or (choice == "auto" and info.supports_half):
        if not info.supports_half:
            raise UsageError(f"{info.name} does not run in fp16 (spandrel marks it unsupported); "
                             "use precision=bf16 or fp32")
        return torch.float16
    return torch.float32


def _cuda_bf16(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


#: architectures with image-wide operations (channel attention over the whole image, a quality
#: predictor's global pooling, token dictionaries): a tile sees other statistics than the whole image,
#: so they run untiled unless ``tile=`` says otherwise. Measured with the tiny random models of the
#: tests (docs/models.md has the table); spandrel itself marks SCUNet, HVICIDNet, MixDehazeNet and
#: RetinexFormer as tiling badly.
WHOLE_IMAGE = frozenset({"ATD", "DCTLSA", "FBCNN", "HVICIDNet", "MixDehazeNet", "OmniSR", "RCAN", "RetinexFormer",
                         "SCUNet"})
DEFAULT_TILE = 384


def default_tile(info: Any) -> int:
    """Tiles of DEFAULT_TILE input pixels (at x4 about 2.4 megapixels of output each), or the whole image."""
    return 1 << 30 if info.architecture in WHOLE_IMAGE else DEFAULT_TILE


#: plain chains of convolutions at the input's resolution: their reach is exactly the sum of the kernels' radii
#: (Real-ESRGAN's realesr-general-x4v3 has 32 body convolutions: 34 px, beyond the default 16)
PLAIN_CHAINS = frozenset({"Compact", "DnCNN"})


def conv_reach(model: Any) -> int:
    return sum((m.kernel_size[0] // 2) * m.dilation[0] for m in model.modules() if isinstance(m, torch.nn.Conv2d))


def default_overlap(info: Any, model: Any) -> int:
    """Context pixels around each tile: exact for plain convolution chains; 16 for other convolutional models,
    which see little beyond that in practice; more for window attention and models spandrel says tile badly
    (measured in the tests, docs/models.md)."""
    if info.architecture in PLAIN_CHAINS:
        return conv_reach(model)
    return 16 if info.tiling == "supported" and info.multiple == 1 else max(48, 2 * info.multiple)


def bicubic(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True)


class ModelPost:
    """A post-processor over ``[N, C, H, W]`` images in [0, 1] (C = 1 to 4) with one spandrel model."""

    def __init__(self, params: Any, device: torch.device) -> None:
        path = Path(params.file)
        self.info = describe(path, params.extra)
        self.descriptor = load_descriptor(path, params.extra)
        self.device = device
        self.dtype = pick_dtype(params.precision, self.info, device)
        self.descriptor.to(device)
        if self.dtype != torch.float32:
            self.descriptor.to(self.dtype)
        self.scale = self.info.scale
        self.tile = default_tile(self.info) if params.tile < 0 else params.tile if params.tile > 0 else 1 << 30
        self.overlap = params.overlap if params.overlap >= 0 else default_overlap(self.info, self.descriptor.model)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """What an image of this size becomes (for memory estimates before any work)."""
        return height * self.scale, width * self.scale

    def network(self, tile: torch.Tensor) -> torch.Tensor:
        """The model on an RGB tile ``[n, 3, h, w]``: one image at a time, as spandrel's contract says."""
        x = tile.to(self.device, self.dtype, copy=True)  # some models scale their input in place (RCAN)
        if self.info.input_channels == 1:
            weights = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x * weights).sum(1, keepdim=True)
        outputs = [self.descriptor(x[i:i + 1]) for i in range(x.shape[0])]
        y = torch.cat(outputs) if len(outputs) > 1 else outputs[0]
        if self.info.output_channels == 1:
            y = y.expand(-1, 3, -1, -1)
        return y.to(tile.device, torch.float32)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n, c, h, w = images.shape
        check_chain([("model", self)], (n, c, h, w))  # a single step too large is refused before its tiles run
        with torch.inference_mode():
            if c == 3:  # plain colour: the tiler alone, no copies (spandrel already clamps each tile to [0, 1])
                padded = pad_to_multiple(images.float(), self.info.multiple)
                out = tiled(self.network, padded, scale=self.scale, multiple=self.info.multiple, tile=self.tile,
                            overlap=self.overlap)
                return out[:, :, :h * self.scale, :w * self.scale]
            return run_learned(self.network, images, scale=self.scale, multiple=self.info.multiple, tile=self.tile,
                               overlap=self.overlap, keep_mean=False, resize_alpha=bicubic)

    def bands(self, images: torch.Tensor) -> Iterator[torch.Tensor]:
        """The output one row of tiles at a time (``genart.Bands``), so ``genart post`` writes a huge upscale
        into its PNG as it comes. Colour images only; grey and alpha need the whole image, so they come as one band."""
        n, c, h, w = images.shape
        if c != 3:
            yield self(images)
            return
        check_chain([("model", self)], (n, c, h, w), streamed=True)
        padded = pad_to_multiple(images.float(), self.info.multiple)
        rows_left = h * self.scale
        for band in tiled_bands(self.network, padded, scale=self.scale, multiple=self.info.multiple, tile=self.tile,
                                overlap=self.overlap):
            if rows_left <= 0:  # rows of padding only
                break
            kept = band[:, :, :rows_left, :w * self.scale]
            rows_left -= band.shape[-2]
            del band
            yield kept
            del kept  # not held while the next row of tiles is made
