"""``restorer-trainer``: trains a learned restore task with the core training loop.

The loop hands it clean patches (or, with ``objective=n2v``, the user's noisy pictures) and it
degrades them itself, so a plain folder of images is all the data any task needs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from genart import LossScaler
from genart.trainkit import NetTrainer, cosine_lr, random_dihedral, smooth_images

from . import degrade
from .nets import RestoreNet

#: conditioning channels per task: the noise-level map for denoising, the hole mask for inpainting
COND = {"denoise": 1, "jpeg": 0, "deblur": 0, "inpaint": 1}


def identity_conv(conv: torch.nn.Conv2d) -> None:
    """Make a square 3x3 convolution pass its input through unchanged.

    The quarter-resolution stack follows each convolution with a ReLU, and its input is already the
    output of a ReLU, so an identity layer added there leaves the network's function exactly as it
    was: growing a trained network (``grow=``) keeps what it learned and adds room to learn more.
    """
    with torch.no_grad():
        conv.weight.zero_()
        if conv.bias is not None:
            conv.bias.zero_()
        centre = conv.kernel_size[0] // 2
        conv.weight[:, :, centre, centre] = torch.eye(conv.out_channels, conv.in_channels)


class Degrader:
    """Makes (input, condition) from a clean batch for one task."""

    def __init__(self, params: Any) -> None:
        self.params = params

    def __call__(self, clean: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        p, n = self.params, clean.shape[0]
        if p.task == "denoise":
            sigma = degrade.uniform(n, p.sigma_min / 255, p.sigma_max / 255)
            noisy = degrade.add_noise(clean, sigma).clamp(0, 1)  # real inputs are clipped to [0, 1]
            # half the time condition on the blind estimate, so blind use (the default) works as well
            # as a given sigma does
            estimate = degrade.estimate_sigma(noisy)
            use = torch.where(torch.rand(n) < 0.5, estimate.cpu(), sigma)
            return noisy, use.view(-1, 1, 1, 1).to(clean).expand(-1, 1, *clean.shape[-2:])
        if p.task == "jpeg":
            quality = torch.randint(p.quality_min, p.quality_max + 1, (n,))
            return degrade.jpeg(clean, quality), None
        if p.task == "deblur":
            sigma = degrade.uniform(n, p.blur_min, p.blur_max)
            blurred = degrade.blur(clean, sigma)
            noise = degrade.uniform(n, 0, 2 / 255)
            return degrade.quantize(degrade.add_noise(blurred, noise)), None
        masks = degrade.random_masks(n, *clean.shape[-2:]).to(clean)
        return degrade.push_pull_fill(clean, 1 - masks), masks


class RestorerTrainer(NetTrainer):
    """Supervised training on synthetic degradations, or Noise2Void self-supervision on noisy images."""

    net: RestoreNet

    def __init__(self, params: Any, device: torch.device, scaler: Any = None) -> None:
        self.params = params
        self.scaler = scaler or LossScaler()  # loss scaling under fp16, a pass-through otherwise
        self.device = device
        self.net = RestoreNet(COND[params.task], params.width, params.depth).to(device)
        if params.init:
            from .learned import load_restore_net

            source = load_restore_net(params.task, params.init)
            self.net = RestoreNet(source.cond, source.width, source.depth + params.grow).to(device)
            self.net.load_state_dict(source.state_dict(), strict=not params.grow)
            for conv in list(self.net.mid)[source.depth:]:
                assert isinstance(conv, torch.nn.Conv2d)
                identity_conv(conv)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=params.lr)
        self.degrader = Degrader(params)
        self.step = 0
        self.image_shape = (3, params.patch, params.patch)
        self.default_steps = params.steps
        self.default_batch_size = params.batch

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        clean = random_dihedral(batch[:, :3]).contiguous()
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(self.step, self.params.steps, self.params.lr)
        if self.params.objective == "n2v":
            loss, psnr = self._n2v_loss(clean)
        else:
            degraded, cond = self.degrader(clean)
            out = self.net(degraded, cond)
            if cond is not None and self.params.task == "inpaint":
                out = degraded * (1 - cond) + out * cond
            loss = (out - clean).square().mean()
            psnr = -10 * math.log10(max(float(loss.detach()), 1e-10))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.backward(loss)
        self.scaler.step(self.optimizer)
        self.step += 1
        return {"loss": float(loss.detach()), "psnr": psnr}

    def _n2v_loss(self, noisy: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The batch is already noisy; predict masked pixels from their neighbourhood."""
        if self.params.sigma_min > 0 or self.params.sigma_max > 0:  # clean data: simulate the noise
            sigma = degrade.uniform(noisy.shape[0], self.params.sigma_min / 255, self.params.sigma_max / 255)
            noisy = degrade.add_noise(noisy, sigma)
        masked, mask = degrade.blind_spot(noisy)
        sigma = degrade.estimate_sigma(noisy).view(-1, 1, 1, 1).to(noisy).expand(-1, 1, *noisy.shape[-2:])
        out = self.net(masked, sigma if self.net.cond else None)
        loss = ((out - noisy).square() * mask).sum() / (mask.sum() * 3).clamp_min(1)
        return loss, -10 * math.log10(max(float(loss.detach()), 1e-10))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Demo: synthetic pictures, degraded for this task, then restored (deterministic per generator)."""
        size = self.params.patch - self.params.patch % 4
        clean = smooth_images(n, size, generator)
        state = torch.get_rng_state()
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        try:
            degraded, cond = self.degrader(clean)
        finally:
            torch.set_rng_state(state)
        out = self.net(degraded.to(self.device), None if cond is None else cond.to(self.device)).cpu()
        if cond is not None and self.params.task == "inpaint":
            out = degraded * (1 - cond) + out * cond
        return F.pad(out.clamp(0, 1), (0, self.params.patch - size, 0, self.params.patch - size))

    def export(self) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        tensors = self.half_weights()
        meta = {"genart.arch": "restorenet", "task": self.params.task, "cond": str(self.net.cond),
                "width": str(self.net.width), "depth": str(self.net.depth),
                "objective": self.params.objective,
                "params": str(sum(p.numel() for p in self.net.parameters()))}
        return tensors, meta
