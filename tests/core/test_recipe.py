"""Recipes in PNGs: what they record, ``genart recipe``, and ``genart reproduce`` bit for bit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from genart.contract.plugins import App
from genart.images import save_image
from genart.records.recipe import read_recipe, sha256_file


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def make_run(genart_cli: Any, app: App, out: Path) -> Path:
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--post", "invert:amount=0.7", "-n", "5",
                         "--seed", "3", "--out", str(out), "-q"], app=app)
    assert result.exit_code == 0, result.output
    return only_run(out)


def reproduce(genart_cli: Any, app: App, image: Path, out: Path, *extra: str) -> Any:
    return genart_cli(["reproduce", str(image), "--out", str(out), *extra], app=app)


def test_sample_recipe_records_how_it_was_made(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    recipe = read_recipe(run / "samples" / "0002.png")
    assert recipe["kind"] == "sample" and recipe["index"] == 2 and recipe["seed"] == 3
    assert recipe["model"]["spec"] == "toy" and recipe["post"] == ["invert:amount=0.7"]
    assert recipe["post_params"]["invert:amount=0.7"] == {"amount": 0.7}
    assert recipe["checkpoint"]["sha256"] == sha256_file(run / "checkpoint.safetensors")
    assert recipe["versions"]["torch"] == torch.__version__ and "toy" in recipe["versions"]["plugins"]
    assert recipe["device"] == "cpu" and recipe["precision"] and recipe["command"][0] == "genart"
    assert read_recipe(run / "snapshots" / "step-000000.png")["kind"] == "snapshot"
    printed = genart_cli(["recipe", str(run / "grid.png")], app=toy_app)
    assert printed.exit_code == 0 and "kind: grid" in printed.output and "checkpoint:" in printed.output


def test_reproduce_samples_and_grids_bit_for_bit(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    for image in (run / "samples" / "0004.png", run / "grid.png", run / "grid-raw.png", run / "comparison.png"):
        result = reproduce(genart_cli, toy_app, image, tmp_path / "again")
        assert result.exit_code == 0 and "identical" in result.output, result.output
        assert (tmp_path / "again" / image.name).read_bytes() == image.read_bytes()


def test_reproduce_a_moved_sample_finds_its_checkpoint_by_content(genart_cli: Any, toy_app: App,
                                                                   tmp_path: Path) -> None:
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(run / "samples" / "0001.png", moved / "keep.png")
    shutil.copy(run / "checkpoint.safetensors", moved / "renamed.safetensors")
    shutil.rmtree(run)
    missing = reproduce(genart_cli, toy_app, moved / "keep.png", tmp_path / "a")
    assert missing.exit_code == 2 and "checkpoint" in missing.output and "--inputs" in missing.output
    found = reproduce(genart_cli, toy_app, moved / "keep.png", tmp_path / "b", "--inputs", str(moved))
    assert found.exit_code == 0 and "identical" in found.output, found.output


def test_reproduce_refuses_a_changed_checkpoint(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    result = genart_cli(["train", "--resume", str(run), "--steps", "9", "-q"], app=toy_app)
    assert result.exit_code == 0
    changed = reproduce(genart_cli, toy_app, run / "grid.png", tmp_path / "again")
    assert changed.exit_code == 2 and "content differs" in changed.output


def test_reproduce_a_post_output_bit_for_bit(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    source = tmp_path / "in" / "picture.png"
    source.parent.mkdir()
    save_image(torch.rand(4, 9, 7, generator=torch.Generator().manual_seed(1)), source)
    result = genart_cli(["post", str(source), "--post", "invert:amount=0.3", "--out", str(tmp_path / "out"), "-q"],
                        app=toy_app)
    assert result.exit_code == 0, result.output
    output = tmp_path / "out" / "picture.png"
    recipe = read_recipe(output)
    assert recipe["kind"] == "post" and recipe["input"]["sha256"] == sha256_file(source)
    again = reproduce(genart_cli, toy_app, output, tmp_path / "again")
    assert again.exit_code == 0 and "identical" in again.output, again.output
    save_image(torch.zeros(4, 9, 7), source, overwrite=True)
    changed = reproduce(genart_cli, toy_app, output, tmp_path / "again2")
    assert changed.exit_code == 2 and "picture.png" in changed.output


def test_reproduce_says_when_pixels_differ(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    from PIL import Image

    tampered = tmp_path / "tampered" / "grid.png"
    tampered.parent.mkdir()
    with Image.open(run / "grid.png") as image:
        text = image.text["genart"]
        pixels = image.convert("RGB")
    pixels.putpixel((3, 3), (0, 0, 0))
    from genart.records.recipe import png_info

    pixels.save(tampered, pnginfo=png_info(text))
    result = reproduce(genart_cli, toy_app, tampered, tmp_path / "again")
    assert result.exit_code == 1 and "differs" in result.output


def test_images_without_a_recipe_and_unreproducible_kinds(genart_cli: Any, toy_app: App, tmp_path: Path) -> None:
    from PIL import Image

    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    result = genart_cli(["recipe", str(plain)], app=toy_app)
    assert result.exit_code == 2 and "no genart recipe" in result.output
    run = make_run(genart_cli, toy_app, tmp_path / "runs")
    snapshot = reproduce(genart_cli, toy_app, run / "snapshots" / "step-000000.png", tmp_path / "again")
    assert snapshot.exit_code == 2 and "'snapshot'" in snapshot.output
    assert json.loads(genart_cli(["recipe", "--json", str(run / "grid.png")], app=toy_app).output)["kind"] == "grid"


def test_every_png_carries_at_least_the_command_and_versions(tmp_path: Path) -> None:
    path = save_image(torch.rand(3, 4, 4), tmp_path / "x.png")
    recipe = read_recipe(path)
    assert recipe["versions"]["torch"] == torch.__version__ and "command" in recipe
