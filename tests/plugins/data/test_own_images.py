"""The model takes the data's shape unless told otherwise; transparent sprites on a chosen background."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from genart.contract.fitting import fit_model_to_data
from genart.contract.plugins import App
from genart.errors import UsageError
from genart.testing import build_context


@pytest.fixture
def context() -> Any:
    return build_context(App.from_entry_points(only=["data", "gan", "vae"]))


def write_mnist(folder: Path, side: int = 28, count: int = 4) -> Path:
    images = np.random.default_rng(0).integers(0, 256, (count, side, side)).astype(np.uint8)
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", count, side, side)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
    return folder


def write_folder(folder: Path, sizes: list[tuple[int, int]], mode: str = "RGB") -> Path:
    folder.mkdir(exist_ok=True)
    for index, size in enumerate(sizes):
        Image.new(mode, size, "white" if mode != "RGBA" else (255, 0, 0, 0)).save(folder / f"{index:03}.png")
    return folder


def test_mnist_gives_a_grey_28_px_model(context: Any, tmp_path: Path) -> None:
    fitted = fit_model_to_data(context, "gan", f"mnist:path={write_mnist(tmp_path)}")
    assert fitted.spec == "gan:image_size=28,channels=1"
    assert fitted.filled == {"image_size": 28, "channels": 1} and not fitted.warnings
    assert "from the data" in (fitted.message() or "")
    built = context.build("model", fitted.spec)
    assert tuple(built.image_shape) == (1, 28, 28)


def test_explicit_values_are_kept_with_a_warning_when_they_differ(context: Any, tmp_path: Path) -> None:
    data = f"mnist:path={write_mnist(tmp_path)}"
    fitted = fit_model_to_data(context, "gan:image_size=32,lr_g=2e-4", data)
    assert fitted.spec == "gan:image_size=32,lr_g=2e-4,channels=1"
    assert len(fitted.warnings) == 1 and "image_size=32" in fitted.warnings[0] and "28 px" in fitted.warnings[0]
    same = fit_model_to_data(context, "vae:image_size=28,channels=1", data)
    assert same.spec == "vae:image_size=28,channels=1" and not same.warnings and same.message() is None


def test_quoted_options_survive_the_filled_keys(context: Any, tmp_path: Path) -> None:
    fitted = fit_model_to_data(context, 'vae:loss="bernoulli:binarize=true"', f"mnist:path={write_mnist(tmp_path)}")
    assert context.build("model", fitted.spec).image_shape[0] == 1


def test_shapes_leaves_the_model_alone(context: Any) -> None:
    assert fit_model_to_data(context, "vae", "shapes:count=4").spec == "vae"


def test_folder_side_is_the_median_short_side_within_28_to_64(context: Any, tmp_path: Path) -> None:
    small = write_folder(tmp_path / "small", [(44, 50), (46, 47), (90, 45)])
    assert fit_model_to_data(context, "gan", f"folder:path={small}").filled == {"image_size": 44, "channels": 3}
    big = write_folder(tmp_path / "big", [(224, 200)] * 3)
    assert fit_model_to_data(context, "gan", f"folder:path={big}").filled["image_size"] == 64
    grey = write_folder(tmp_path / "grey", [(20, 20)] * 2, mode="L")
    assert fit_model_to_data(context, "gan", f"folder:path={grey}").filled == {"image_size": 28, "channels": 1}
    chosen = fit_model_to_data(context, "gan", f"folder:path={big},size=96")
    assert chosen.filled["image_size"] == 96


def test_the_job_trains_the_fitted_model_and_records_it(tmp_path: Path) -> None:
    from genart.records.runs import read_json
    from genart.runner.jobs import train_job
    from genart.runner.settings import RunSettings

    app = App.from_entry_points(only=["data", "vae"])
    settings = RunSettings(model="vae:width=4,latent=2", data=f"mnist:path={write_mnist(tmp_path, count=8)}",
                           steps=2, batch_size=4, num_samples=2, out=str(tmp_path / "runs"), progress=False)
    run = train_job(app, settings)
    manifest = read_json(run / "manifest.json")
    assert manifest["model"]["spec"] == "vae:width=4,latent=2,image_size=28,channels=1"
    assert manifest["model"]["params"]["image_size"] == 28 and manifest["model"]["params"]["channels"] == 1
    sample = Image.open(run / "samples" / "0000.png")
    assert sample.mode == "L" and sample.size == (28, 28)


@pytest.mark.parametrize("background, expected", [("black", (0, 0, 0)), ("#3366ff", (0x33, 0x66, 0xFF)),
                                                  ("white", (255, 255, 255))])
def test_transparent_pixels_take_the_background(context: Any, tmp_path: Path, background: str,
                                                 expected: tuple[int, int, int]) -> None:
    sprites = write_folder(tmp_path / "sprites", [(8, 8)] * 2, mode="RGBA")
    images = context.build("dataset", f"folder:path={sprites},background={background},cache=false").load(8, 3)
    assert torch.equal(images[0, :, 0, 0], torch.tensor(expected, dtype=torch.uint8))


def test_background_is_part_of_the_cache_key(context: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("GENART_CACHE_DIR", str(tmp_path / "cache"))
    sprites = write_folder(tmp_path / "sprites", [(8, 8)] * 2, mode="RGBA")
    white = context.build("dataset", f"folder:path={sprites}").load(8, 3)
    black = context.build("dataset", f"folder:path={sprites},background=black").load(8, 3)
    assert white[0, 0, 0, 0] == 255 and black[0, 0, 0, 0] == 0


def test_bad_background_is_one_line(context: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="#rrggbb"):
        context.build("dataset", f"folder:path={tmp_path},background=pink")


def write_sprites(folder: Path, count: int = 8, side: int = 28) -> Path:
    """Opaque coloured discs on a transparent square: the alpha channel is the sprite's outline."""
    folder.mkdir()
    yy, xx = np.mgrid[:side, :side]
    for index in range(count):
        radius = 5 + index % 4
        inside = (yy - side / 2) ** 2 + (xx - side / 2) ** 2 < radius**2
        rgba = np.zeros((side, side, 4), np.uint8)
        rgba[inside] = (40 * index % 256, 200, 255 - 30 * index % 256, 255)
        Image.fromarray(rgba, "RGBA").save(folder / f"{index}.png")
    return folder


@pytest.mark.parametrize("model", ["gan:width=8", "vae:width=4,latent=2", "diffusion:width=8,image_size=28,steps=2"])
def test_rgba_models_write_transparent_samples(tmp_path: Path, model: str) -> None:
    from genart.runner.jobs import train_job
    from genart.runner.settings import RunSettings

    sprites = write_sprites(tmp_path / "sprites")
    app = App.from_entry_points(only=["data", "gan", "vae", "diffusion"])
    settings = RunSettings(model=f"{model},channels=4", data=f"folder:path={sprites},cache=false", steps=2,
                           batch_size=4, num_samples=2, out=str(tmp_path / "runs"), progress=False)
    run = train_job(app, settings)
    sample = Image.open(run / "samples" / "0000.png")
    assert sample.mode == "RGBA" and sample.size == (28, 28)
    assert Image.open(run / "grid.png").mode == "RGBA"


def test_gan_colour_augmentation_leaves_alpha_alone() -> None:
    from genart_gan.augment import color

    torch.manual_seed(0)
    images = torch.rand(4, 4, 8, 8)
    jittered = color(images)
    assert torch.equal(jittered[:, 3], images[:, 3])
    assert not torch.allclose(jittered[:, :3], images[:, :3])


def test_a_folder_of_transparent_sprites_fits_an_alpha_model(context: Any, tmp_path: Path) -> None:
    """The folder reports 4 channels for sprites cut out on transparency, so the model keeps the alpha and
    asking for ``channels=4`` draws no warning that the data is 3 channels (it did: the shape never said 4)."""
    sprites = write_sprites(tmp_path / "sprites")
    fitted = fit_model_to_data(context, "gan", f"folder:path={sprites}")
    assert fitted.filled == {"image_size": 28, "channels": 4} and not fitted.warnings
    asked = fit_model_to_data(context, "vae:channels=4", f"folder:path={sprites}")
    assert asked.spec == "vae:channels=4,image_size=28" and not asked.warnings
    opaque = fit_model_to_data(context, "gan:channels=3", f"folder:path={sprites}")
    assert len(opaque.warnings) == 1 and "is 4 channels" in opaque.warnings[0]


def test_solid_alpha_or_a_chosen_background_stays_colour(context: Any, tmp_path: Path) -> None:
    """RGBA files whose alpha is solid everywhere (exported photos) are colour; so are sprites the user asks
    to lay on a background."""
    solid = tmp_path / "solid"
    solid.mkdir()
    for index in range(3):
        Image.new("RGBA", (30, 30), (10, 20, 30, 255)).save(solid / f"{index}.png")
    assert fit_model_to_data(context, "gan", f"folder:path={solid}").filled["channels"] == 3
    sprites = write_sprites(tmp_path / "sprites")
    on_black = fit_model_to_data(context, "gan", f"folder:path={sprites},background=black")
    assert on_black.filled["channels"] == 3
    mixed = write_sprites(tmp_path / "mixed")
    Image.new("RGB", (28, 28), "white").save(mixed / "photo.png")
    assert fit_model_to_data(context, "gan", f"folder:path={mixed}").filled["channels"] == 3
