"""The restore plugin: classic chain, learned tasks, tiling, alpha/grey/16-bit/sizes, trainers, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from genart.contract.plugins import App
from genart.errors import UsageError
from genart.images import save_image
from genart.testing import build_context, check_model, check_post_processor, make_tiny_images
from genart_restore import degrade
from genart_restore.learned import shipped_path
from genart_restore.nets import RestoreNet

TASKS = ("denoise", "jpeg", "deblur", "inpaint")


def build(app: App, spec: str) -> Any:
    return build_context(app).build("post", spec)


@pytest.fixture(scope="module")
def mask_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mask = torch.zeros(1, 40, 40)
    mask[:, 10:22, 5:30] = 1
    return save_image(mask, tmp_path_factory.mktemp("m") / "mask.png")


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Restore nets with random, non-zero output layers, so tiling mistakes would show."""
    folder = tmp_path_factory.mktemp("w")
    paths = {}
    for task, cond in {"denoise": 1, "jpeg": 0, "deblur": 0, "inpaint": 1}.items():
        torch.manual_seed(len(task))
        net = RestoreNet(cond, 8, 2)
        with torch.no_grad():
            net.tail2.weight.normal_(0, 0.05)
        paths[task] = folder / f"{task}.safetensors"
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(paths[task]), metadata={"task": task})
    return paths


def spec_for(task: str, mask: Path, extra: str = "") -> str:
    return f"restore:task={task}" + (f",mask={mask}" if task == "inpaint" else "") + extra


def test_contract_classic(builtin_app: App) -> None:
    check_post_processor(build(builtin_app, "restore"))
    check_post_processor(build(builtin_app, "restore:contrast=2,strength=0.5"))


@pytest.mark.parametrize("task", TASKS)
def test_contract_learned_shipped(builtin_app: App, task: str, mask_file: Path) -> None:
    check_post_processor(build(builtin_app, spec_for(task, mask_file)))


def test_contract_denoise_with_sigma(builtin_app: App) -> None:
    check_post_processor(build(builtin_app, "restore:task=denoise,sigma=25"))


@pytest.mark.parametrize("task", TASKS)
def test_tiled_equals_untiled(builtin_app: App, task: str, random_weights: dict[str, Path], mask_file: Path) -> None:
    images = make_tiny_images(2, 3, (90, 71), seed=7)
    weights = f",weights={random_weights[task]}"
    whole = build(builtin_app, spec_for(task, mask_file, weights))(images)
    tiled = build(builtin_app, spec_for(task, mask_file, weights + ",tile=16"))(images)
    assert (whole - images).abs().max() > 0.01  # the random net really changes the picture
    assert torch.allclose(whole, tiled, atol=1e-5), (whole - tiled).abs().max()


def test_tiled_receptive_field_bound() -> None:
    """The overlap the tiler uses (net.radius) really covers the receptive field: an impulse's influence
    stays inside it."""
    torch.manual_seed(0)
    net = RestoreNet(0, 4, 3).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.3)
        base = torch.zeros(1, 3, 160, 160)
        impulse = base.clone()
        impulse[:, :, 80, 80] = 1
        diff = (net(impulse) - net(base)).abs().sum(1)[0]
    ys, xs = torch.nonzero(diff > 0, as_tuple=True)
    reach = max((ys - 80).abs().max(), (xs - 80).abs().max())
    assert 0 < reach <= net.radius


@pytest.mark.parametrize("task", ("denoise", "jpeg", "deblur"))
def test_colour_means_kept_and_alpha(builtin_app: App, task: str) -> None:
    images = make_tiny_images(2, 4, (37, 29), seed=3)
    images[:, 3] = 0
    images[:, 3, 8:30, 6:22] = 1
    out = build(builtin_app, f"restore:task={task}")(images)
    assert out.shape == images.shape
    assert torch.equal(out[:, 3], images[:, 3])  # alpha untouched
    assert out[:, :3][images[:, 3:].expand(-1, 3, -1, -1) == 0].abs().max() == 0  # transparent stays clear
    opaque = make_tiny_images(2, 3, (37, 29), seed=4)
    out = build(builtin_app, f"restore:task={task}")(opaque)
    assert (out.mean((2, 3)) - opaque.mean((2, 3))).abs().max() <= 1 / 255


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("size", [(1, 1), (1, 6), (3, 2), (5, 9)])
def test_tiny_odd_sizes_and_grey(builtin_app: App, task: str, size: tuple[int, int], mask_file: Path) -> None:
    grey = make_tiny_images(1, 1, size, seed=1)
    out = build(builtin_app, spec_for(task, mask_file))(grey)
    assert out.shape == grey.shape and out.min() >= 0 and out.max() <= 1


def smooth_pictures(n: int, size: int, seed: int) -> torch.Tensor:
    """Photo-like content: smooth shading plus hard-edged shapes (tiny_images is too busy to denoise)."""
    generator = torch.Generator().manual_seed(seed)
    images = F.interpolate(torch.rand(n, 3, 4, 4, generator=generator), size=(size, size), mode="bicubic")
    images[:, :, size // 4: size // 2, size // 5: size // 2 + 7] = torch.rand(n, 3, 1, 1, generator=generator)
    images[:, :, size // 2 + 5:, size // 3: size // 3 + 9] = torch.rand(n, 3, 1, 1, generator=generator)
    return images.clamp(0.02, 0.98)


def test_denoise_removes_noise_blind_and_given(builtin_app: App) -> None:
    clean = smooth_pictures(2, 64, seed=5)
    torch.manual_seed(0)
    noisy = (clean + torch.randn_like(clean) * 25 / 255).clamp(0, 1)
    before = F.mse_loss(noisy, clean)
    for spec in ("restore:task=denoise", "restore:task=denoise,sigma=25"):
        after = F.mse_loss(build(builtin_app, spec)(noisy), clean)
        assert after < before / 3, spec  # at least 4.8 dB better


def test_blind_sigma_estimate() -> None:
    clean = make_tiny_images(2, 3, (128, 128), seed=6)
    torch.manual_seed(0)
    for sigma in (10, 25, 50):
        estimate = degrade.estimate_sigma(clean + torch.randn_like(clean) * sigma / 255) * 255
        assert ((estimate - sigma).abs() < 0.1 * sigma + 3).all(), (sigma, estimate)  # edges read as a little noise
    assert (degrade.estimate_sigma(clean) * 255 < 6).all()  # hard edges, no noise: a small reading


def test_inpaint_changes_only_the_hole(builtin_app: App, mask_file: Path) -> None:
    images = smooth_pictures(1, 40, seed=8)
    holed = images.clone()
    holed[:, :, 10:22, 5:30] = 0
    out = build(builtin_app, f"restore:task=inpaint,mask={mask_file}")(holed)
    keep = torch.ones(1, 3, 40, 40, dtype=torch.bool)
    keep[:, :, 10:22, 5:30] = False
    assert torch.allclose(out[keep], holed[keep], atol=1e-6)
    # the hole hides part of a hard-edged shape, so no fill can be exact; it must beat black by far
    assert F.mse_loss(out[~keep], images[~keep]) < F.mse_loss(holed[~keep], images[~keep]) / 2


def test_degradations_and_push_pull() -> None:
    torch.manual_seed(0)
    x = make_tiny_images(3, 3, (32, 32), seed=9)
    assert degrade.jpeg(x, torch.tensor([10, 50, 90])).shape == x.shape
    blurred = degrade.blur(x, torch.tensor([0.5, 1.5, 2.5]))
    assert (blurred - x).abs().mean((1, 2, 3)).diff().gt(0).all()  # more sigma, more blur
    masks = degrade.random_masks(4, 32, 32)
    assert 0 < masks.mean() < 0.6
    known = 1 - masks[:3]
    filled = degrade.push_pull_fill(x, known)
    assert torch.allclose(filled * known, x * known) and torch.isfinite(filled).all()
    masked, where = degrade.blind_spot(x)
    assert where.sum() > 0 and not torch.equal(masked, x)
    assert torch.equal(masked * (1 - where), x * (1 - where))


@pytest.mark.parametrize("options", ["task=denoise", "task=jpeg", "task=deblur", "task=inpaint",
                                     "task=denoise,objective=n2v,sigma_min=10,sigma_max=30"])
def test_trainer_contract(builtin_app: App, options: str) -> None:
    torch.manual_seed(0)
    model = build_context(builtin_app).build("model", f"restorer-trainer:{options},patch=16,width=4,depth=1")
    check_model(model, steps=2, batch_size=2)


def test_n2v_fine_tune_from_shipped_lowers_loss(builtin_app: App) -> None:
    """Noise2Void fine-tuning starts from the shipped denoiser and learns from noisy images alone."""
    torch.manual_seed(0)
    model = build_context(builtin_app).build(
        "model", "restorer-trainer:task=denoise,objective=n2v,init=shipped,patch=32,lr=0.0005")
    assert model.net.width >= 16  # really the shipped network
    noisy = (make_tiny_images(8, 3, 32, seed=2) + torch.randn(8, 3, 32, 32) * 0.1).clamp(0, 1)
    losses = [model.train_step(noisy)["loss"] for _ in range(12)]
    assert min(losses[-4:]) < max(losses[:4])


def test_shipped_weights_carry_provenance() -> None:
    for task in TASKS:
        path = shipped_path(task)
        assert path.is_file(), f"shipped weights for {task} missing"
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata()
        assert meta["task"] == task
        for key in ("genart.command", "genart.seed", "genart.steps", "genart.data"):
            assert meta.get(key), (task, key)
        assert "T91" in meta["genart.data"] and "Kodak" not in meta["genart.data"]
        assert json.loads(meta["genart.model_params"])["task"] == task


def test_cli_errors_are_one_line(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    image = save_image(torch.rand(3, 8, 8), tmp_path / "a.png")
    cases = [("restore:task=inpaint,mask=nowhere.png", "mask file not found"),
             ("restore:task=inpaint", "needs mask=PATH"),
             ("restore:task=jpeg,sigma=10", "only used with task=denoise"),
             ("restore:task=denoise,weights=nowhere.safetensors", "weights not found"),
             ("restore:task=denoise,ensemble=3", "ensemble must be 1, 2, 4 or 8, got 3"),
             ("restore:task=sharpen", "task")]
    for spec, words in cases:
        result = genart_cli(["post", str(image), "--post", spec, "--out", str(tmp_path / "o")], app=builtin_app)
        assert result.exit_code == 2, (spec, result.output)
        assert words in result.output and "Traceback" not in result.output, (spec, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_cli_sixteen_bit_grey_and_alpha_files(builtin_app: App, genart_cli: Any, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    ramp = (np.linspace(0, 65535, 48 * 40).reshape(40, 48)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    picture = make_tiny_images(1, 4, (21, 17), seed=3)[0]
    picture[3] = 1
    picture[3, :, :8] = 0  # a transparent band
    rgba = (picture * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    result = genart_cli(["post", str(tmp_path / "deep.png"), str(tmp_path / "clear.png"), "--post",
                         "restore:task=denoise", "--post", "upsample:scale=2", "--out", str(tmp_path / "out"), "-q"],
                        app=builtin_app)
    assert result.exit_code == 0, result.output
    deep, clear = Image.open(tmp_path / "out" / "deep.png"), Image.open(tmp_path / "out" / "clear.png")
    assert deep.mode.startswith("I;16") and deep.size == (96, 80)  # post keeps 16-bit depth (issue 24)
    assert clear.mode == "RGBA" and clear.size == (34, 42)
    transparent = torch.from_numpy(rgba[:, :, 3] == 0).float()[None, None]
    deep_clear = -F.max_pool2d(-transparent, 5, stride=1, padding=2)  # transparent with all 5x5 neighbours
    deep_clear = deep_clear.repeat_interleave(2, 2).repeat_interleave(2, 3)[0, 0].numpy() > 0
    assert deep_clear.any()
    assert (np.asarray(clear)[:, :, 3][deep_clear] == 0).all()


def test_trainer_trains_identically_under_loss_scaling(builtin_app) -> None:
    from genart.testing import check_loss_scaling

    check_loss_scaling(builtin_app, "restorer-trainer:task=denoise,patch=16,width=4,depth=1")


def test_ensemble_makes_the_restorer_mirror_equivariant(builtin_app: App, random_weights: dict[str, Path]) -> None:
    """With ensemble=8 (the default) restoring a mirrored picture gives the mirrored result; one pass does not."""
    images = make_tiny_images(1, 3, (48, 64), seed=2)
    weights = f",weights={random_weights['denoise']}"
    for ensemble, equivariant in ((1, False), (8, True)):
        restore = build(builtin_app, f"restore:task=denoise,ensemble={ensemble}{weights}")
        gap = (restore(images.flip(-1)).flip(-1) - restore(images)).abs().max()
        assert (gap < 1e-5) == equivariant, (ensemble, gap)


def test_grow_keeps_the_function_and_adds_layers(builtin_app: App, random_weights: dict[str, Path]) -> None:
    from genart_restore.learned import load_restore_net

    source = load_restore_net("denoise", random_weights["denoise"])
    trainer = build_context(builtin_app).build(
        "model", f"restorer-trainer:task=denoise,init={random_weights['denoise']},grow=2")
    assert len(trainer.net.mid) == len(source.mid) + 2
    images, sigma = make_tiny_images(2, 3, (32, 24), seed=4), torch.full((2, 1, 32, 24), 0.1)
    with torch.no_grad():
        assert torch.allclose(trainer.net.eval()(images, sigma), source(images, sigma), atol=1e-6)
    with pytest.raises(UsageError, match="needs init"):
        build_context(builtin_app).build("model", "restorer-trainer:task=denoise,grow=2")
