"""pixelize (clean cells, robust colours, outline, sizes), tile-preview, the seam metric, and reproduce."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from pixel_support import periodic_noise

from genart.api import App
from genart.images import load_image, save_image
from genart.testing import build_context, check_post_processor, make_tiny_images
from genart_pixel.palettes import builtin, gpl_text
from genart_pixel.seams import seam_ratio, seams


@pytest.fixture(scope="module")
def app() -> App:
    return App.from_entry_points(only=None)


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


def test_contract(app: App) -> None:
    for spec in ("pixelize", "pixelize:block=3,method=mode", "pixelize:size=4,outline=#000000", "pixelize:block=2,up=1",
                 "tile-preview"):
        check_post_processor(build(app, spec))


def test_cells_are_flat_and_the_size_is_kept(app: App) -> None:
    images = make_tiny_images(2, 3, 32)
    out = build(app, "pixelize:block=4")(images)
    assert out.shape == images.shape
    cells = out.reshape(2, 3, 8, 4, 8, 4)
    assert torch.equal(cells, cells[:, :, :, :1, :, :1].expand_as(cells))
    small = build(app, "pixelize:size=8,up=1")(images)
    assert small.shape == (2, 3, 8, 8)
    assert torch.equal(build(app, "pixelize:size=8,up=4")(images), out)


@pytest.mark.parametrize("method", ["median", "mode"])
def test_a_cell_takes_its_majority_colour_not_a_blend(app: App, method: str) -> None:
    image = torch.zeros(1, 3, 4, 4)
    image[0, 0] = 1.0  # red
    image[0, :, 3, :] = torch.tensor([0.0, 0.0, 1.0])[:, None]  # one row of blue
    image[0, :, 2, 3] = torch.tensor([0.0, 1.0, 0.0])  # one green pixel
    out = build(app, f"pixelize:block=4,method={method},up=1")(image)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]), atol=2 / 255)


def test_outline_surrounds_the_figure(app: App) -> None:
    image = torch.ones(1, 3, 8, 8)
    image[0, :, 3:5, 3:5] = 0.2  # a grey square on white
    out = build(app, "pixelize:block=1,up=1,outline=#ff0000")(image)
    red = (out[0, 0] == 1) & (out[0, 1] == 0)
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[2, 3:5] = expected[5, 3:5] = expected[3:5, 2] = expected[3:5, 5] = True
    assert torch.equal(red, expected)
    sprite = torch.zeros(1, 4, 6, 6)
    sprite[0, :, 2:4, 2:4] = 1
    alpha = build(app, "pixelize:block=1,up=1,outline=#000000")(sprite)[0, 3]
    assert int(alpha.sum()) == 4 + 8


def test_chains_with_palette(app: App) -> None:
    from genart.api import apply_chain, build_chain

    chain = build_chain(build_context(app), ["pixelize:size=8", "palette:colors=gameboy"])
    out = apply_chain(chain, make_tiny_images(5, 3, 32), "cpu")
    allowed = set(builtin("gameboy"))
    for image in out:
        rgb = torch.round(image * 255).to(torch.int64).reshape(3, -1).T
        assert {tuple(r) for r in rgb.tolist()} <= allowed


def test_tile_preview_and_the_seam_metric(app: App) -> None:
    image = make_tiny_images(1, 3, 16)
    out = build(app, "tile-preview")(image)
    assert out.shape == (1, 3, 48, 48) and torch.equal(out[..., 16:32, 32:48], image)
    tileable = periodic_noise(8, 32)  # statistically the same everywhere, and periodic: no seam
    assert 0.9 < seam_ratio(tileable) < 1.1
    assert seam_ratio(torch.roll(tileable, (5, 11), (-2, -1))) == pytest.approx(seam_ratio(tileable), rel=0.15)
    assert seam_ratio(periodic_noise(8, 64)[..., :32, :32]) > 2  # a crop of a larger field does not wrap
    ramp = torch.linspace(0, 1, 32).expand(1, 3, 32, 32)  # wraps from 1 back to 0: a hard seam
    assert seam_ratio(ramp) > 10 and seams(ramp).edge > 0.4


def test_reproduce_a_palette_output_and_its_palette_file(genart_cli: Any, app: App, tmp_path: Path) -> None:
    palette = tmp_path / "mine.gpl"
    palette.write_text(gpl_text(builtin("pico8")[:6]))
    source = tmp_path / "in" / "sprite.png"
    source.parent.mkdir()
    save_image(make_tiny_images(1, 4, 24, seed=4)[0], source)
    post = ["--post", "pixelize:size=6", "--post", f"palette:colors={palette},dither=bayer"]
    result = genart_cli(["post", str(source), *post, "--out", str(tmp_path / "out"), "-q"], app=app)
    assert result.exit_code == 0, result.output
    output = tmp_path / "out" / "sprite.png"
    assert load_image(output).shape[0] == 4
    again = genart_cli(["reproduce", str(output), "--out", str(tmp_path / "again")], app=app)
    assert again.exit_code == 0 and "identical" in again.output, again.output
    shutil.copy(palette, tmp_path / "kept.gpl")
    palette.write_text(gpl_text(builtin("gameboy")))
    changed = genart_cli(["reproduce", str(output), "--out", str(tmp_path / "again2")], app=app)
    assert changed.exit_code == 2 and "mine.gpl" in changed.output and "content differs" in changed.output


def test_reproduce_a_sample_through_a_locked_palette(genart_cli: Any, app: App, tmp_path: Path) -> None:
    from genart.testing import make_tiny_run

    run = make_tiny_run(app, tmp_path / "runs", "vae", "shapes:count=8", steps=1, num_samples=2)
    gpl = tmp_path / "sheet" / "palette.gpl"
    out = tmp_path / "sheet" / "samples"
    result = genart_cli(["sample", str(run), "-n", "6", "--post", f"palette:n=4,gpl={gpl}", "--out", str(out),
                         "--device", "cpu"], app=app)
    assert result.exit_code == 0, result.output
    assert gpl.is_file()
    again = genart_cli(["reproduce", str(out / "samples" / "0005.png"), "--out", str(tmp_path / "again")], app=app)
    assert again.exit_code == 0 and "identical" in again.output, again.output


def test_genart_sample_writes_the_locked_palette_beside_the_samples(genart_cli: Any, app: App,
                                                                   tmp_path: Path) -> None:
    from genart.testing import make_tiny_run
    from genart_pixel.palettes import read_palette_file

    run = make_tiny_run(app, tmp_path / "runs", "vae", "shapes:count=8", steps=1, num_samples=2)
    out = tmp_path / "sheet"
    result = genart_cli(["sample", str(run), "-n", "3", "--post", "palette:n=3", "--out", str(out),
                         "--device", "cpu"], app=app)
    assert result.exit_code == 0, result.output
    colours = set(read_palette_file(out / "palette.gpl"))
    for index in range(3):
        image = load_image(out / "samples" / f"{index:04d}.png")
        rgb = torch.round(image * 255).to(torch.int64).reshape(image.shape[0], -1).T
        assert {tuple(row) for row in rgb[:, :3].tolist()} <= colours
