"""``genart eval`` per class, on self-made labelled swatches and self-made conditional models: a model that
draws the class it is asked for scores far better per class than one that draws the wrong class, the
figures land in the manifest and the report with the per-class grid, and runs without labels are left as
they were."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

import genart
from genart import DatasetParams
from genart.contract.plugins import App
from genart.records.report import run_report
from genart.runner.jobs import train_job
from genart.runner.settings import RunSettings

NAMES = ["red", "green", "blue"]
COLOURS = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.2, 0.9]])
TRAIN = "swatches:count=60,split=train,holdout=30"
HELD_OUT = "swatches:count=60,split=test,holdout=30"
SIZE = 8


def swatches(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Float images of each label's colour with a random bright square and noise, in [0, 1]."""
    images = COLOURS[labels][:, :, None, None].expand(-1, -1, SIZE, SIZE).clone()
    for index in range(labels.shape[0]):
        top, left = (int(v) for v in torch.randint(0, SIZE - 3, (2,), generator=generator))
        images[index, :, top:top + 3, left:left + 3] = torch.rand(3, 1, 1, generator=generator)
    return (images + 0.05 * torch.randn(images.shape, generator=generator)).clamp(0, 1)


@dataclass
class SwatchParams(DatasetParams):
    """Coloured swatches, labelled by colour (``labelled=false``: the same images without labels)."""

    count: int = genart.param(30, "images")
    labelled: bool = genart.param(True, "give labels")


class Swatches:
    def __init__(self, params: SwatchParams) -> None:
        self.params = params

    def load(self, size: int, channels: int) -> Any:
        images = swatches(self.labels(), torch.Generator().manual_seed(0))
        return (images * 255).round().to(torch.uint8)

    def label_names(self) -> list[str]:
        return list(NAMES) if self.params.labelled else []

    def labels(self) -> torch.Tensor:
        return torch.arange(self.params.count) % len(NAMES)


@dataclass
class PainterParams:
    """Which class a painter draws when asked for class k: k + ``shift`` (0: the one asked for)."""

    shift: int = genart.param(0, "classes off")


class Painter:
    """A conditional model that learns nothing: it paints a swatch of the class asked for (or ``shift``
    classes further), so its per-class figures are known in advance."""

    default_steps = 2
    default_batch_size = 4

    def __init__(self, params: PainterParams, context: Any) -> None:
        self.params = params
        self.image_shape = (3, SIZE, SIZE)
        self.names: list[str] = []
        self.seen = torch.zeros(len(NAMES))
        self.guidance = 1.0

    def set_classes(self, names: Any) -> None:
        self.names = list(names)

    def train_step(self, batch: Any) -> dict[str, float]:
        return {"zero": 0.0}

    def train_step_labelled(self, batch: Any, labels: Any) -> dict[str, float]:
        self.seen += torch.bincount(labels, minlength=len(NAMES)).float()
        return {"zero": 0.0}

    def sample_labelled(self, labels: Any, generator: Any) -> Any:
        return swatches((labels + self.params.shift) % len(NAMES), generator)

    def sample(self, n: int, generator: Any) -> Any:
        return self.sample_labelled(torch.randint(0, len(NAMES), (n,), generator=generator), generator)

    def state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = state["seen"]


class SwatchPlugin:
    @genart.hookimpl
    def register_models(self, register: Any) -> None:
        register("painter", Painter, params=PainterParams, description="paints the class asked for")

    @genart.hookimpl
    def register_datasets(self, register: Any) -> None:
        register("swatches", lambda p, c: Swatches(p), params=SwatchParams, description="labelled swatches")


@pytest.fixture
def app(builtin_app: App, register_plugin: Any) -> App:
    register_plugin(SwatchPlugin(), "swatches", app=builtin_app)
    return builtin_app


def make_run(app: App, out: Path, model: str, data: str = TRAIN) -> Path:
    settings = RunSettings(model=model, data=data, steps=2, batch_size=4, num_samples=2, out=str(out),
                           device="cpu", precision="fp32", progress=False)
    return train_job(app, settings)


def evaluate(genart_cli: Any, app: App, run: Path, data: str = HELD_OUT) -> tuple[str, dict[str, Any]]:
    result = genart_cli(["eval", str(run), "--data", data, "-q"], app=app)
    assert result.exit_code == 0, result.output
    return result.output, json.loads((run / "manifest.json").read_text())


def test_eval_scores_each_class_and_writes_the_grid(genart_cli: Any, app: App, tmp_path: Path) -> None:
    faithful = make_run(app, tmp_path / "faithful", "painter")
    wrong = make_run(app, tmp_path / "wrong", "painter:shift=1")
    output, manifest = evaluate(genart_cli, app, faithful)
    assert "per class" in output and all(name in output for name in NAMES)
    record = manifest["metrics"]["class_eval"][HELD_OUT]
    assert list(record["classes"]) == NAMES and record["skipped"] == []
    assert record["classes"]["red"]["real"] == 10 and record["classes"]["red"]["samples"] == 5
    assert record["guidance"] == 1.0
    _, wrong_manifest = evaluate(genart_cli, app, wrong)
    bad = wrong_manifest["metrics"]["class_eval"][HELD_OUT]
    for name in NAMES:
        assert record["classes"][name]["model"]["fd"] < bad["classes"][name]["model"]["fd"] / 5
    assert record["average"]["model"]["precision"] > 0.5 > bad["average"]["model"]["precision"]
    # over all classes at once both models draw the same mix of colours: only the per-class figures differ
    overall = manifest["metrics"]["sample_eval"][HELD_OUT]["model"]["fd"]
    assert overall < 5 * wrong_manifest["metrics"]["sample_eval"][HELD_OUT]["model"]["fd"]
    with Image.open(faithful / "classes.png") as grid:
        assert grid.mode == "RGB" and grid.height > 3 * 48 and grid.width > 5 * 48  # 3 rows of 5, enlarged
        left, right = grid.getpixel((grid.width - 60, 30)), grid.getpixel((grid.width - 60, grid.height - 30))
    assert left[0] > left[2] and right[2] > right[0], "the red row on top, the blue row at the bottom"
    report = run_report(faithful)
    assert "classes.png" in report and f"per class on {HELD_OUT}" in report and "average" in report


def test_eval_of_a_conditional_run_on_unlabelled_data_says_why_there_is_no_class_table(
        genart_cli: Any, app: App, tmp_path: Path) -> None:
    run = make_run(app, tmp_path, "painter")
    output, manifest = evaluate(genart_cli, app, run, f"{HELD_OUT},labelled=false")
    assert "has no labels, so no per-class figures" in output
    assert "class_eval" not in manifest["metrics"] and not (run / "classes.png").exists()
    assert "sample_eval" in manifest["metrics"]


def test_an_unconditional_run_gets_no_class_table(genart_cli: Any, app: App, tmp_path: Path) -> None:
    run = make_run(app, tmp_path, "painter", data=f"{TRAIN},labelled=false")
    output, manifest = evaluate(genart_cli, app, run)
    assert "per class" not in output and "class_eval" not in manifest["metrics"]
    assert not (run / "classes.png").exists()
