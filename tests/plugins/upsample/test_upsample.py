"""The upsample plugin: classical and learned methods, tiling, alpha/grey/size handling, sr-trainer, CLI errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from genart.contract.plugins import App
from genart.testing import build_context, check_dataset, check_model, check_post_processor, make_tiny_images
from genart_upsample.learned import SHIPPED
from genart_upsample.nets import SRNet


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SRNet with random (non-zero) heads, so tiling errors would show."""
    torch.manual_seed(0)
    net = SRNet(8, 2)
    with torch.no_grad():
        for tail in net.tails.values():
            tail.weight.normal_(0, 0.05)
    path = tmp_path_factory.mktemp("w") / "sr.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "nearest", "lanczos"])
def test_contract_classic(builtin_app: App, method: str) -> None:
    check_post_processor(build(builtin_app, f"upsample:scale=2,method={method}"))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_contract_learned_shipped(builtin_app: App, scale: int) -> None:
    processor = build(builtin_app, f"upsample:scale={scale},method=learned")
    check_post_processor(processor)
    assert processor(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_auto_is_learned_for_2_3_4_and_bicubic_otherwise(builtin_app: App) -> None:
    from genart_upsample.classic import ClassicUpsampler
    from genart_upsample.learned import LearnedUpsampler

    assert isinstance(build(builtin_app, "upsample"), LearnedUpsampler)
    assert isinstance(build(builtin_app, "upsample:scale=3"), LearnedUpsampler)
    assert isinstance(build(builtin_app, "upsample:scale=1.5"), ClassicUpsampler)
    assert isinstance(build(builtin_app, "upsample:scale=2,method=lanczos"), ClassicUpsampler)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tiled_equals_untiled(builtin_app: App, random_weights: Path, scale: int) -> None:
    images = make_tiny_images(2, 3, (45, 38), seed=scale)
    whole = build(builtin_app, f"upsample:scale={scale},method=learned,weights={random_weights}")(images)
    tiled = build(builtin_app, f"upsample:scale={scale},method=learned,weights={random_weights},tile=16")(images)
    assert (whole - images.repeat_interleave(scale, 2).repeat_interleave(scale, 3)).abs().max() > 0.01
    assert torch.allclose(whole, tiled, atol=1e-5), (whole - tiled).abs().max()


def test_ensemble_is_tiled_exactly_and_mirror_equivariant(builtin_app: App, random_weights: Path) -> None:
    images = make_tiny_images(1, 3, (45, 38), seed=9)
    spec = f"upsample:scale=3,method=learned,weights={random_weights}"
    whole = build(builtin_app, spec + ",ensemble=8")(images)
    assert torch.allclose(whole, build(builtin_app, spec + ",ensemble=8,tile=16")(images), atol=1e-5)
    for ensemble, equivariant in ((1, False), (2, True)):
        upsample = build(builtin_app, f"{spec},ensemble={ensemble}")
        gap = (upsample(images.flip(-1)).flip(-1) - upsample(images)).abs().max()
        assert (gap < 1e-5) == equivariant, (ensemble, gap)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_learned_beats_bicubic(builtin_app: App, scale: int) -> None:
    """On a sharp synthetic picture the learned upsampler must be closer to the truth than bicubic."""
    torch.manual_seed(0)
    size = 96
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    high = torch.stack([((xx // 7 + yy // 5) % 2).float(), (((xx - yy) // 9) % 2).float() * 0.8 + 0.1,
                        ((xx * xx + yy * yy) // 300 % 2).float() * 0.6 + 0.2])[None]
    low = F.interpolate(high, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp(0, 1)
    learned = build(builtin_app, f"upsample:scale={scale},method=learned")(low)
    bicubic = build(builtin_app, f"upsample:scale={scale},method=bicubic")(low)
    assert F.mse_loss(learned, high) < F.mse_loss(bicubic, high)


def test_alpha_premultiplied_and_transparent_stays_transparent(builtin_app: App) -> None:
    images = make_tiny_images(1, 4, (24, 24), seed=1)
    images[:, 3] = 0
    images[:, 3, 6:18, 6:18] = 1
    images[:, :3, :, :12] = 1  # bright colour hidden under transparent pixels must not bleed
    for spec in ("upsample:scale=2,method=learned", "upsample:scale=3", "upsample:scale=2,method=bicubic"):
        out = build(builtin_app, spec)(images)
        scale = out.shape[-1] // 24
        assert out.shape[1] == 4
        assert out[:, 3, :3 * scale].abs().max() == 0, spec  # far from the opaque square: still transparent
        assert out[:, 3, 8 * scale:16 * scale, 8 * scale:16 * scale].min() > 0.99, spec


def test_grey_and_16bit_depth(builtin_app: App) -> None:
    grey = make_tiny_images(2, 1, (13, 9), seed=2)
    out = build(builtin_app, "upsample:scale=2")(grey)
    assert out.shape == (2, 1, 26, 18)
    fine = torch.linspace(0, 1, 65536)[:64 * 64].view(1, 1, 64, 64)  # 16-bit steps survive (no 8-bit rounding)
    out = build(builtin_app, "upsample:scale=2,method=learned")(fine)
    assert not torch.allclose(out, out.mul(255).round().div(255))


@pytest.mark.parametrize("size", [(1, 1), (1, 5), (2, 3), (17, 31)])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_any_size_and_channel_means_kept(builtin_app: App, size: tuple[int, int], scale: int) -> None:
    images = make_tiny_images(2, 3, size, seed=size[0] * size[1])
    out = build(builtin_app, f"upsample:scale={scale},method=learned")(images)
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert out.min() >= 0 and out.max() <= 1
    down = F.avg_pool2d(out, scale)
    assert (down.mean((2, 3)) - images.mean((2, 3))).abs().max() <= 1 / 255


def test_sr_trainer_contract(builtin_app: App) -> None:
    torch.manual_seed(0)
    model = build_context(builtin_app).build("model", "sr-trainer:patch=24,width=8,depth=1,steps=10")
    check_model(model, steps=3, batch_size=2)


def test_sr_trainer_learns(builtin_app: App) -> None:
    """A few steps on one batch must lower the loss (the trainer wiring works, gradients flow)."""
    torch.manual_seed(0)
    model = build_context(builtin_app).build("model", "sr-trainer:patch=24,width=16,depth=1,scales=2,lr=0.003")
    batch = make_tiny_images(8, 3, 24, seed=0)
    first = model.train_step(batch)["l1"]
    for _ in range(30):
        last = model.train_step(batch)["l1"]
    assert last < first


def test_shipped_weights_carry_provenance() -> None:
    assert SHIPPED.is_file(), "shipped SR weights are missing"
    with safe_open(str(SHIPPED), "pt") as handle:
        meta = handle.metadata()
        sizes = zip(meta["scales"].split("+"), meta["params_per_scale"].split("+"), strict=True)
        params = {int(s): int(n) for s, n in sizes}
    for key in ("genart.command", "genart.seed", "genart.steps", "genart.data"):
        assert meta.get(key), key
    assert "T91" in meta["genart.data"] and "Set14" not in meta["genart.data"]
    assert set(params) == {2, 3, 4} and max(params.values()) <= 110_000
    weights = [*SHIPPED.parent.glob("*.safetensors"), *Path(SHIPPED.parents[2], "genart_restore",
                                                            "weights").glob("*.safetensors")]
    assert sum(p.stat().st_size for p in weights) < 2 * 1024 * 1024


def test_export_weights_round_trip(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    from genart.images import save_image

    for index in range(2):
        save_image(make_tiny_images(1, 3, (40, 50), seed=index)[0], folder / f"{index}.png")
    check_dataset(build_context(builtin_app).build("dataset", f"patches:path={folder},count=5"), size=24)
    result = genart_cli(["train", "--model", "sr-trainer:patch=24,width=8,depth=1", "--data",
                         f"patches:path={folder},count=8", "--steps", "2", "--batch-size", "2", "--out",
                         str(tmp_path / "runs"), "-q"], app=builtin_app)
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    out = tmp_path / "mine.safetensors"
    result = genart_cli(["export-weights", str(run), str(out)], app=builtin_app)
    assert result.exit_code == 0, result.output
    with safe_open(str(out), "pt") as handle:
        assert handle.metadata()["genart.steps"] == "2"
    processor = build(builtin_app, f"upsample:scale=3,weights={out}")
    assert processor(torch.rand(1, 3, 8, 8)).shape == (1, 3, 24, 24)


def test_cli_errors_are_one_line(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    from genart.images import save_image

    image = tmp_path / "a.png"
    save_image(torch.rand(3, 8, 8), image)
    for spec, words in [("upsample:scale=1.5,method=learned", "no learned model for scale 1.5"),
                        (f"upsample:scale=2,weights={tmp_path / 'missing.safetensors'}", "weights not found"),
                        ("upsample:scale=2,ensemble=6", "ensemble must be 1, 2, 4 or 8")]:
        result = genart_cli(["post", str(image), "--post", spec, "--out", str(tmp_path / "out")], app=builtin_app)
        assert result.exit_code == 2, result.output
        assert words in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_trainer_trains_identically_under_loss_scaling(builtin_app) -> None:
    from genart.testing import check_loss_scaling

    check_loss_scaling(builtin_app, "sr-trainer:patch=24,width=8,depth=1")
