"""Feature encoders for style transfer.

An encoder maps an RGB batch in [0, 1] to two lists of feature maps: the ones whose Gram matrices
describe style, and the ones whose values describe content. The default needs no downloaded weights:
random filters with a ReLU, applied over a Gaussian-like image pyramid, which the texture-synthesis
literature (Ustyuzhaninov et al. 2017, "What does it take to generate natural textures?") shows
capture textures about as well as a trained network. ``vgg19`` uses real ImageNet weights when the
user has a torchvision state dict on disk.
"""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genart import GenartError, UsageError

VGG19_ENV = "GENART_VGG19_WEIGHTS"
VGG19_FILE = "vgg19-dcbb9e9d.pth"
#: torchvision's VGG-19 "features" (configuration E): channels per conv, "M" for a max-pool.
VGG19_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                    512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
#: indices in ``features`` of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (style) and relu4_2 (content)
VGG19_STYLE = (1, 6, 11, 20, 29)
VGG19_CONTENT = (22,)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def half_size(x: torch.Tensor) -> torch.Tensor:
    """Halve height and width with an antialiased (triangle-filter) resize: one Gaussian-pyramid step.

    A plain 2x2 average leaves its block grid in the gradients, which the optimisation then paints
    into the picture; the smooth filter does not. Never below one pixel, so any image size works.
    """
    h, w = x.shape[-2:]
    if h < 2 and w < 2:
        return x
    return F.interpolate(x, size=(max(1, math.ceil(h / 2)), max(1, math.ceil(w / 2))), mode="bilinear",
                         align_corners=False, antialias=True)


class RandomEncoder(torch.nn.Module):
    """Random filters + ReLU at every level of an image pyramid (no training, no download).

    Each level sees the image at half the previous resolution, so the same small filters cover
    ever larger neighbourhoods (brush strokes, then swirls, then blobs of colour) at little cost.
    The finest level, the costly one, gets the fewest filters; from level 2 on, where it is cheap, a
    second random layer adds non-linear structure. Filters come from a fixed seed: same seed, same
    encoder, same output.
    """

    def __init__(self, channels: int = 32, kernel: int = 5, scales: int = 5, content_scale: int = 2,
                 seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.scales, self.content_scale = scales, min(content_scale, scales - 1)
        self.deep_from = 2
        for level in range(scales):
            width = channels if level == 0 else channels * 2
            weight = torch.randn(width, 3, kernel, kernel, generator=generator) / math.sqrt(3 * kernel * kernel)
            bias = (torch.rand(width, generator=generator) - 0.5) * 0.2
            self.register_buffer(f"w{level}", weight)
            self.register_buffer(f"b{level}", bias)
            if level >= self.deep_from:
                deep = torch.randn(width, width, 3, 3, generator=generator) / math.sqrt(width * 9)
                self.register_buffer(f"v{level}", deep)
        self.requires_grad_(False)

    @staticmethod
    def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        pad = weight.shape[-1] // 2
        mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"  # reflect leaves no dark frame
        return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode=mode), weight, bias)

    def forward(self, image: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        x = (image - 0.45) / 0.25
        style, content = [], []
        for level in range(self.scales):
            if level:
                x = half_size(x)
            feats = F.relu(self._conv(x, getattr(self, f"w{level}"), getattr(self, f"b{level}")))
            style += [x, feats]  # the pixels' own Gram pins the palette: colour means and covariances
            if level >= self.deep_from:
                style.append(F.relu(self._conv(feats, getattr(self, f"v{level}"), None)))
            if level == self.content_scale:
                content.append(feats)
        return style, content


class VGG19Encoder(torch.nn.Module):
    """torchvision's VGG-19 ``features`` rebuilt here (torchvision is not a dependency)."""

    mean: torch.Tensor  # buffers registered in __init__ (typed here for mypy)
    std: torch.Tensor

    def __init__(self, state: dict[str, torch.Tensor], pool: str = "max") -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        channels = 3
        for item in VGG19_CFG:
            if item == "M":
                layers.append(torch.nn.MaxPool2d(2, 2) if pool == "max" else torch.nn.AvgPool2d(2, 2))
            else:
                layers += [torch.nn.Conv2d(channels, int(item), 3, padding=1), torch.nn.ReLU()]
                channels = int(item)
        last = max(VGG19_STYLE + VGG19_CONTENT)
        self.features = torch.nn.Sequential(*layers[: last + 1])
        self.features.load_state_dict(state)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        x = (image - self.mean) / self.std
        style, content = [], []
        for index, layer in enumerate(self.features):
            if isinstance(layer, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) and min(x.shape[-2:]) < 2:
                continue  # tiny inputs: skip pooling rather than fail
            x = layer(x)
            if index in VGG19_STYLE:
                style.append(x)
            if index in VGG19_CONTENT:
                content.append(x)
        return style, content


def vgg19_shapes() -> dict[str, tuple[int, ...]]:
    """The tensor shapes a torchvision VGG-19 state dict has for the layers we use."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels, index = 3, 0
    last = max(VGG19_STYLE + VGG19_CONTENT)
    for item in VGG19_CFG:
        if index > last:
            break
        if item == "M":
            index += 1
            continue
        shapes[f"{index}.weight"] = (int(item), channels, 3, 3)
        shapes[f"{index}.bias"] = (int(item),)
        channels = int(item)
        index += 2
    return shapes


def find_vgg19_weights(path: Path | None) -> Path:
    """The weights file from ``weights=PATH`` or the environment, or a one-line error naming it."""
    if path is None:
        env = os.environ.get(VGG19_ENV, "").strip()
        if not env:
            raise UsageError(f"encoder vgg19 needs a torchvision VGG-19 state dict ({VGG19_FILE} or a .safetensors "
                             "copy): pass its path (style: encoder_weights=PATH; stylize: --weights PATH) "
                             f"or set {VGG19_ENV}; genart never downloads weights")
        path = Path(env).expanduser()
    if not path.is_file():
        raise UsageError(f"VGG-19 weights not found at {path} (expected a torchvision VGG-19 state dict such as "
                         f"{VGG19_FILE}, .pth or .safetensors)")
    return path


def load_vgg19_state(path: Path) -> dict[str, torch.Tensor]:
    """Read safetensors, or a .pth with ``weights_only=True`` (no pickle code runs); keep ``features.*``."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's text advises weights_only=False, i.e. running the file's code
        raise GenartError(f"refused VGG-19 weights {path}: the file holds pickled Python objects besides tensors, "
                          "which could run code; use a plain state dict or safetensors") from None
    except Exception as error:
        raise GenartError(f"cannot read VGG-19 weights {path}: {type(error).__name__}: {error}".splitlines()[0]) \
            from None
    if not isinstance(raw, dict):
        raise GenartError(f"{path} does not hold a state dict (got {type(raw).__name__})")
    state = {}
    for key, shape in vgg19_shapes().items():
        tensor = raw.get(f"features.{key}", raw.get(key))
        if tensor is None:
            raise GenartError(f"{path} is not a torchvision VGG-19 state dict: missing features.{key}")
        if tuple(tensor.shape) != shape:
            raise GenartError(f"{path} is not a torchvision VGG-19 state dict: features.{key} has shape "
                              f"{tuple(tensor.shape)}, expected {shape}")
        state[key] = tensor.float()
    return state


def build_random(params: Any, context: Any) -> RandomEncoder:
    return RandomEncoder(params.channels, params.kernel, params.scales, params.content_scale,
                         params.seed).to(context.device)


def build_vgg19(params: Any, context: Any) -> VGG19Encoder:
    path = find_vgg19_weights(params.weights)
    return VGG19Encoder(load_vgg19_state(path), params.pool).to(context.device)
