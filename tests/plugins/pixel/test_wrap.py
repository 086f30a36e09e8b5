"""wrap=true in upsample and restore (and genart.tiling): a tileable input stays tileable."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from pixel_support import periodic_noise

from genart.api import App
from genart.testing import build_context
from genart.tiling import run_learned, wrap_pad
from genart_pixel.seams import seam_ratio


@pytest.fixture(scope="module")
def app() -> App:
    return App.from_entry_points(only=None)


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


SPECS = ["upsample:method=bicubic", "upsample:method=lanczos", "upsample:method=nearest", "upsample",
         "upsample:scale=3", "restore", "restore:task=denoise,ensemble=1", "restore:task=jpeg,ensemble=2",
         "restore:task=deblur,ensemble=1"]


@pytest.mark.parametrize("spec", SPECS)
def test_wrap_commutes_with_shifting_the_tile(app: App, spec: str) -> None:
    """The output of a shifted tile is the shifted output: no place in the tiling is special, so no seam."""
    processor = build(app, f"{spec},wrap=true" if ":" in spec else f"{spec}:wrap=true")
    image = periodic_noise(2, 40, seed=3)
    out = processor(image)
    scale = out.shape[-1] // image.shape[-1]
    shifted = processor(torch.roll(image, (8, 12), (-2, -1)))
    assert torch.allclose(shifted, torch.roll(out, (8 * scale, 12 * scale), (-2, -1)), atol=1e-5)
    if "nearest" not in spec:  # nearest repeats pixels, which halves the interior differences the metric uses
        assert seam_ratio(out) <= 1.1


@pytest.mark.parametrize("spec", ["upsample", "upsample:method=bicubic", "restore:task=deblur,ensemble=1"])
def test_without_wrap_the_seam_shows(app: App, spec: str) -> None:
    image = periodic_noise(4, 40, seed=1)
    assert seam_ratio(build(app, spec)(image)) > 1.1


def test_fractional_scale_and_alpha_with_wrap(app: App) -> None:
    image = torch.cat([periodic_noise(2, 32, seed=5), torch.ones(2, 1, 32, 32)], 1)
    processor = build(app, "upsample:scale=1.5,method=bicubic,wrap=true")
    out = processor(image)
    assert out.shape == (2, 4, 48, 48)  # a shift by 2 input pixels is one by 3 output pixels, all the way round
    assert torch.allclose(processor(torch.roll(image, 2, -1)), torch.roll(out, 3, -1), atol=1e-5)
    learned = build(app, "upsample:scale=2,wrap=true")(image)
    assert learned.shape == (2, 4, 64, 64) and torch.allclose(learned[:, 3], torch.ones(2, 64, 64))


def test_run_learned_wraps_like_a_circular_network() -> None:
    """A 5x5 box filter with circular padding, computed untiled, equals the wrapped, tiled, strided run."""
    import torch.nn.functional as F

    image = torch.rand(1, 3, 30, 26, generator=torch.Generator().manual_seed(0))
    kernel = torch.full((3, 1, 5, 5), 1 / 25)

    def box(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2)), kernel, groups=3)

    expected = F.conv2d(F.pad(image, (2, 2, 2, 2), mode="circular"), kernel, groups=3)
    got = run_learned(box, image, multiple=4, tile=8, overlap=3, keep_mean=False, wrap=True)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.equal(wrap_pad(image, 2)[..., 2:-2, 2:-2], image)
    row = wrap_pad(torch.arange(3.0).view(1, 1, 1, 3), 0, 4)[0, 0, 0]
    assert torch.equal(row, torch.tensor([0.0, 1, 2, 0, 1, 2, 0]))
