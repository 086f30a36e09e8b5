"""The diffusion model through the runner: run, sample with --model-args, walk, and the post-processors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from genart.contract.plugins import App
from genart.images import load_image, save_image
from genart.runner.jobs import train_job
from genart.runner.loading import with_options
from genart.runner.settings import RunSettings
from genart.testing import build_context, check_post_processor, make_tiny_images

SPEC = "diffusion:image_size=28,channels=1,width=8,steps=3"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    settings = RunSettings(model=SPEC, data="shapes:count=32", steps=20, batch_size=8, num_samples=4,
                           out=str(tmp_path_factory.mktemp("runs")), device="cpu", precision="fp32", progress=False)
    return train_job(App.from_entry_points(), settings)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def test_with_options_replaces_and_keeps_quotes() -> None:
    assert with_options("diffusion:steps=20,width=8", "steps=4") == 'diffusion:steps="4",width="8"'
    assert with_options("vae", "") == "vae"
    assert with_options('vae:loss="bernoulli:binarize=true"', "beta=1") == \
        'vae:loss="bernoulli:binarize=true",beta="1"'


def test_sample_with_model_args_changes_the_steps_and_keeps_seeds(genart_cli: Any, builtin_app: App,
                                                                  run: Path, tmp_path: Path) -> None:
    folders = {}
    for name, args in (("a", ["--model-args", "steps=2"]), ("b", ["--model-args", "steps=2"]), ("c", [])):
        folders[name] = tmp_path / name
        ok(genart_cli(["sample", str(run), "-n", "3", "--device", "cpu", "--precision", "fp32",
                       "--out", str(folders[name]), *args], app=builtin_app))
    a, b, c = (load_image(folders[n] / "samples" / "0000.png") for n in "abc")
    assert torch.equal(a, b) and not torch.equal(a, c)
    bad = genart_cli(["sample", str(run), "--model-args", "stepz=2", "--out", str(tmp_path / "d")], app=builtin_app)
    assert bad.exit_code != 0 and "did you mean 'steps'" in bad.output and "Traceback" not in bad.output


def test_walk_through_the_deterministic_sampler(genart_cli: Any, builtin_app: App, run: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "walk.gif"
    result = ok(genart_cli(["walk", str(run), "--points", "2", "--frames", "6", "--columns", "3", "--size", "0",
                            "--out", str(out), "--device", "cpu"], app=builtin_app))
    assert out.exists() and (tmp_path / "walk-grid.png").exists() and "frame-to-frame" in result.output


def test_vary_strength_zero_keeps_the_image_and_more_strength_moves_further(builtin_app: App, run: Path) -> None:
    context = build_context(builtin_app)
    images = make_tiny_images(4, 1, 28, seed=2)
    distances = []
    for strength in (0.0, 0.3, 0.95):
        vary = context.build("post", f"diffuse-vary:run={run},strength={strength}")
        out = vary(images)
        assert out.shape == images.shape
        distances.append(float((out - images).abs().mean()))
    assert distances[0] == 0.0 and distances[0] < distances[1] < distances[2]


@pytest.mark.parametrize("name", ["diffuse-vary", "diffuse-inpaint:resample=2"])
def test_post_processor_contract(builtin_app: App, run: Path, name: str) -> None:
    processor = build_context(builtin_app).build("post", f"{name},run={run}" if ":" in name else f"{name}:run={run}")
    check_post_processor(processor, sizes=((7, 13), (33, 20)))  # smaller and larger than the model's 28 px


def test_inpaint_changes_only_the_masked_region(builtin_app: App, run: Path, tmp_path: Path) -> None:
    mask = torch.zeros(1, 20, 20)
    mask[:, 5:12, 3:15] = 1
    save_image(mask, tmp_path / "mask.png")
    images = make_tiny_images(2, 3, (40, 40), seed=4)
    inpaint = build_context(builtin_app).build("post", f"diffuse-inpaint:run={run},mask={tmp_path / 'mask.png'}")
    out = inpaint(images)
    big = torch.nn.functional.interpolate(mask[None], size=(40, 40), mode="bicubic") > 0.5
    assert torch.equal(out[:, :, ~big[0, 0]], images[:, :, ~big[0, 0]])
    assert (out - images).abs()[:, :, big[0, 0]].mean() > 0.01


def test_post_processors_need_a_diffusion_run(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    settings = RunSettings(model="vae:image_size=16,width=4,latent=3", data="shapes:count=8", steps=1, batch_size=4,
                           num_samples=1, out=str(tmp_path), device="cpu", precision="fp32", progress=False)
    vae = train_job(builtin_app, settings)
    image = tmp_path / "in.png"
    save_image(make_tiny_images(1, 3, 16)[0], image)
    result = genart_cli(["post", str(image), "--post", f"diffuse-vary:run={vae}", "--out", str(tmp_path / "o")],
                        app=builtin_app)
    assert result.exit_code != 0 and "need a diffusion run" in result.output and "Traceback" not in result.output
    result = genart_cli(["post", str(image), "--post", "diffuse-vary", "--out", str(tmp_path / "o")], app=builtin_app)
    assert result.exit_code != 0 and "needs run=DIR" in result.output
