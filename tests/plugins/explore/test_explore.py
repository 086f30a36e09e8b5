"""genart eval / walk / reconstruct on tiny runs, through the CLI, plus the walk maths."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

import genart
from genart.contract.plugins import App
from genart.images import load_image, save_image
from genart.runner.jobs import train_job
from genart.runner.pipeline import load_data
from genart.runner.settings import RunSettings
from genart.testing import build_context, make_tiny_images
from genart_explore.walk import frame_changes, loop_latents, slerp, split_frames

TINY_VAE = "vae:image_size=16,width=4,latent=3"
DATA = "shapes:count=24,split=train,holdout=8"
HELD_OUT = "shapes:count=24,split=test,holdout=8"


def make_run(app: App, out: Path, model: str = TINY_VAE, data: str = DATA) -> Path:
    settings = RunSettings(model=model, data=data, steps=3, batch_size=4, num_samples=2, out=str(out),
                           device="cpu", precision="fp32", progress=False)
    return train_job(app, settings)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(App.from_entry_points(), tmp_path_factory.mktemp("runs"))


@dataclass
class PlainParams:
    """No parameters worth the name."""

    image_size: int = genart.param(8, "side")


class PlainModel:
    """A generator with no latent interface and no likelihood (as a GAN reports none)."""

    default_steps = 2
    default_batch_size = 2

    def __init__(self, params: PlainParams, context: Any) -> None:
        self.image_shape = (3, params.image_size, params.image_size)
        self.bias = torch.zeros(self.image_shape)

    def train_step(self, batch: Any) -> dict[str, float]:
        return {"zero": 0.0}

    def sample(self, n: int, generator: Any) -> Any:
        return torch.rand(n, *self.image_shape, generator=generator)

    def state_dict(self) -> dict[str, Any]:
        return {"bias": self.bias}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.bias = state["bias"]


class ScoredModel(PlainModel):
    """A third-party model with the optional evaluate method (here: the mean grey level)."""

    def evaluate(self, images: Any, k: int, generator: Any) -> dict[str, float]:
        return {"mean_level": float(images.mean())}


class PlainPlugin:
    @genart.hookimpl
    def register_models(self, register: Any) -> None:
        register("plain", PlainModel, params=PlainParams, description="no latents, no likelihood")
        register("scored", ScoredModel, params=PlainParams, description="reports a figure through evaluate")


@pytest.fixture
def plain_run(builtin_app: App, register_plugin: Any, tmp_path: Path) -> Path:
    register_plugin(PlainPlugin(), "plain", app=builtin_app)
    return make_run(builtin_app, tmp_path / "plain", model="plain", data="shapes:count=4")


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Any, message: str) -> None:
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith(("genart: error", "Error"))]) == 1


# -- eval ---------------------------------------------------------------------------------------------
def test_eval_prints_a_table_and_records_metrics(genart_cli: Any, builtin_app: App, vae_run: Path) -> None:
    result = ok(genart_cli(["eval", str(vae_run), "--data", HELD_OUT, "--k", "16", "--batch-size", "3", "-q"],
                           app=builtin_app))
    assert "IS NLL, k=16" in result.output and "bits/dim" in result.output and "warning" not in result.output
    record = json.loads((vae_run / "manifest.json").read_text())["metrics"]["eval"][HELD_OUT]
    assert record["images"] == 8 and record["k"] == 16
    assert math.isfinite(record["nll_is_nats"]) and record["nll_is_nats"] <= record["nelbo_nats"]
    assert math.isclose(record["bits_per_dim"], record["nll_is_nats"] / (3 * 16 * 16 * math.log(2)), rel_tol=1e-4)
    assert not list(vae_run.glob(".manifest.json.*")), "the manifest must be written atomically"


def test_eval_averages_batches_by_size(genart_cli: Any, builtin_app: App, register_plugin: Any,
                                       tmp_path: Path) -> None:
    register_plugin(PlainPlugin(), "plain", app=builtin_app)
    run = make_run(builtin_app, tmp_path, model="scored", data="shapes:count=4")
    data = "shapes:count=11,seed=3"
    figures = []
    for batch in ("11", "3", "4"):
        ok(genart_cli(["eval", str(run), "--data", data, "--batch-size", batch, "-q"], app=builtin_app))
        figures.append(json.loads((run / "manifest.json").read_text())["metrics"]["eval"][data]["mean_level"])
    expected = float(load_data(build_context(builtin_app), data, 8, 3).float().mean() / 255)
    assert all(math.isclose(f, expected, rel_tol=1e-5) for f in figures), (figures, expected)


def test_eval_warns_when_the_images_were_trained_on(genart_cli: Any, builtin_app: App, vae_run: Path) -> None:
    result = ok(genart_cli(["eval", str(vae_run), "--data", "shapes:count=24", "--k", "2", "-q"], app=builtin_app))
    assert "not a held-out split" in result.output
    result = ok(genart_cli(["eval", str(vae_run), "--data", "shapes:count=24,split=test,holdout=12", "--k", "2",
                            "-q"], app=builtin_app))
    assert "includes these images" in result.output


def test_eval_of_a_model_without_likelihood_says_so(genart_cli: Any, builtin_app: App, plain_run: Path) -> None:
    result = ok(genart_cli(["eval", str(plain_run), "--data", HELD_OUT], app=builtin_app))
    assert "reports no likelihood" in result.output
    assert "eval" not in json.loads((plain_run / "manifest.json").read_text())["metrics"]


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "shapez"], "did you mean 'shapes'"),
    (["--data", "shapes:count=4,split=test,holdout=9"], "holdout=9"),
    (["--data", "shapes", "--k", "0"], "--k"),
])
def test_eval_bad_input(genart_cli: Any, builtin_app: App, vae_run: Path, args: list[str], message: str) -> None:
    one_line_error(genart_cli(["eval", str(vae_run), *args, "-q"], app=builtin_app), message)


def test_eval_needs_a_run_folder(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    one_line_error(genart_cli(["eval", str(tmp_path), "--data", "shapes"], app=builtin_app), "not a genart run folder")


# -- walk ---------------------------------------------------------------------------------------------
def test_walk_writes_a_looping_animation_and_a_grid(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    # N(0, I) anchors: after 3 steps every posterior mean is nearly the same, so a walk through the
    # fitted prior has identical frames, which the GIF writer merges into one
    vae_run = make_run(builtin_app, tmp_path / "runs", model=TINY_VAE + ",prior=normal")
    out = tmp_path / "walk.gif"
    result = ok(genart_cli(["walk", str(vae_run), "--points", "3", "--frames", "9", "--size", "24", "--columns", "4",
                            "--out", str(out)], app=builtin_app))
    assert "max/median" in result.output
    with Image.open(out) as gif:
        assert gif.n_frames == 9 and gif.size == (24, 24) and gif.info.get("loop") == 0
    grid = load_image(tmp_path / "walk-grid.png")
    assert grid.shape[1:] == (3 * 26 + 2, 4 * 26 + 2), "one row per leg, --columns images per row"
    one_line_error(genart_cli(["walk", str(vae_run), "--out", str(out)], app=builtin_app), "already exists")
    ok(genart_cli(["walk", str(vae_run), "--out", str(out), "--frames", "8", "--overwrite"], app=builtin_app))


def test_walk_applies_the_post_chain_to_each_frame(genart_cli: Any, builtin_app: App, vae_run: Path,
                                                    tmp_path: Path) -> None:
    if "upsample" not in builtin_app.registry.names("post"):
        pytest.skip("upsample plugin not installed")
    out = tmp_path / "walk.webp"
    ok(genart_cli(["walk", str(vae_run), "--frames", "4", "--size", "0", "--post", "upsample:scale=2",
                   "--out", str(out)], app=builtin_app))
    with Image.open(out) as animation:
        assert animation.size == (32, 32) and animation.n_frames == 4


def test_walk_default_output_goes_into_the_run(genart_cli: Any, builtin_app: App, tmp_path: Path) -> None:
    run = make_run(builtin_app, tmp_path)
    ok(genart_cli(["walk", str(run), "--frames", "6", "--seed", "2"], app=builtin_app))
    assert (run / "walk-seed2.gif").is_file() and (run / "walk-seed2-grid.png").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "x.png"], "must end in .gif or .webp"),
    (["--points", "5", "--frames", "3"], "at least --points"),
    (["--post", "restor"], "did you mean 'restore'"),
])
def test_walk_bad_input(genart_cli: Any, builtin_app: App, vae_run: Path, tmp_path: Path, args: list[str],
                        message: str) -> None:
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "w.gif")]
    one_line_error(genart_cli(["walk", str(vae_run), *args], app=builtin_app), message)


def test_walk_needs_a_latent_space(genart_cli: Any, builtin_app: App, plain_run: Path, tmp_path: Path) -> None:
    one_line_error(genart_cli(["walk", str(plain_run), "--out", str(tmp_path / "w.gif")], app=builtin_app),
                   "no latent space")


def test_slerp_keeps_gaussian_norms_and_hits_the_ends() -> None:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 512, generator=generator, dtype=torch.float64)
    path = slerp(a, b, torch.linspace(0, 1, 11, dtype=torch.float64))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)
    norms = path.norm(dim=1)
    assert norms.min() > 0.95 * min(a.norm(), b.norm()), "slerp must not pass through short vectors"
    assert ((a + b) / 2).norm() < 0.8 * min(a.norm(), b.norm()), "(the straight line would)"


def test_walk_frames_move_at_one_speed() -> None:
    assert split_frames([1.0, 1.0, 2.0], 8) == [2, 2, 4]
    assert sum(split_frames([0.3, 1.7, 1.1, 0.9], 37)) == 37
    points = torch.randn(4, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    latents = loop_latents(points, 40, spherical=True)
    assert latents.shape == (40, 64)
    steps = (torch.roll(latents, -1, 0) - latents).norm(dim=1)
    assert float(steps.max() / steps.median()) < 1.3, "legs must not change speed abruptly"
    frames = torch.stack([torch.full((1, 2, 2), float(i)) for i in (0, 1, 2, 1)])
    assert frame_changes(frames).tolist() == [1.0, 1.0, 1.0, 1.0]


# -- reconstruct --------------------------------------------------------------------------------------
def test_reconstruct_writes_images_and_a_comparison(genart_cli: Any, builtin_app: App, vae_run: Path,
                                                   tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for index, image in enumerate(make_tiny_images(3, 3, (20, 30), seed=4)):
        save_image(image, inputs / f"img{index}.png")
    (inputs / "notes.txt").write_text("not an image")
    (inputs / "broken.png").write_bytes(b"not really a png")
    out = tmp_path / "out"
    result = ok(genart_cli(["reconstruct", str(vae_run), str(inputs), "--out", str(out)], app=builtin_app))
    assert "PSNR" in result.output and "skipped" in result.output
    for index in range(3):
        assert load_image(out / f"img{index}.png").shape == (3, 16, 16)
    assert load_image(out / "reconstruct-grid.png").shape == (3, 16 + 4, 6 * 18 + 2)
    one_line_error(genart_cli(["reconstruct", str(vae_run), str(inputs), "--out", str(out)], app=builtin_app),
                   "already exists")


def test_reconstruct_bad_input(genart_cli: Any, builtin_app: App, vae_run: Path, plain_run: Path,
                               tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(genart_cli(["reconstruct", str(vae_run), str(empty), "--out", str(tmp_path / "o")],
                              app=builtin_app), "no image files")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    one_line_error(genart_cli(["reconstruct", str(vae_run), str(bad), "--out", str(tmp_path / "o")],
                              app=builtin_app), "none of the images could be read")
    image = tmp_path / "ok.png"
    save_image(make_tiny_images(1, 3, 8)[0], image)
    one_line_error(genart_cli(["reconstruct", str(plain_run), str(image), "--out", str(tmp_path / "o")],
                              app=builtin_app), "cannot encode")
