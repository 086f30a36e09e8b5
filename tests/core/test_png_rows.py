"""The band-by-band PNG writer: the pixels and text chunks Pillow reads back, Pillow's file size, atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genart.records.png_rows import write_png_rows
from genart.records.recipe import png_info, read_recipe_text


def picture(height: int, width: int, channels: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients with a little noise: a photo-like image, where PNG's filters matter."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    smooth = (np.sin(rows / 9.0)[..., None] + np.cos(cols / 7.0)[..., None] + np.arange(channels)) * 60 + 120
    return (smooth + rng.integers(-3, 4, (height, width, channels))).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_bands_of_any_height_read_back_exactly_with_the_recipe(tmp_path: Path, channels: int) -> None:
    array = picture(203, 157, channels)
    cuts = [0, 1, 50, 130, 203]  # a one-row band, bands across the 64-row filter blocks
    bands = [array[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    if channels == 1:
        bands = [band[..., 0] for band in bands]  # grey rows may come without a channel axis
    path = write_png_rows(tmp_path / "out.png", bands, 157, 203, channels, png_info('{"seed": "é"}'))
    with Image.open(path) as image:
        assert image.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        assert np.array_equal(np.asarray(image).reshape(array.shape), array)
    assert read_recipe_text(path) == '{"seed": "é"}'


def test_files_are_as_small_as_pillows(tmp_path: Path) -> None:
    array = picture(256, 256, 3)
    write_png_rows(tmp_path / "ours.png", [array[:100], array[100:]], 256, 256, 3)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    assert (tmp_path / "ours.png").stat().st_size <= 1.01 * len(buffer.getvalue())


def test_rows_missing_or_too_many_leave_no_file(tmp_path: Path) -> None:
    array = picture(20, 10, 3)
    (tmp_path / "kept.png").write_bytes(b"the user's file")
    with pytest.raises(ValueError, match="19 rows written of the 20"):
        write_png_rows(tmp_path / "kept.png", [array[:19]], 10, 20, 3)
    with pytest.raises(ValueError, match="more than the 20 rows"):
        write_png_rows(tmp_path / "new.png", [array, array[:1]], 10, 20, 3)
    with pytest.raises(ValueError, match="rows of 40 values"):
        write_png_rows(tmp_path / "new.png", [picture(20, 10, 4)], 10, 20, 3)
    assert (tmp_path / "kept.png").read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.png"]  # no temporary file left either
