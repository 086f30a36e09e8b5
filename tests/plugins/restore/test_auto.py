"""The default restore (task=auto): clean pictures come back unchanged, noise is denoised, JPEG deblocked."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from genart.api import App
from genart.errors import UsageError
from genart.testing import build_context, check_post_processor
from genart_restore import degrade
from genart_restore.detect import BLOCK_THRESHOLD, blockiness, diagnose


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


def photo_like(n: int = 2, size: int = 96) -> torch.Tensor:
    """Smooth regions, hard edges and 8-bit values, like a clean photograph (not white noise, and no
    structure on an 8-pixel grid, which make_tiny_images' 4x bilinear upscale has)."""
    generator = torch.Generator().manual_seed(3)
    smooth = F.interpolate(torch.rand(n, 3, 11, 11, generator=generator), size=(size, size), mode="bicubic")
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = ((ys - size * 0.4) ** 2 + (xs - size * 0.55) ** 2 < (size * 0.3) ** 2).float()
    return degrade.quantize(torch.lerp(smooth, torch.rand(n, 3, 1, 1, generator=generator), disc))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / torch.mean((a - b) ** 2)))


def test_contract(builtin_app: App) -> None:
    check_post_processor(build(builtin_app, "restore"))


def test_default_leaves_clean_pictures_unchanged(builtin_app: App) -> None:
    """The old default (a sharpening chain) changed every picture; the default must never lower quality."""
    clean = photo_like()
    restore = build(builtin_app, "restore")
    assert torch.equal(restore(clean), clean)
    assert restore.last_choices == ["none", "none"]


def test_default_denoises_noise(builtin_app: App) -> None:
    clean = photo_like()
    noisy = degrade.quantize(clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(0)) * 25 / 255)
    restore = build(builtin_app, "restore")
    out = restore(noisy)
    assert restore.last_choices == ["denoise", "denoise"]
    assert psnr(out, clean) > psnr(noisy, clean) + 3
    assert torch.equal(out, build(builtin_app, "restore:task=denoise")(noisy))


def test_default_deblocks_jpeg(builtin_app: App) -> None:
    clean = photo_like()
    compressed = degrade.jpeg(clean, torch.tensor([10, 10]))
    restore = build(builtin_app, "restore")
    out = restore(compressed)
    assert restore.last_choices == ["jpeg", "jpeg"]
    assert psnr(out, clean) > psnr(compressed, clean)


def test_mixed_batch_decides_per_image_and_keeps_alpha(builtin_app: App) -> None:
    clean = photo_like()
    noisy = degrade.quantize(clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(1)) * 25 / 255)
    batch = torch.cat([clean[:1], noisy[1:]])
    alpha = (torch.rand(2, 1, 96, 96, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    restore = build(builtin_app, "restore")
    out = restore(torch.cat([batch, alpha], 1))
    assert restore.last_choices == ["none", "denoise"]
    assert torch.equal(out[0, :3], clean[0]) and torch.equal(out[:, 3:], alpha)


def test_blockiness_reads_the_grid() -> None:
    clean = photo_like()
    assert blockiness(clean).max() < BLOCK_THRESHOLD
    assert blockiness(degrade.jpeg(clean, torch.tensor([10, 10]))).min() > BLOCK_THRESHOLD


def test_tiny_images_are_left_alone() -> None:
    noisy = torch.rand(2, 3, 20, 20, generator=torch.Generator().manual_seed(0))
    assert diagnose(noisy) == ["none", "none"]


@pytest.mark.parametrize("spec", ["restore:sharpen=3", "restore:weights=x.safetensors"])
def test_classic_settings_need_task_classic(builtin_app: App, spec: str) -> None:
    with pytest.raises(UsageError):
        build(builtin_app, spec)


def test_blocking_is_not_judged_on_small_pictures() -> None:
    """A 32 px sample has three 8 px grid lines each way: too few to tell JPEG from a decoder's own grid."""
    small = degrade.jpeg(photo_like(2, 48), torch.tensor([10, 10]))
    assert diagnose(small) == ["none", "none"]
