"""Synthetic degradations for training, and the non-learned helpers the learned tasks lean on.

Every random draw uses torch's global generator, which the core training loop seeds and checkpoints,
so training runs are reproducible and resume exactly.
"""

from __future__ import annotations

import io

import torch
import torch.nn.functional as F


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8 bits, as every real input file is."""
    return x.clamp(0, 1).mul(255).round().div(255)


def uniform(n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n)


def add_noise(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Additive white Gaussian noise, ``sigma`` per image in [0, 1] units (not clipped, as in benchmarks)."""
    return x + torch.randn_like(x) * sigma.view(-1, 1, 1, 1).to(x)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Encode and decode each image as a baseline 4:2:0 JPEG at its own quality."""
    import numpy as np
    from PIL import Image

    out = torch.empty_like(x)
    for index, image in enumerate(x):
        array = image[:3].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=int(quality[index]))
        buffer.seek(0)
        decoded = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255
        out[index] = torch.from_numpy(decoded).permute(2, 0, 1).to(x)
    return out


def blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian (defocus-like) blur with a per-image sigma in pixels."""
    import kornia

    size = int(2 * round(3 * float(sigma.max())) + 1)
    sigmas = sigma.view(-1, 1).expand(-1, 2).to(x)
    return kornia.filters.gaussian_blur2d(x, (size, size), sigmas, border_type="reflect")


def random_masks(n: int, h: int, w: int) -> torch.Tensor:
    """Holes to inpaint: a mix of thick strokes and rectangles covering roughly 5-35% of the image."""
    masks = torch.zeros(n, 1, h, w)
    ys, xs = torch.arange(h).view(h, 1).float(), torch.arange(w).view(1, w).float()
    for index in range(n):
        for _ in range(int(torch.randint(1, 4, (1,)))):
            if bool(torch.rand(1) < 0.5):  # rectangle
                bh, bw = int(torch.randint(max(2, h // 10), max(3, h // 3), (1,))), \
                    int(torch.randint(max(2, w // 10), max(3, w // 3), (1,)))
                top, left = int(torch.randint(0, h - bh + 1, (1,))), int(torch.randint(0, w - bw + 1, (1,)))
                masks[index, 0, top:top + bh, left:left + bw] = 1
            else:  # stroke: a thick segment
                y0, x0 = float(torch.rand(1)) * h, float(torch.rand(1)) * w
                y1, x1 = float(torch.rand(1)) * h, float(torch.rand(1)) * w
                radius = float(uniform(1, 1.5, max(2.0, min(h, w) / 12)))
                dy, dx = y1 - y0, x1 - x0
                length = max(1e-6, dy * dy + dx * dx)
                t = (((ys - y0) * dy + (xs - x0) * dx) / length).clamp(0, 1)
                distance = (ys - (y0 + t * dy)) ** 2 + (xs - (x0 + t * dx)) ** 2
                masks[index, 0] = torch.maximum(masks[index, 0], (distance <= radius * radius).float())
    return masks


def push_pull_fill(x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill unknown pixels (``known`` == 0) from a pyramid of masked averages, coarse to fine.

    A smooth, global first guess for inpainting: the network only has to add local structure, so its
    small receptive field is enough even for large holes. Exact where ``known`` is 1.
    """
    h, w = x.shape[-2:]
    if bool((known > 0).all()) or (h <= 1 and w <= 1):
        return x if bool((known > 0).all()) else _mean_fill(x, known)
    ph, pw = h % 2, w % 2
    xp = F.pad(x * known, (0, pw, 0, ph))
    kp = F.pad(known, (0, pw, 0, ph))
    total = F.avg_pool2d(xp, 2)
    weight = F.avg_pool2d(kp, 2)
    coarse = total / weight.clamp_min(1e-8)
    coarse_known = (weight > 0).to(x)
    filled = push_pull_fill(coarse, coarse_known)
    up = F.interpolate(filled, scale_factor=2, mode="bilinear", align_corners=False)[..., :h, :w]
    return x * known + up * (1 - known)


def _mean_fill(x: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    weight = known.sum((2, 3), keepdim=True)
    mean = (x * known).sum((2, 3), keepdim=True) / weight.clamp_min(1e-8)
    mean = torch.where(weight > 0, mean, torch.full_like(mean, 0.5))
    return x * known + mean * (1 - known)


def estimate_sigma(x: torch.Tensor) -> torch.Tensor:
    """Blind noise level per image (Donoho's MAD of the finest diagonal Haar band), in [0, 1] units.

    Robust to edges because it takes a median; reads a little high on strongly textured clean images,
    which only makes the denoiser slightly more cautious about texture.
    """
    n, c, h, w = x.shape
    h2, w2 = h - h % 2, w - w % 2
    if h2 == 0 or w2 == 0:
        return torch.zeros(n, device=x.device)
    q = x[:, :, :h2, :w2].float()
    band = (q[:, :, 0::2, 0::2] - q[:, :, 0::2, 1::2] - q[:, :, 1::2, 0::2] + q[:, :, 1::2, 1::2]) / 2
    flat = band.reshape(n, -1).abs()
    if flat.shape[1] > 4_000_000:  # a strided subset keeps huge images fast and memory-light
        flat = flat[:, :: flat.shape[1] // 2_000_000]
    return flat.median(1).values / 0.6745


def blind_spot(x: torch.Tensor, fraction: float = 0.02, reach: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise2Void masking: replace a few random pixels by a random neighbour's value.

    Returns (masked input, mask of replaced pixels). A network asked to predict the original noisy value
    at those pixels cannot copy it, so it learns the clean signal from noisy images alone (the noise is
    independent pixel to pixel, the signal is not).
    """
    n, c, h, w = x.shape
    mask = (torch.rand(n, 1, h, w) < fraction).to(x)
    dy = torch.randint(-reach, reach + 1, (n, 1, h, w))
    dx = torch.randint(-reach, reach + 1, (n, 1, h, w))
    same = (dy == 0) & (dx == 0)
    dx = torch.where(same, torch.ones_like(dx), dx)
    ys = (torch.arange(h).view(1, 1, h, 1) + dy).clamp(0, h - 1)
    xs = (torch.arange(w).view(1, 1, 1, w) + dx).clamp(0, w - 1)
    index = (ys * w + xs).expand(n, c, h, w).reshape(n, c, -1).to(x.device)
    neighbours = x.reshape(n, c, -1).gather(2, index).view(n, c, h, w)
    return torch.where(mask > 0, neighbours, x), mask
