"""The palette post-processor: at most n colours always, nearest colours, files, extraction, lock, alpha, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genart.api import App
from genart.images import save_image
from genart.testing import build_context, check_post_processor, make_tiny_images
from genart_pixel.colour import oklab_to_srgb, srgb_to_oklab, to_space
from genart_pixel.palettes import builtin, gpl_text, read_palette_file, resolve


@pytest.fixture(scope="module")
def app() -> App:
    return App.from_entry_points(only=None)


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


def colours_of(image: torch.Tensor) -> set[tuple[int, int, int]]:
    rgb = torch.round(image[:3].expand(3, -1, -1) * 255).to(torch.int64).reshape(3, -1).T
    return {tuple(row) for row in rgb.tolist()}


hex_colour = st.integers(0, 0xFFFFFF).map(lambda v: f"{v:06x}")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), palette=st.lists(hex_colour, min_size=1, max_size=12, unique=True),
       data=st.data())
def test_at_most_n_colours_always(app: App, seed: int, palette: list[str], data: st.DataObject) -> None:
    size = len(resolve("+".join(palette)))
    n = data.draw(st.integers(1, size), label="n")
    dither = data.draw(st.sampled_from(["none", "bayer", "floyd-steinberg"]), label="dither")
    lock = data.draw(st.booleans(), label="lock")
    channels = data.draw(st.sampled_from([1, 3, 4]), label="channels")
    h, w = data.draw(st.integers(1, 12), label="h"), data.draw(st.integers(1, 12), label="w")
    clean = data.draw(st.integers(0, 2), label="clean")
    images = torch.rand(3, channels, h, w, generator=torch.Generator().manual_seed(seed))
    spec = f"palette:colors={'+'.join(palette)},n={n},dither={dither},lock={str(lock).lower()},clean={clean}"
    out = build(app, spec)(images)
    allowed = set(resolve("+".join(palette)))
    for image in out:
        found = colours_of(image)
        assert len(found) <= n and found <= allowed
        if channels == 4:
            assert set(image[3].unique().tolist()) <= {0.0, 1.0}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12), channels=st.sampled_from([3, 4]),
       lock=st.booleans())
def test_extracted_palettes_have_at_most_n_colours(app: App, seed: int, n: int, channels: int, lock: bool) -> None:
    images = make_tiny_images(3, channels, 10, seed=seed % 1000)
    out = build(app, f"palette:n={n},lock={str(lock).lower()}")(images)
    first = colours_of(out[0])
    for image in out:
        assert len(colours_of(image)) <= n
        if lock:
            assert colours_of(image) <= first | colours_of(image) and len(first | colours_of(image)) <= n


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), palette=st.lists(hex_colour, min_size=2, max_size=10, unique=True),
       space=st.sampled_from(["oklab", "lightness", "rgb"]))
def test_without_dithering_each_pixel_is_its_nearest_palette_colour(app: App, seed: int, palette: list[str],
                                                                    space: str) -> None:
    images = torch.rand(2, 3, 9, 7, generator=torch.Generator().manual_seed(seed))
    out = build(app, f"palette:colors={'+'.join(palette)},space={space}")(images)
    table = torch.tensor(resolve("+".join(palette)), dtype=torch.float64) / 255
    pixels = to_space(images.double().permute(0, 2, 3, 1).reshape(-1, 3), space)
    chosen = to_space(out.double().permute(0, 2, 3, 1).reshape(-1, 3), space)
    best = ((pixels[:, None] - to_space(table, space)[None]) ** 2).sum(-1).min(1).values
    assert torch.all(((pixels - chosen) ** 2).sum(-1) <= best + 1e-5)


def test_contract_and_determinism(app: App) -> None:
    for spec in ("palette", "palette:colors=pico8,dither=bayer", "palette:colors=c64,dither=floyd-steinberg,lock=false",
                 "palette:n=4,method=median-cut,lock=false"):
        check_post_processor(build(app, spec))


def test_oklab_round_trip() -> None:
    rgb = torch.rand(1000, 3, generator=torch.Generator().manual_seed(0)).double()
    assert torch.allclose(oklab_to_srgb(srgb_to_oklab(rgb)), rgb, atol=1e-5)
    white = srgb_to_oklab(torch.ones(3, dtype=torch.float64))
    assert abs(float(white[0]) - 1) < 1e-4 and float(white[1:].abs().max()) < 1e-4


def test_builtin_palettes() -> None:
    assert len(builtin("gameboy")) == 4 and len(builtin("pico8")) == 16 and len(builtin("c64")) == 16
    assert len(builtin("nes")) == 55  # the 64-entry hardware table repeats black
    assert resolve("GameBoy") == builtin("gameboy")
    assert resolve("pico8+#ffffff") == [*builtin("pico8"), (255, 255, 255)]  # PICO-8 has no pure white
    assert resolve("bw+#ffffff+000000") == [(0, 0, 0), (255, 255, 255)]  # repeats drop


def test_palette_files_read_back(tmp_path: Path) -> None:
    colours = builtin("pico8")
    gpl = tmp_path / "p.gpl"
    gpl.write_text(gpl_text(colours))
    hexfile = tmp_path / "p.hex"
    hexfile.write_text("\n".join(f"{r:02x}{g:02x}{b:02x}" for r, g, b in colours) + "\n")
    jasc = tmp_path / "p.pal"
    jasc.write_text("JASC-PAL\r\n0100\r\n16\r\n" + "".join(f"{r} {g} {b}\r\n" for r, g, b in colours))
    for file in (gpl, hexfile, jasc):
        assert read_palette_file(file) == colours
        assert resolve(str(file)) == colours


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.gpl", "GIMP Palette\nName: x\n12 300 4\n", "line 3"),
    ("bad.gpl", "not a palette\n", "GIMP Palette"),
    ("bad.hex", "ff0000\nzzzzzz\n", "line 2"),
    ("bad.pal", "JASC-PAL\n0100\n3\n1 2 3\n", "says 3 colours but holds 1"),
    ("empty.hex", "\n\n", "no colours"),
])
def test_bad_palette_files_are_one_line_errors(genart_cli: Any, app: App, tmp_path: Path, name: str, text: str,
                                               message: str) -> None:
    (tmp_path / name).write_text(text)
    save_image(make_tiny_images(1, 3, 8)[0], tmp_path / "in.png")
    result = genart_cli(["post", str(tmp_path / "in.png"), "--post", f"palette:colors={tmp_path / name}",
                         "--out", str(tmp_path / "out"), "-q"], app=app)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(("spec", "message"), [
    ("palette:colors=gameboy,n=5", "n=5 but the palette 'gameboy' has only 4 colours"),
    ("palette:colors=gamebox", "neither a built-in palette (gameboy, pico8, nes, c64, cga, bw)"),
    ("palette:colors=pico8+gamebox", "neither a built-in palette"),
    ("palette:colors=missing.gpl", "palette file not found"),
    ("palette:extract=nowhere", "no such file or folder"),
    ("palette:gpl=x.gpl,lock=false", "needs lock=true"),
])
def test_bad_parameters_are_one_line_errors(genart_cli: Any, app: App, tmp_path: Path, spec: str,
                                            message: str) -> None:
    save_image(make_tiny_images(1, 3, 8)[0], tmp_path / "in.png")
    result = genart_cli(["post", str(tmp_path / "in.png"), "--post", spec, "--out", str(tmp_path / "out"), "-q"],
                        app=app)
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_subset_of_a_palette_keeps_the_most_used_colours(app: App) -> None:
    image = torch.zeros(1, 3, 4, 4)
    image[..., :3, :] = torch.tensor([1.0, 0.0, 0.3])[:, None, None]  # mostly pico8's pink-red
    out = build(app, "palette:colors=pico8,n=2")(image)
    assert colours_of(out[0]) <= {(0xFF, 0x00, 0x4D), (0, 0, 0)} and (0xFF, 0x00, 0x4D) in colours_of(out[0])


def test_extract_from_an_image_and_a_folder(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "art"
    folder.mkdir()
    for i, image in enumerate(make_tiny_images(3, 3, 16, seed=5)):
        save_image(image, folder / f"{i}.png")
    for source in (folder / "0.png", folder):
        processor = build(app, f"palette:extract={source},n=6")
        assert len(processor.fixed) <= 6
        out = processor(make_tiny_images(2, 3, 12, seed=9))
        assert all(colours_of(image) <= set(processor.fixed) for image in out)
        assert build(app, f"palette:extract={source},n=6").fixed == processor.fixed  # deterministic


def test_extracting_more_colours_than_the_source_has_gives_fewer(app: App, tmp_path: Path) -> None:
    """Before: ``extract=reference/,n=12`` (a docs example) on a reference with 3 colours failed with
    'n=12 but the palette has only 3 colours'; n is "at most"."""
    image = torch.zeros(3, 8, 8)
    image[0, :4], image[2, 4:, :4] = 1.0, 1.0  # red top, blue bottom-left, black bottom-right
    save_image(image, tmp_path / "three.png")
    processor = build(app, f"palette:extract={tmp_path / 'three.png'},n=12")
    assert sorted(processor.fixed) == [(0, 0, 0), (0, 0, 255), (255, 0, 0)]
    out = processor(make_tiny_images(2, 3, 12, seed=9))
    assert all(colours_of(image) <= set(processor.fixed) for image in out)


def test_lock_writes_and_rereads_the_gpl(app: App, tmp_path: Path) -> None:
    gpl = tmp_path / "sheet" / "palette.gpl"
    first = build(app, f"palette:n=5,gpl={gpl}")
    out = first(make_tiny_images(4, 3, 16, seed=1))
    locked = read_palette_file(gpl)
    assert 1 <= len(locked) <= 5 and all(colours_of(image) <= set(locked) for image in out)
    again = build(app, f"palette:n=5,gpl={gpl}")(make_tiny_images(2, 3, 16, seed=2))  # other images, same palette
    assert all(colours_of(image) <= set(locked) for image in again)
    with pytest.raises(Exception, match="another palette"):
        build(app, f"palette:colors=gameboy,gpl={gpl}")


def test_lock_is_one_palette_for_the_batch_and_per_image_otherwise(app: App) -> None:
    images = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8)])
    images[0, 0, :4] = 1  # red and black; the second image is white
    locked = build(app, "palette:n=2")(images)
    assert colours_of(locked[1]) <= colours_of(locked[0]) and (255, 255, 255) not in colours_of(locked[1])
    free = build(app, "palette:n=2,lock=false")(images)
    assert colours_of(free[1]) == {(255, 255, 255)}


def test_alpha_is_a_binary_mask_at_the_threshold(app: App) -> None:
    images = torch.rand(1, 4, 6, 6, generator=torch.Generator().manual_seed(3))
    out = build(app, "palette:colors=gameboy,alpha=0.3")(images)
    assert torch.equal(out[0, 3], (images[0, 3] >= 0.3).float())


def test_stretch_spreads_a_narrow_lightness_range_over_a_ramp(app: App) -> None:
    image = torch.empty(1, 3, 8, 8)
    image[0, :, :, :4] = torch.tensor([0.30, 0.35, 0.90])[:, None, None]  # blue
    image[0, :, :, 4:] = torch.tensor([0.45, 0.20, 0.70])[:, None, None]  # purple of about the same lightness
    flat = colours_of(build(app, "palette:colors=gameboy,space=lightness")(image)[0])
    stretched = colours_of(build(app, "palette:colors=gameboy,space=lightness,stretch=true")(image)[0])
    ramp = builtin("gameboy")
    assert len(flat) == 1 and len(stretched) == 2 and ramp[0] in stretched  # (out-of-gamut blues lose some light)


def test_the_locked_palette_is_written_beside_the_outputs(genart_cli: Any, app: App, tmp_path: Path) -> None:
    import genart

    assert isinstance(build(app, "palette"), genart.WritesBeside)
    folder = tmp_path / "in"
    for i, image in enumerate(make_tiny_images(3, 3, 16, seed=2)):
        save_image(image, folder / f"{i}.png")
    result = genart_cli(["post", str(folder), "--post", "palette:n=5", "--out", str(tmp_path / "out"), "-q"], app=app)
    assert result.exit_code == 0, result.output
    colours = read_palette_file(tmp_path / "out" / "palette.gpl")
    assert len(colours) <= 5
    for i in range(3):
        from genart.images import load_image

        assert colours_of(load_image(tmp_path / "out" / f"{i}.png")) <= set(colours)
    other = tmp_path / "out" / "palette.gpl"
    other.write_text(gpl_text(builtin("gameboy")))  # a file of the user's is never replaced
    again = genart_cli(["post", str(folder), "--post", "palette:n=5", "--out", str(tmp_path / "out"), "-q",
                        "--overwrite"], app=app)
    assert again.exit_code == 0 and read_palette_file(other) == builtin("gameboy")
    assert read_palette_file(tmp_path / "out" / "palette-2.gpl") == colours


def test_clean_flattens_speckle_and_keeps_edges_and_transparency(app: App) -> None:
    """Two flat halves with 5 % of their pixels flipped to the other colour (a model's mottle after mapping):
    one pass of clean=1 restores both halves exactly away from the edge between them and all but a pixel or
    two on it (a lone pixel beside the edge with a speckled neighbour can win), and transparent pixels
    neither change nor vote."""
    generator = torch.Generator().manual_seed(0)
    black, white = torch.zeros(3), torch.ones(3)
    truth = torch.empty(1, 4, 32, 32)
    truth[0, :3] = torch.where(torch.arange(32)[None, None, :] < 16, black[:, None, None], white[:, None, None])
    truth[0, 3] = 1.0
    noisy = truth.clone()
    flips = torch.rand(32, 32, generator=generator) < 0.05
    noisy[0, :3, flips] = 1 - noisy[0, :3, flips]
    noisy[0, 3, :4, :4] = 0.0  # a transparent corner
    plain = build(app, "palette:colors=#000000+#ffffff")(noisy)
    cleaned = build(app, "palette:colors=#000000+#ffffff,clean=1")(noisy)
    speckled = (plain[0, :3] != truth[0, :3]).any(0)
    assert speckled[4:, 4:].sum() > 20  # the speckle is there without clean
    wrong = (cleaned[0, :3] != truth[0, :3]).any(0)
    wrong[:4, :4] = False  # the transparent corner, checked below
    away_from_edge = torch.cat([wrong[:, :14], wrong[:, 18:]], 1)  # the edge runs between columns 15 and 16
    assert not away_from_edge.any() and wrong.sum() <= 2
    assert torch.equal(cleaned[0, 3], plain[0, 3]) and torch.equal(cleaned[0, :3, :4, :4], plain[0, :3, :4, :4])


def test_clean_is_bounded(app: App) -> None:
    with pytest.raises(Exception, match="clean must be between 0 and 16"):
        build(app, "palette:colors=gameboy,clean=17")
