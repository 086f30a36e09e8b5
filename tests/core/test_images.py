"""Reading real-world files: modes, orientation, damage, bombs; atomic, non-clobbering writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genart import images
from genart.errors import GenartError


def test_modes_are_read_into_sensible_channels(tmp_path: Path) -> None:
    Image.new("L", (5, 4), 128).save(tmp_path / "grey.png")
    Image.new("RGBA", (5, 4), (255, 0, 0, 0)).save(tmp_path / "alpha.png")
    palette = Image.new("P", (5, 4))
    palette.putpalette([0, 0, 255] * 256)
    palette.save(tmp_path / "palette.png")
    Image.new("CMYK", (5, 4), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    Image.fromarray(np.full((4, 5), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert images.load_image(tmp_path / "grey.png").shape == (1, 4, 5)
    alpha = images.load_image(tmp_path / "alpha.png")
    assert alpha.shape == (4, 4, 5) and alpha[3].max() == 0
    assert images.load_image(tmp_path / "palette.png")[2].min() == 1.0
    cmyk = images.load_image(tmp_path / "cmyk.jpg")
    assert cmyk.shape == (3, 4, 5) and cmyk[0].mean() > 0.9 and cmyk[1].mean() < 0.1
    deep = images.load_image(tmp_path / "deep.png")
    assert deep.shape == (1, 4, 5) and torch.allclose(deep, torch.ones_like(deep))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    picture = Image.new("RGB", (6, 3), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    picture.save(tmp_path / "rotated.jpg", exif=exif)
    assert images.load_image(tmp_path / "rotated.jpg").shape == (3, 6, 3)


def test_truncated_and_non_image_files_raise_image_error(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("hello")
    for name in ("cut.png", "text.png", "missing.png"):
        with pytest.raises(images.ImageError):
            images.load_image(tmp_path / name)


def test_decompression_bombs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("L", (100, 100)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 50 * 50)
    with pytest.raises(images.ImageError, match="decompression bomb"):
        images.load_image(tmp_path / "big.png")


def test_save_roundtrip_and_refuses_to_overwrite(tmp_path: Path) -> None:
    picture = torch.rand(3, 5, 7)
    images.save_image(picture, tmp_path / "x.png")
    assert torch.allclose(images.load_image(tmp_path / "x.png"), picture, atol=1 / 255)
    with pytest.raises(GenartError, match="already exists"):
        images.save_image(picture, tmp_path / "x.png")
    images.save_image(picture, tmp_path / "x.png", overwrite=True)


def test_alpha_survives_a_save(tmp_path: Path) -> None:
    picture = torch.rand(4, 3, 3)
    images.save_image(picture, tmp_path / "a.png")
    assert images.load_image(tmp_path / "a.png").shape[0] == 4


def test_convert_channels() -> None:
    rgba = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(4, 1, 1)
    assert torch.equal(images.convert_channels(rgba, 3).flatten(), torch.ones(3)), "transparent becomes white"
    assert images.convert_channels(torch.rand(2, 1, 4, 4), 3).shape == (2, 3, 4, 4)
    assert images.convert_channels(torch.rand(1, 4, 4), 4)[3].min() == 1


def test_grid_and_animation(tmp_path: Path) -> None:
    grid = images.make_grid(torch.rand(5, 3, 4, 4), padding=1)
    assert grid.shape == (3, 2 * 5 + 1, 3 * 5 + 1)
    frames = [torch.full((3, 8, 8), i / 4) for i in range(4)]
    images.save_animation(frames, tmp_path / "walk.gif")
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 4
