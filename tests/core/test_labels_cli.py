"""Asking a trained run for a class: ``genart sample --label`` (names, indices, ``all``), the named class
grid, ``--guidance``, the one-line errors, and ``genart reproduce`` of labelled samples and grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import genart_labelled_plugin
import pytest
import torch

import genart_toy_plugin
from genart.contract.plugins import App
from genart.images import load_image
from genart.records.recipe import read_recipe
from genart.testing import make_tiny_run


@pytest.fixture
def app() -> App:
    app = App()
    app.register(genart_labelled_plugin, "labelled")
    app.register(genart_toy_plugin, "toy")
    return app


@pytest.fixture
def run(app: App, tmp_path: Path) -> Path:
    return make_tiny_run(app, tmp_path / "runs", "toy-cond", "tiles:count=12", steps=40, batch_size=6)


def recipe_of(path: Path) -> dict[str, Any]:
    return read_recipe(path)


def colour(path: Path) -> int:
    return int(load_image(path).mean((1, 2)).argmax())


def test_sample_asks_for_classes_by_name_and_index(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = genart_cli(["sample", str(run), "--label", "red", "--label", "2", "-n", "3", "--out", str(out),
                         "--device", "cpu"], app=app)
    assert result.exit_code == 0, result.output
    assert "3 samples per label" in result.output
    files = sorted((out / "samples").glob("*.png"))
    assert len(files) == 6
    assert [colour(f) for f in files] == [0, 0, 0, 2, 2, 2]  # red, then blue
    first = recipe_of(files[0])
    assert first["classes"] == ["red", "green", "blue"] and first["label"] == "red"
    assert first["labels"] == {"classes": [0, 2], "each": 3, "names": ["red", "blue"]}
    grid = load_image(out / "grid.png")
    assert grid.shape[1] == 2 + 2 * (8 + 2)  # two rows of 8 px images, padded
    assert recipe_of(out / "grid.png")["kind"] == "grid"


def test_label_all_draws_a_named_row_per_class(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    out = tmp_path / "all"
    assert genart_cli(["sample", str(run), "--label", "all", "-n", "2", "--out", str(out), "--device", "cpu"],
                      app=app).exit_code == 0
    assert len(list((out / "samples").glob("*.png"))) == 6
    grid = load_image(out / "grid.png")
    assert grid.shape[1] == 2 + 3 * 10
    names_column = grid[:, :, :12]
    assert float(names_column.min()) < 0.3, "the class names are written on the left"


def test_an_unknown_label_is_one_line_listing_the_names(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    result = genart_cli(["sample", str(run), "--label", "purple", "--out", str(tmp_path / "x"), "--device", "cpu"],
                        app=app)
    assert result.exit_code == 2
    line = [line for line in result.output.splitlines() if line.strip()]
    assert len(line) == 1 and "purple" in line[0] and "red, green, blue" in line[0]
    assert not (tmp_path / "x").exists()


def test_labels_and_guidance_need_a_run_that_has_them(genart_cli: Any, app: App, tmp_path: Path) -> None:
    plain = make_tiny_run(app, tmp_path / "runs", "toy", "dots:count=8")
    result = genart_cli(["sample", str(plain), "--label", "0", "--device", "cpu"], app=app)
    assert result.exit_code == 2 and "trained without labels" in result.output
    result = genart_cli(["sample", str(plain), "--guidance", "2", "--device", "cpu"], app=app)
    assert result.exit_code == 2 and "trained without labels" in result.output


def test_guidance_on_a_model_without_a_scale_is_refused(genart_cli: Any, app: App, run: Path) -> None:
    result = genart_cli(["sample", str(run), "--guidance", "2", "--device", "cpu"], app=app)
    assert result.exit_code == 2 and "no guidance scale" in result.output


@pytest.mark.parametrize("name", ["samples/0004.png", "grid.png"])
def test_reproduce_draws_labelled_samples_again(genart_cli: Any, app: App, run: Path, tmp_path: Path,
                                                name: str) -> None:
    out = tmp_path / "s"
    assert genart_cli(["sample", str(run), "--label", "all", "-n", "2", "--out", str(out), "--device", "cpu"],
                      app=app).exit_code == 0
    result = genart_cli(["reproduce", str(out / name), "--out", str(tmp_path / "again")], app=app)
    assert result.exit_code == 0, result.output
    copy = tmp_path / "again" / Path(name).name
    assert (out / name).read_bytes() == copy.read_bytes()


def test_a_conditional_runs_own_samples_reproduce(genart_cli: Any, app: App, run: Path, tmp_path: Path) -> None:
    recipe = recipe_of(run / "samples" / "0001.png")
    assert recipe["classes"] == ["red", "green", "blue"] and "labels" not in recipe
    result = genart_cli(["reproduce", str(run / "samples" / "0001.png"), "--out", str(tmp_path / "again")], app=app)
    assert result.exit_code == 0, result.output
    assert torch.equal(load_image(run / "samples" / "0001.png"), load_image(tmp_path / "again" / "0001.png"))
