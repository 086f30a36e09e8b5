"""Tests of example-based (patch) style transfer: search, aggregation, fusion, tiling, errors, CLI.

Everything runs on tiny images the tests make themselves, with small patches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from genart import GenartError, UsageError
from genart.images import load_image, save_image
from genart.testing import build_context, check_post_processor, make_tiny_images

FAST = "method=patch,patch_sizes=7+5,iterations=1,levels=2,progress=false"


@pytest.fixture
def style_png(tmp_path: Path) -> Path:
    """Diagonal stripes in two colours plus a gradient: a texture whose patches are easy to recognise."""
    h, w = 48, 56
    y = torch.arange(h).view(h, 1).float()
    x = torch.arange(w).view(1, w).float()
    stripes = ((x + y) // 4 % 2).expand(h, w)
    image = torch.stack([0.1 + 0.8 * stripes, 0.2 + 0.3 * y.expand(h, w) / h, 0.9 - 0.7 * stripes])
    return save_image(image.clamp(0, 1), tmp_path / "style.png")


@pytest.fixture
def context(builtin_app):
    return build_context(builtin_app)


def patch_distance(image: torch.Tensor, style: torch.Tensor, size: int = 5) -> float:
    """Mean squared distance of the image's patches to their nearest style patch (brute force)."""
    q = F.unfold(image, size).squeeze(0).T
    s = F.unfold(style[None], size).squeeze(0).T
    return float(torch.cdist(q, s).min(1).values.pow(2).mean())


def test_contract_patch(context, style_png: Path) -> None:
    check_post_processor(context.build("post", f"style:image={style_png},{FAST}"),
                         sizes=((16, 16), (7, 13), (1, 1), (33, 20)))


def test_patch_is_the_default_method(context, style_png: Path) -> None:
    from genart_style.patch_synthesis import PatchTransfer

    assert isinstance(context.build("post", f"style:image={style_png}"), PatchTransfer)


def test_nearest_matches_brute_force(style_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With all PCA dimensions kept the search is exact; chunking the distance blocks changes nothing."""
    from genart_style import patch_search as patches

    style = load_image(style_png, channels=3)
    generator = torch.Generator().manual_seed(0)
    bank = patches.PatchBank(style, [(0, style.shape[-1], style.shape[-2])], [1.0], 5, 75, generator)
    queries = torch.rand(300, 75, generator=generator)
    brute = torch.cdist(queries, bank.patches(torch.arange(len(bank)))).argmin(1)
    monkeypatch.setattr(patches, "SEARCH_ELEMENTS", 1000)  # many small blocks
    found = bank.nearest(queries)
    got = (queries - bank.patches(found)).pow(2).sum(1)
    best = (queries - bank.patches(brute)).pow(2).sum(1)
    assert torch.allclose(got, best, atol=1e-4)


def test_aggregation_reproduces_an_image_made_of_style_patches(context, style_png: Path) -> None:
    """The style itself is its own best match everywhere, so one pass gives it back (IRLS included)."""
    from genart_style.patch_search import PatchBank

    processor = context.build("post", f"style:image={style_png},{FAST}")
    style = load_image(style_png, channels=3)
    bank = PatchBank(style, [(0, style.shape[-1], style.shape[-2])], [1.0], 7, 147, torch.Generator())
    out = processor.aggregate(style[None], bank, torch.Generator().manual_seed(1))
    inner = (slice(None), slice(7, -7), slice(7, -7))  # pixels only covered by patches inside the image
    assert (out[0][inner] - style[inner]).abs().max() < 1e-3


def test_strips_do_not_change_the_result(context, style_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fine levels run in strips to bound memory; the strip height must not change an aggregation pass beyond
    float rounding (a whole run can still differ: rounding can flip a near-tie in a later search)."""
    from genart_style import patch_synthesis as synthesis
    from genart_style.patch_search import PatchBank

    processor = context.build("post", f"style:image={style_png},{FAST}")
    style = load_image(style_png, channels=3)
    bank = PatchBank(style, [(0, style.shape[-1], style.shape[-2])], [1.0], 7, 16, torch.Generator())
    x = make_tiny_images(1, 3, (40, 36), seed=3)
    whole = processor.aggregate(x, bank, torch.Generator().manual_seed(2))
    monkeypatch.setattr(synthesis, "STRIP_ELEMENTS", 500)  # a strip of one patch row at a time
    strips = processor.aggregate(x, bank, torch.Generator().manual_seed(2))
    assert torch.allclose(whole, strips, atol=1e-5)


def test_output_is_made_of_style_patches_and_strength_keeps_content(context, style_png: Path) -> None:
    style = load_image(style_png, channels=3)
    content = make_tiny_images(1, 3, 40, seed=4)
    texture = context.build("post", f"style:image={style_png},{FAST},strength=0")(content)
    photo = context.build("post", f"style:image={style_png},{FAST},strength=50")(content)
    # pure texture: its patches are far closer to the style's than those of the content in the style's
    # colours (histogram-matched), so it copies texture, not only the palette
    from genart_style import color

    recoloured = color.match_histograms(content, style.reshape(3, -1).sort(1).values)
    assert patch_distance(texture, style) < 0.6 * patch_distance(recoloured, style)
    # high strength: the result stays close to the content's layout (compare greyscale, colours move)
    grey = content.mean(1)
    assert (photo.mean(1) - grey).abs().mean() < (texture.mean(1) - grey).abs().mean()


def test_same_bytes_and_seed_matters(context, style_png: Path) -> None:
    images = make_tiny_images(1, 3, 32, seed=5)
    a = context.build("post", f"style:image={style_png},{FAST},seed=1")(images)
    b = context.build("post", f"style:image={style_png},{FAST},seed=1")(images)
    c = context.build("post", f"style:image={style_png},{FAST},seed=2")(images)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_tileable_has_no_seam(context, style_png: Path) -> None:
    """Wrapped around, the seam's gradient is no larger than the interior's (mean over three seeds, as one
    row of random patches is noisy); without tiling it is clearly larger."""
    content = make_tiny_images(1, 3, (64, 64), seed=6)

    def seam_ratio(spec: str) -> float:
        ratios = []
        for seed in (1, 2, 3):
            out = context.build("post", f"style:image={style_png},{FAST},strength=0,seed={seed},{spec}")(content)[0]
            interior = (out[:, :, 1:] - out[:, :, :-1]).abs().mean() + (out[:, 1:] - out[:, :-1]).abs().mean()
            seam = (out[:, :, 0] - out[:, :, -1]).abs().mean() + (out[:, 0] - out[:, -1]).abs().mean()
            ratios.append(float(seam / interior))
        return sum(ratios) / len(ratios)

    assert seam_ratio("tileable=true") <= 1.0
    assert seam_ratio("tileable=false") > 1.5


def test_blended_styles_follow_their_weights(context, style_png: Path, tmp_path: Path) -> None:
    style = load_image(style_png, channels=3)
    flat = save_image(torch.tensor([0.9, 0.9, 0.1]).view(3, 1, 1).expand(3, 40, 40).clone(), tmp_path / "flat.png")
    content = make_tiny_images(1, 3, 32, seed=7)
    mostly_stripes = context.build("post", f"style:image={style_png}+{flat},weights=0.9+0.1,{FAST},strength=0")
    mostly_flat = context.build("post", f"style:image={style_png}+{flat},weights=0.1+0.9,{FAST},strength=0")
    assert patch_distance(mostly_stripes(content), style) < patch_distance(mostly_flat(content), style)


def test_preserve_colors_luminance(context, style_png: Path) -> None:
    import kornia

    content = make_tiny_images(1, 3, 32, seed=8)
    out = context.build("post", f"style:image={style_png},{FAST},preserve_colors=luminance")(content)
    shift = (kornia.color.rgb_to_lab(out)[:, 1:].mean((2, 3)) - kornia.color.rgb_to_lab(content)[:, 1:].mean((2, 3)))
    assert shift.abs().max() < 2.0


def test_bad_inputs_are_one_line_errors(context, style_png: Path, tmp_path: Path) -> None:
    small = save_image(torch.rand(3, 4, 30), tmp_path / "small.png")
    with pytest.raises(GenartError, match="30x4 px, smaller than the 5 px patches") as info:
        context.build("post", f"style:image={small},{FAST}")
    assert "\n" not in str(info.value)
    with pytest.raises(GenartError, match="no such file"):
        context.build("post", f"style:image={tmp_path / 'none.png'},{FAST}")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(GenartError, match="cannot read image"):
        context.build("post", f"style:image={broken},{FAST}")
    with pytest.raises(GenartError, match="exceeds max_size=32"):
        context.build("post", f"style:image={style_png},{FAST},max_size=32")(torch.rand(1, 3, 40, 20))
    with pytest.raises(UsageError, match="patch_sizes"):
        context.build("post", f"style:image={style_png},method=patch,patch_sizes=1")


def test_stylize_command_patch(builtin_app, genart_cli, style_png: Path, tmp_path: Path) -> None:
    content = save_image(make_tiny_images(1, 3, (20, 30), seed=2)[0], tmp_path / "content.png")
    out = tmp_path / "out.png"
    args = ["stylize", str(content), "--style", str(style_png), "--out", str(out), "--size", "30",
            "--method", "patch", "--patch-sizes", "7+5", "--iterations", "1", "--tileable", "--device", "cpu", "-q"]
    result = genart_cli(args, app=builtin_app)
    assert result.exit_code == 0, result.output
    assert load_image(out).shape == (3, 20, 30)
    bad = genart_cli([*args, "--overwrite", "--patch-sizes", "7+x"], app=builtin_app)
    assert bad.exit_code != 0 and "patch-sizes" in bad.output and "Traceback" not in bad.output
    small = save_image(torch.rand(3, 4, 4), tmp_path / "small.png")
    tiny = genart_cli([*args[:3], str(small), *args[4:], "--overwrite"], app=builtin_app)
    assert tiny.exit_code != 0 and "smaller than" in tiny.output and "Traceback" not in tiny.output


def test_reuse_penalty_spreads_matches_over_the_style(style_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identical queries (a flat sky) all take one style patch without the penalty; with it they spread over
    many, deterministically for one seed."""
    from genart.images import load_image
    from genart_style import patch_search as patches

    style = load_image(style_png, channels=3)
    generator = torch.Generator().manual_seed(0)
    bank = patches.PatchBank(style, [(0, style.shape[-1], style.shape[-2])], [1.0], 5, 16, generator)
    flat = bank.project(torch.full((300, 75), 0.5))
    monkeypatch.setattr(patches, "USAGE_BLOCK", 4)  # a block's queries do not see each other's choices
    assert bank.search(flat).unique().numel() == 1
    spread = bank.search(flat, 1.0, torch.Generator().manual_seed(1))
    again = bank.search(flat, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(spread, again)
    assert spread.unique().numel() >= 50  # of 75 blocks of 4 identical queries


def test_motif_cost_paints_flat_queries_with_busy_patches() -> None:
    """A painting half bare ground, half stripes: a flat query's nearest patch is the bare ground; with the
    motif cost it takes a striped one, the same one whatever else is searched with it."""
    from genart_style import patch_search as patches

    style = torch.full((3, 24, 48), 0.5)
    x = torch.arange(24).float()
    style[:, :, 24:] = (0.2 + 0.6 * (x // 2 % 2)).view(1, 1, 24)
    bank = patches.PatchBank(style, [(0, 48, 24)], [1.0], 5, 16, torch.Generator().manual_seed(0))
    assert bank.plainness.min() == 0 and bank.plainness.max() == 1
    flat = bank.project(torch.full((10, 75), 0.5))
    assert bool((bank.plainness[bank.search(flat)] == 1).all())
    cost = torch.full((10,), 10 * bank.spread)
    busy = bank.search(flat, plain_cost=cost)
    assert bool((bank.plainness[busy] == 0).all())
    assert torch.equal(bank.search(flat[:3], plain_cost=cost[:3]), busy[:3])


def test_style_mask_keeps_lettering_out(context, style_png: Path, tmp_path: Path) -> None:
    """A block of pure red "lettering" in the style: copied without a mask, never copied under one."""
    style = load_image(style_png, channels=3)
    style[:, 4:20, 6:30] = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)
    lettered = save_image(style, tmp_path / "lettered.png")
    mask = torch.zeros(1, *style.shape[-2:])
    mask[:, 4:20, 6:30] = 1
    mask_png = save_image(mask, tmp_path / "mask.png")
    content = make_tiny_images(1, 3, 40, seed=4)

    def red_share(image: torch.Tensor) -> float:
        return float(((image[:, 0] > 0.8) & (image[:, 1] < 0.2) & (image[:, 2] < 0.2)).float().mean())

    plain = context.build("post", f"style:image={lettered},{FAST},strength=0")(content)
    masked = context.build("post", f"style:image={lettered},mask={mask_png},{FAST},strength=0")(content)
    assert red_share(plain) > 0.02
    assert red_share(masked) == 0


def test_style_mask_errors(context, style_png: Path, tmp_path: Path) -> None:
    full = save_image(torch.ones(1, 48, 56), tmp_path / "full.png")
    with pytest.raises(GenartError, match="mask"):
        context.build("post", f"style:image={style_png},mask={full},{FAST}")(make_tiny_images(1, 3, 40))
    with pytest.raises(UsageError, match="mask"):
        context.build("post", f"style:image={style_png},mask={tmp_path / 'none.png'},{FAST}")
    with pytest.raises(UsageError, match="mask"):
        context.build("post", f"style:image={style_png}+{style_png},mask={full},{FAST}")


def test_stylize_a_folder_mirrors_it_and_resumes(genart_cli, builtin_app, style_png: Path,
                                                 tmp_path: Path) -> None:
    for name in ("a/one.png", "b/two.png"):
        save_image(make_tiny_images(1, 3, (20, 30))[0], tmp_path / "in" / name)
    args = ["stylize", str(tmp_path / "in"), "--style", str(style_png), "--out", str(tmp_path / "out"), "--size", "30",
            "--method", "patch", "--patch-sizes", "7+5", "--iterations", "1", "--device", "cpu", "-q"]
    first = genart_cli(args, app=builtin_app)
    assert first.exit_code == 0, first.output
    assert load_image(tmp_path / "out" / "a" / "one.png").shape == (3, 20, 30)
    assert load_image(tmp_path / "out" / "b" / "two.png").shape == (3, 20, 30)
    again = genart_cli(args, app=builtin_app)
    assert again.exit_code == 0 and "2 already done" in again.output


@pytest.mark.parametrize(("method", "per_pixel"), [("patch", 200), ("gram", 1200)])
def test_a_style_size_the_memory_cannot_hold_is_refused_up_front(context, style_png: Path, method: str,
                                                                 per_pixel: int) -> None:
    """Issue 38 ("style size ... checked before allocating"): the chain's check counted only the style step's
    input and output, 1.5 GiB at 8000 px, not the patch banks and pyramids (measured 264-474 bytes per output
    pixel for patch, 1678-1920 for gram), so size=8000 with max_size raised passed it and was killed."""
    from genart.errors import OutOfMemory
    from genart.loop.memory import check_chain

    spec = f"style:image={style_png},method={method},size=8000,max_size=8000,progress=false"
    chain = [(spec, context.build("post", spec))]
    (step,) = check_chain(chain, (1, 3, 64, 64), available=128 * 2**30)
    assert step.working == per_pixel * 8000 * 8000
    with pytest.raises(OutOfMemory, match="of it the step's own working memory"):
        check_chain(chain, (1, 3, 64, 64), available=4 * 2**30)
    half = f"style:image={style_png},method={method},size=8000,max_size=8000,style_scale=0.5"
    (step,) = check_chain([(half, context.build("post", half))], (1, 3, 64, 64), available=128 * 2**30)
    assert step.working == per_pixel * 8000 * 8000 // 4  # a smaller style image, smaller banks
