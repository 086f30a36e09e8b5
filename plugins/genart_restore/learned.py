"""Learned restore tasks (denoise, jpeg, deblur, inpaint): shipped or user-trained nets, run tiled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genart.errors import UsageError
from genart.tiling import run_learned, self_ensemble
from genart.trainkit import load_net_state

from . import degrade
from .nets import STRIDE, RestoreNet

WEIGHTS = Path(__file__).parent / "weights"


def shipped_path(task: str) -> Path:
    return WEIGHTS / f"{task}.safetensors"


def load_restore_net(task: str, source: str | Path = "shipped") -> RestoreNet:
    """From the shipped file, an exported weights file, a restorer-trainer checkpoint or run folder."""
    path = shipped_path(task) if str(source) == "shipped" else Path(source)
    state, meta = load_net_state(path, f"weights for restore task {task!r}")  # cached; a new network each call
    if not isinstance(state, dict) or "head1.weight" not in state:
        raise UsageError(f"{path} does not hold restorer-trainer weights")
    if meta.get("task") and meta["task"] != task:
        raise UsageError(f"{path} holds weights for task={meta['task']}, not task={task}")
    width = state["head1.weight"].shape[0]
    cond = state["head1.weight"].shape[1] // 4 - 3
    depth = len({k.split(".")[1] for k in state if k.startswith("mid.")})
    net = RestoreNet(cond, width, depth)
    net.load_state_dict({k: v.float() for k, v in state.items()})
    net.eval()
    net.requires_grad_(False)
    net.metadata = meta  # type: ignore[attr-defined,assignment]
    return net


def load_mask(path: str, size: tuple[int, int]) -> torch.Tensor:
    """``[1, 1, H, W]`` of 0/1 from a mask image (white = fill), resized (nearest) to the image size."""
    from genart.images import load_image

    mask = load_image(path, channels=1)[None]
    if tuple(mask.shape[-2:]) != size:
        mask = F.interpolate(mask, size=size, mode="nearest-exact")
    return (mask > 0.5).float()


class LearnedRestorer:
    def __init__(self, params: Any, device: torch.device) -> None:
        self.params = params
        self.task = params.task
        self.device = device
        self.net = load_restore_net(self.task, params.weights or "shipped").to(device)
        if self.task == "denoise" and self.net.cond != 1:
            raise UsageError("these weights were not trained for task=denoise")

    def sigma(self, colour: torch.Tensor) -> torch.Tensor:
        """The noise level per image: the user's ``sigma`` or a blind estimate."""
        if self.params.sigma >= 0:
            return torch.full((colour.shape[0],), self.params.sigma / 255)
        return degrade.estimate_sigma(colour)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        images = images.float()
        net, device, task = self.net, self.device, self.task
        overlap = net.radius + STRIDE
        c = images.shape[1]
        colour = images[:, : c - 1] if c in (2, 4) else images
        with torch.inference_mode():
            if task == "inpaint":
                size = (images.shape[-2], images.shape[-1])
                mask = load_mask(self.params.mask, size).expand(images.shape[0], -1, -1, -1)
                filled = degrade.push_pull_fill(images, 1 - mask)

                def run(tile: torch.Tensor) -> torch.Tensor:
                    x, m = tile[:, :3].to(device), tile[:, 3:].to(device)
                    return (x * (1 - m) + net(x, m) * m).to(tile.device)

                out = run_learned(self_ensemble(run, self.params.ensemble), filled, multiple=STRIDE,
                                  tile=self.params.tile, overlap=overlap, keep_mean=False, extra=mask,
                                  wrap=self.params.wrap)
                images = filled
            else:
                cond = None
                if net.cond:
                    grey = colour.expand(-1, 3, -1, -1) if colour.shape[1] == 1 else colour
                    cond = self.sigma(grey).view(-1, 1, 1, 1).to(device)

                def run(tile: torch.Tensor) -> torch.Tensor:
                    x = tile.to(device)
                    sigma_map = None if cond is None else cond.expand(-1, 1, *x.shape[-2:])
                    return net(x, sigma_map).to(tile.device)

                out = run_learned(self_ensemble(run, self.params.ensemble), images, multiple=STRIDE,
                                  tile=self.params.tile, overlap=overlap, wrap=self.params.wrap)
        if self.params.strength != 1:
            out = torch.lerp(images, out, self.params.strength).clamp(0, 1)
        return out
