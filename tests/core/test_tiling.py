"""genart.tiling.self_ensemble: averaging a network over flips and rotations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genart.tiling import self_ensemble, tiled, tiled_bands


def ramp(images: torch.Tensor) -> torch.Tensor:
    """Not equivariant at all: adds the column index."""
    return images + torch.arange(images.shape[-1], dtype=images.dtype)


def test_one_is_the_function_itself() -> None:
    assert self_ensemble(ramp, 1) is ramp


def test_mirror_pair_averages_out_a_ramp() -> None:
    images = torch.rand(2, 3, 5, 7)
    out = self_ensemble(ramp, 2)(images)
    assert torch.allclose(out, images + 3.0)  # columns 0..6 and 6..0 average to 3


def test_eight_transforms_cover_rows_and_columns() -> None:
    images = torch.rand(1, 1, 4, 6)
    out = self_ensemble(ramp, 8)(images)
    # four copies add the column ramp in either direction (mean 2.5), four add the row ramp (mean 1.5)
    assert torch.allclose(out, images + (2.5 + 1.5) / 2)


def test_equivariant_function_is_unchanged_and_shapes_kept() -> None:
    kernel = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]).div(16).expand(3, 1, 3, 3)

    def blur(images: torch.Tensor) -> torch.Tensor:
        return F.conv2d(images, kernel, padding=1, groups=3)

    images = torch.rand(2, 3, 9, 5)
    for count in (2, 4, 8):
        assert torch.allclose(self_ensemble(blur, count)(images), blur(images), atol=1e-6)


@pytest.mark.parametrize("count", [0, 3, 16])
def test_bad_count(count: int) -> None:
    with pytest.raises(ValueError, match="ensemble"):
        self_ensemble(ramp, count)


@pytest.mark.parametrize(("size", "tile"), [((37, 53), 16), ((16, 40), 16), ((12, 12), 16)])
def test_bands_stack_into_the_tiled_output(size: tuple[int, int], tile: int) -> None:
    """A x2 network with a 3x3 reach: the bands, one per row of tiles, stacked equal ``tiled``'s result."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)

    def network(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(conv(x), scale_factor=2, mode="nearest")

    images = torch.rand(2, 3, *size)
    with torch.no_grad():
        whole = tiled(network, images, tile=tile, overlap=4, scale=2)
        bands = list(tiled_bands(network, images, tile=tile, overlap=4, scale=2))
    assert len(bands) == -(-size[0] // tile) if max(size) > tile else len(bands) == 1
    assert all(band.shape[-1] == 2 * size[1] for band in bands)
    assert torch.equal(torch.cat(bands, -2), whole)
    assert (whole - network(images)).abs().max() < 1e-5  # and tiling is exact for this reach
