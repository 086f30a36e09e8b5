"""A compact U-Net for diffusion: residual blocks with group norm, a timestep embedding and
self-attention at the lowest resolutions (the DDPM/ADM layout, scaled down for CPU minutes).

The residual branches and the output layer start at zero, so the untrained network is the identity
of its skip path: training starts from a small, well-conditioned function instead of noise.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

GROUPS = 8
#: channels per attention head
HEAD_CHANNELS = 32


def norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(GROUPS, channels), channels)


def zero(module: nn.Module) -> nn.Module:
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


def timestep_features(level: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoids of a scalar noise level per image (``[N]``) at geometric frequencies 1..1000, ``[N, dim]``."""
    half = dim // 2
    freqs = torch.exp(torch.linspace(0, math.log(1000.0), half, device=level.device))
    angles = level.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], 1)


class ResBlock(nn.Module):
    """GN-SiLU-conv, plus a per-channel scale and shift from the timestep embedding, GN-SiLU-conv, + skip."""

    def __init__(self, c_in: int, c_out: int, emb: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * c_out)
        self.norm2, self.conv2 = norm(c_out), zero(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, 1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over all positions of a (small) feature map, residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.heads = max(1, channels // HEAD_CHANNELS)
        self.norm = norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.out(out.transpose(-1, -2).reshape(n, c, h, w))


class Level(nn.Module):
    """Residual blocks at one resolution, each optionally followed by attention."""

    def __init__(self, blocks: list[ResBlock], attention: bool) -> None:
        super().__init__()
        self.blocks: nn.ModuleList = nn.ModuleList(blocks)
        self.attn: nn.ModuleList | None = (nn.ModuleList([Attention(b.conv1.out_channels) for b in blocks])
                                           if attention else None)


def level_channels(width: int, levels: int, max_mult: int = 2) -> list[int]:
    """Channels per resolution: ``width`` at full size, doubling with each halving up to ``max_mult`` times
    ``width`` (2: the usual 1, 2, 2, ... multipliers; 4: 1, 2, 4, 4, ...; the lower grids are small, so
    their channels cost little per image)."""
    return [width * min(2 ** i, max_mult) for i in range(levels)]


def default_levels(size: int) -> int:
    """Halve the image until the lowest grid is at most 8 pixels (28 -> 7, 32 -> 8, 64 -> 8, 128 -> 8)."""
    levels = 1
    while math.ceil(size / 2 ** (levels - 1)) > 8:
        levels += 1
    return levels


class UNet(nn.Module):
    """Predicts the model's training target (velocity or EDM's F) from a noisy image and its noise level."""

    def __init__(self, channels: int, size: int, width: int = 32, depth: int = 1, attention: int = 1,
                 levels: int = 0, dropout: float = 0.0, max_mult: int = 2, patch: int = 1) -> None:
        super().__init__()
        if size % patch:
            raise ValueError(f"image size {size} is not a multiple of patch {patch}")
        self.patch = patch
        levels = levels or default_levels(size // patch)
        widths = level_channels(width, levels, max_mult)
        emb = 4 * width
        self.emb_dim = width
        self.emb_channels = emb
        self.embed = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        #: the class embedding, added to the time embedding; None until set_classes (an unconditional net)
        self.classes: nn.Embedding | None = None
        self.stem = nn.Conv2d(channels * patch ** 2, width, 3, padding=1)
        attend = [i >= levels - attention for i in range(levels)]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [width]
        c = width
        for i, w in enumerate(widths):
            blocks = []
            for _ in range(depth):
                blocks.append(ResBlock(c, w, emb, dropout))
                c = w
                skips.append(c)
            self.down.append(Level(blocks, attend[i]))
            if i < levels - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, emb, dropout), ResBlock(c, c, emb, dropout)])
        self.mid_attn = Attention(c) if attention > 0 else nn.Identity()
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            blocks = []
            for _ in range(depth + 1):
                blocks.append(ResBlock(c + skips.pop(), widths[i], emb, dropout))
                c = widths[i]
            self.up.append(Level(blocks, attend[i]))
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.head = nn.Sequential(norm(c), nn.SiLU(), zero(nn.Conv2d(c, channels * patch ** 2, 3, padding=1)))

    def set_classes(self, count: int) -> nn.Embedding:
        """Give the network ``count`` classes plus the "no class" index ``count`` (for label dropout and
        classifier-free guidance): an embedding added to the time embedding, starting at zero, so the
        untrained conditional network is the unconditional one (and no random numbers are drawn)."""
        self.classes = nn.Embedding(count + 1, self.emb_channels).to(self.stem.weight.device)
        nn.init.zeros_(self.classes.weight)
        return self.classes

    def class_embedding(self, labels: torch.Tensor) -> torch.Tensor:
        """int64 ``[N]`` class indices, or float class weights (a blend) ``[N, count]`` (classes only) or
        ``[N, count + 1]`` (the last column: "no class"), to ``[N, emb]``."""
        assert self.classes is not None
        if labels.is_floating_point():
            weight = self.classes.weight if labels.shape[1] == self.classes.num_embeddings else self.classes.weight[:-1]
            return labels.to(weight.dtype) @ weight
        return cast(torch.Tensor, self.classes(labels))

    def forward(self, x: torch.Tensor, level: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(timestep_features(level, self.emb_dim).to(x.dtype))
        if labels is not None:
            emb = emb + self.class_embedding(labels).to(emb.dtype)
        h = self.stem(F.pixel_unshuffle(x, self.patch) if self.patch > 1 else x)
        stack = [h]
        for i, module in enumerate(self.down):
            stage = cast(Level, module)
            for j, block in enumerate(stage.blocks):
                h = block(h, emb)
                if stage.attn is not None:
                    h = stage.attn[j](h)
                stack.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                stack.append(h)
        h = self.mid_attn(self.mid[0](h, emb))
        h = self.mid[1](h, emb)
        for i, module in enumerate(self.up):
            stage = cast(Level, module)
            for j, block in enumerate(stage.blocks):
                h = block(torch.cat([h, stack.pop()], 1), emb)
                if stage.attn is not None:
                    h = stage.attn[j](h)
            if i < len(self.upsample):
                h = F.interpolate(h, size=stack[-1].shape[-2:], mode="nearest")
                h = self.upsample[i](h)
        out = self.head(h)
        return F.pixel_shuffle(out, self.patch) if self.patch > 1 else out


def unet_of(module: nn.Module) -> UNet:
    """The UNet a model holds (its networks are UNets, prepared in place)."""
    if not isinstance(module, UNet):
        raise TypeError(f"expected the diffusion UNet, got {type(module).__name__}")
    return module
