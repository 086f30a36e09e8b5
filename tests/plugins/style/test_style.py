"""Tests of the style plugin: contracts, colour statistics, determinism, losses, encoders and the CLI.

Everything runs on tiny images the tests make themselves, with few optimiser steps.
"""

from __future__ import annotations

from pathlib import Path

import kornia
import pytest
import torch

from genart import GenartError, UsageError
from genart.images import load_image, save_image
from genart.testing import build_context, check_post_processor, make_tiny_images

STYLE_FAST = "method=gram,steps=3,levels=1,progress=false"


@pytest.fixture
def style_png(tmp_path: Path) -> Path:
    """A small, colourful, stripy style image (distinct palette and texture from the tiny contents)."""
    h, w = 48, 40
    y = torch.linspace(0, 1, h).view(h, 1)
    x = torch.linspace(0, 1, w).view(1, w)
    stripes = (torch.sin(x * 40 + y * 10) > 0).float()
    image = torch.stack([0.2 + 0.7 * stripes, 0.3 + 0.4 * y.expand(h, w), 0.9 - 0.6 * stripes * x])
    return save_image(image.clamp(0, 1), tmp_path / "style.png")


@pytest.fixture
def context(builtin_app):
    return build_context(builtin_app)


def test_components_registered(builtin_app) -> None:
    registry = builtin_app.registry
    assert {"style", "colortransfer", "histmatch"} <= set(registry.names("post"))
    assert {"random", "vgg19"} <= set(registry.names("style-encoder"))


def test_contract_colortransfer_histmatch(context, style_png: Path) -> None:
    check_post_processor(context.build("post", f"colortransfer:image={style_png}"))
    check_post_processor(context.build("post", f"histmatch:image={style_png}"))


def test_contract_style(context, style_png: Path) -> None:
    check_post_processor(context.build("post", f"style:image={style_png},{STYLE_FAST}"),
                         sizes=((16, 16), (7, 13), (1, 1), (33, 20)))


def test_style_works_inside_inference_mode(context, style_png: Path) -> None:
    """genart's chain runs post-processors under torch.inference_mode; the optimisation must still work."""
    processor = context.build("post", f"style:image={style_png},optimizer=adam,{STYLE_FAST}")
    images = make_tiny_images(1, 3, 16)
    with torch.inference_mode():
        out = processor(images)
    assert not torch.equal(out, images) and out.shape == images.shape


def test_colortransfer_matches_lab_statistics(style_png: Path) -> None:
    from genart_style import color

    style = load_image(style_png, channels=3)[None]
    mean, std = color.lab_stats(kornia.color.rgb_to_lab(style))
    content = make_tiny_images(2, 3, (150, 50), seed=3)  # > CHUNK_ROWS rows
    reference = color.reinhard(content, mean, std, clip=False)  # two plain kornia conversions
    fused = color.reinhard_fast(content, mean, std, clip=False)  # what the post-processor runs
    assert (fused - reference).abs().max() < 1e-4
    for unclipped in (reference, fused):
        got_mean, got_std = color.lab_stats(kornia.color.rgb_to_lab(unclipped))
        assert (got_mean - mean).abs().max() < 1e-3
        assert (got_std - std).abs().max() < 1e-3
    assert color.reinhard_fast(content, mean, std).min() >= 0
    # and the clipped output of the post-processor is close to the style's statistics too
    before = color.lab_stats(kornia.color.rgb_to_lab(content))[0]
    assert (before - mean).abs().max() > 5, "test images too similar to show anything"


def test_histmatch_gives_style_distribution(context, style_png: Path) -> None:
    style = load_image(style_png, channels=3)
    content = make_tiny_images(1, 3, style.shape[-2:], seed=4)
    out = context.build("post", f"histmatch:image={style_png}")(content)[0]
    for c in range(3):
        assert torch.allclose(out[c].flatten().sort().values, style[c].flatten().sort().values, atol=1e-6)


def test_style_is_deterministic_and_seed_matters(context, style_png: Path) -> None:
    images = make_tiny_images(1, 3, 24, seed=5)
    a = context.build("post", f"style:image={style_png},init=noise,seed=1,{STYLE_FAST}")(images)
    b = context.build("post", f"style:image={style_png},init=noise,seed=1,{STYLE_FAST}")(images)
    c = context.build("post", f"style:image={style_png},init=noise,seed=2,{STYLE_FAST}")(images)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_style_loss_falls(context, style_png: Path) -> None:
    content = make_tiny_images(1, 3, 32, seed=6)
    processor = context.build("post", f"style:image={style_png},method=gram,steps=25,levels=1,progress=false")
    out = processor(content)
    before = processor.measure(content, content)["style"]
    after = processor.measure(out, content)["style"]
    assert after < 0.25 * before, (before, after)
    totals = [h["total"] for h in processor.history]
    assert totals[-1] < totals[0]


def test_preserve_colors_keeps_chroma(context, style_png: Path) -> None:
    content = make_tiny_images(1, 3, 32, seed=7)
    lab_in = kornia.color.rgb_to_lab(content)
    for mode, limit in (("luminance", 2.0), ("none", None)):
        out = context.build("post", f"style:image={style_png},method=gram,preserve_colors={mode},steps=15,levels=1,"
                                    "progress=false")(content)
        shift = (kornia.color.rgb_to_lab(out)[:, 1:].mean((2, 3)) - lab_in[:, 1:].mean((2, 3))).abs().max()
        if limit is not None:
            assert shift < limit, f"{mode}: a*/b* mean moved by {shift:.2f}"
        else:
            assert shift > 2.0, "without preserve_colors the style's palette should move the colours"


def test_preserve_colors_match_recolours_style(style_png: Path) -> None:
    from genart_style import color

    style = load_image(style_png, channels=3)
    content = make_tiny_images(1, 3, 30, seed=8)[0]
    matched = color.match_color_moments(style, content)
    assert torch.allclose(matched.reshape(3, -1).mean(1), content.reshape(3, -1).mean(1), atol=0.02)


def test_blend_weights_and_size(context, style_png: Path, tmp_path: Path) -> None:
    other = save_image(make_tiny_images(1, 3, 20, seed=9)[0], tmp_path / "other.png")
    processor = context.build("post", f"style:image={style_png}+{other},weights=0.7+0.3,size=20,{STYLE_FAST}")
    assert processor.weights == pytest.approx([0.7, 0.3])
    out = processor(make_tiny_images(1, 3, (10, 8), seed=1))
    assert tuple(out.shape) == (1, 3, 20, 16)
    with pytest.raises(UsageError, match="2 style image"):
        context.build("post", f"style:image={style_png}+{other},weights=1")
    with pytest.raises(UsageError, match="needs image"):
        context.build("post", "style")


def test_max_size_is_a_clear_error(context, style_png: Path) -> None:
    processor = context.build("post", f"style:image={style_png},max_size=32,{STYLE_FAST}")
    with pytest.raises(GenartError, match="exceeds max_size=32"):
        processor(torch.rand(1, 3, 40, 20))
    with pytest.raises(GenartError, match="size=64 exceeds"):
        context.build("post", f"style:image={style_png},max_size=32,size=64,{STYLE_FAST}")(torch.rand(1, 3, 8, 8))


def test_vgg19_missing_weights_error(context, style_png: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    monkeypatch.delenv("GENART_VGG19_WEIGHTS", raising=False)
    with pytest.raises(UsageError) as info:
        context.build("post", f"style:image={style_png},method=gram,encoder=vgg19")
    message = str(info.value)
    assert "GENART_VGG19_WEIGHTS" in message and "vgg19-dcbb9e9d.pth" in message and "\n" not in message
    monkeypatch.setenv("GENART_VGG19_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(UsageError, match="not found at .*nope.pth"):
        context.build("style-encoder", "vgg19")


def test_vgg19_loads_torchvision_state_dict(context, style_png: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from genart_style.gram_encoders import vgg19_shapes

    generator = torch.Generator().manual_seed(0)
    state = {f"features.{k}": (torch.randn(s, generator=generator) * 0.05).half() for k, s in vgg19_shapes().items()}
    state["classifier.0.bias"] = torch.zeros(4096).half()  # ignored extra keys, as in torchvision's file
    path = tmp_path / "vgg19.safetensors"
    save_file(state, str(path))
    encoder = context.build("style-encoder", f"vgg19:weights={path}")
    style, content = encoder(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in style] == [64, 128, 256, 512, 512] and content[0].shape[1] == 512
    out = context.build("post", f"style:image={style_png},encoder=vgg19,encoder_weights={path},{STYLE_FAST}")(
        make_tiny_images(1, 3, 24))
    assert out.shape == (1, 3, 24, 24) and torch.isfinite(out).all()

    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3, 3, 3)}, bad)
    with pytest.raises(GenartError, match="not a torchvision VGG-19 state dict"):
        context.build("style-encoder", f"vgg19:weights={bad}")


def test_third_party_encoder(builtin_app, style_png: Path) -> None:
    import genart

    calls = []

    class PixelEncoder:
        """Only the pixels' statistics: a colour-only style."""

        def __call__(self, x: torch.Tensor):
            calls.append(x.shape)
            return [x], [x]

    class Plugin:
        @genart.hookimpl
        def register_components(self, register):
            register("style-encoder", "pixels", lambda params, context: PixelEncoder(), description="pixels only")

    builtin_app.register(Plugin(), "pixels-plugin")
    try:
        context = build_context(builtin_app)
        out = context.build("post", f"style:image={style_png},encoder=pixels,{STYLE_FAST}")(make_tiny_images(1, 3, 12))
        assert out.shape == (1, 3, 12, 12) and calls
    finally:
        builtin_app.unregister("pixels-plugin")


def test_stylize_command(builtin_app, genart_cli, style_png: Path, tmp_path: Path) -> None:
    content = save_image(make_tiny_images(1, 3, (20, 30), seed=2)[0], tmp_path / "content.png")
    out = tmp_path / "out.png"
    args = ["stylize", str(content), "--style", f"{style_png}:0.5", "--style", str(style_png), "--out", str(out),
            "--size", "24", "--method", "gram", "--steps", "2", "--levels", "1", "--device", "cpu", "-q"]
    result = genart_cli(args, app=builtin_app)
    assert result.exit_code == 0, result.output
    assert load_image(out).shape == (3, 16, 24)
    again = genart_cli(args, app=builtin_app)
    assert again.exit_code == 2 and "already exists" in again.output and "Traceback" not in again.output
    assert genart_cli([*args, "--overwrite"], app=builtin_app).exit_code == 0
    missing = genart_cli([*args[:-1], "--overwrite", "--style", str(tmp_path / "none.png")], app=builtin_app)
    assert missing.exit_code != 0 and "none.png" in missing.output and "Traceback" not in missing.output


def test_parse_style() -> None:
    from genart_style.commands import parse_style

    assert parse_style("a.jpg:0.3") == (Path("a.jpg"), 0.3)
    assert parse_style("a.jpg") == (Path("a.jpg"), 1.0)
    assert parse_style("C:/x/a.jpg") == (Path("C:/x/a.jpg"), 1.0)


def test_stylize_output_reproduces_bit_for_bit(builtin_app, genart_cli, style_png: Path, tmp_path: Path) -> None:
    from genart.records.recipe import read_recipe

    content = save_image(make_tiny_images(1, 3, (20, 30), seed=4)[0], tmp_path / "content.png")
    out = tmp_path / "out.png"
    args = ["stylize", str(content), "--style", f"{style_png}:0.5", "--out", str(out), "--size", "24",
            "--steps", "2", "--levels", "1", "--device", "cpu", "-q"]
    assert genart_cli(args, app=builtin_app).exit_code == 0
    recipe = read_recipe(out)
    assert recipe["kind"] == "stylize" and recipe["params"]["steps"] == 2 and len(recipe["styles"]) == 1
    result = genart_cli(["reproduce", str(out), "--out", str(tmp_path / "again")], app=builtin_app)
    assert result.exit_code == 0 and "identical" in result.output, result.output
    assert (tmp_path / "again" / "out.png").read_bytes() == out.read_bytes()
