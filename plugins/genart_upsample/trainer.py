"""``sr-trainer``: trains the learned upsampler with the core training loop.

It is a GenerativeModel in the protocol sense: the loop hands it batches of clean high-resolution
patches and it makes the low-resolution inputs itself (antialiased bicubic downscale, as Pillow and
the SR literature do, then 8-bit rounding like a real file), so any folder of images is training data.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from genart import LossScaler
from genart.trainkit import NetTrainer, cosine_lr, random_dihedral, smooth_images

from .nets import SRNet


def downscale(high: torch.Tensor, scale: int) -> torch.Tensor:
    """The degradation the network learns to invert: antialiased bicubic, rounded to 8 bits."""
    h, w = high.shape[-2:]
    low = F.interpolate(high, size=(h // scale, w // scale), mode="bicubic", align_corners=False, antialias=True)
    return low.clamp(0, 1).mul(255).round().div(255)


class SRTrainer(NetTrainer):
    """Trains :class:`SRNet` for every scale in ``params.scales``, cycling scales step by step."""

    net: SRNet

    def __init__(self, params: Any, device: torch.device, scaler: Any = None) -> None:
        self.params = params
        self.scaler = scaler or LossScaler()  # loss scaling under fp16, a pass-through otherwise
        self.device = device
        self.scales = tuple(int(s) for s in params.scales)
        self.net = SRNet(params.width, params.depth, self.scales).to(device)
        if params.init:
            from .learned import load_sr_net

            source = load_sr_net(params.init)
            self.net.load_state_dict(source.state_dict(), strict=False)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=params.lr)
        self.step = 0
        self.image_shape = (3, params.patch, params.patch)
        self.default_steps = params.steps
        self.default_batch_size = params.batch

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        scale = self.scales[self.step % len(self.scales)]
        high = random_dihedral(batch[:, :3])
        h, w = high.shape[-2:]
        high = high[:, :, : h - h % scale, : w - w % scale]
        low = downscale(high, scale)
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(self.step, self.params.steps, self.params.lr)
        out = self.net(low, scale)
        loss = (out - high).abs().mean()
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.backward(loss)
        self.scaler.step(self.optimizer)
        self.step += 1
        with torch.no_grad():
            mse = (out.clamp(0, 1) - high).square().mean().clamp_min(1e-10)
        return {"l1": float(loss.detach()), f"psnr_x{scale}": float(-10 * torch.log10(mse))}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Demo: synthetic pictures downscaled by the first scale and upsampled back by the network."""
        scale = self.scales[0]
        size = self.params.patch - self.params.patch % scale
        high = smooth_images(n, size, generator, stripe_some=True)
        out = self.net(downscale(high, scale).to(self.device), scale).clamp(0, 1).cpu()
        return F.pad(out, (0, self.params.patch - size, 0, self.params.patch - size))

    def export(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """Weights to ship (fp16 halves the file; inference casts back to fp32) and the architecture."""
        tensors = self.half_weights()
        meta = {"genart.arch": "srnet", "width": str(self.net.width), "depth": str(self.net.depth),
                "scales": "+".join(str(s) for s in self.scales),
                "params_per_scale": "+".join(str(self.net.parameters_for(s)) for s in self.scales)}
        return tensors, meta
