"""The learned upsampler: the shipped (or a user-trained) :class:`SRNet`, run tiled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genart.errors import UsageError
from genart.tiling import run_learned, self_ensemble
from genart.trainkit import load_net_state

from .nets import SRNet

SHIPPED = Path(__file__).parent / "weights" / "sr.safetensors"


def shipped_scales() -> tuple[int, ...]:
    """Scales the shipped weights cover (empty when the file is missing, e.g. in a trimmed install)."""
    if not SHIPPED.is_file():
        return ()
    try:
        return load_sr_net(str(SHIPPED)).scales
    except Exception:  # a damaged file must not break the classical methods
        return ()


def load_sr_net(source: str | Path) -> SRNet:
    """Load from the shipped file, an exported weights file, a training checkpoint or a run folder."""
    path = SHIPPED if str(source) == "shipped" else Path(source)
    state, meta = load_net_state(path, "SR weights")  # cached; each call builds its own network
    scales = tuple(sorted(int(k.split(".")[1]) for k in state if k.startswith("tails.") and k.endswith(".bias")))
    if not scales or "head.weight" not in state:
        raise UsageError(f"{path} does not hold sr-trainer weights")
    width = state["head.weight"].shape[0]
    depth = len({k.split(".")[1] for k in state if k.startswith("body.")})
    net = SRNet(width, depth, scales)
    net.load_state_dict({k: v.float() for k, v in state.items()})
    net.eval()
    net.requires_grad_(False)
    net.metadata = meta  # type: ignore[attr-defined,assignment]
    return net


def bicubic_resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True)


class LearnedUpsampler:
    """x2/x3/x4 super-resolution with premultiplied alpha, grey input, any size and no colour shift."""

    def __init__(self, params: Any, device: torch.device) -> None:
        self.scale = int(params.scale)
        self.net = load_sr_net(params.weights or "shipped")
        if self.scale not in self.net.scales:
            have = ", ".join(str(s) for s in self.net.scales)
            raise UsageError(f"no learned model for scale {params.scale:g}; the weights cover x{have} "
                             "(use method=bicubic or lanczos for other scales)")
        self.device = device
        self.net = self.net.to(device)
        self.tile = params.tile
        self.ensemble = params.ensemble
        self.wrap = params.wrap

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """What an image of this size becomes (genart checks a chain's memory with it before any work)."""
        return height * self.scale, width * self.scale

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        net, scale = self.net, self.scale

        def run(tile: torch.Tensor) -> torch.Tensor:
            return net(tile.to(self.device), scale).to(tile.device)

        with torch.inference_mode():
            return run_learned(self_ensemble(run, self.ensemble), images, scale=scale, tile=self.tile,
                               overlap=net.radius + 2, resize_alpha=bicubic_resize, wrap=self.wrap)
