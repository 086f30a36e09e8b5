"""Labels in the contract: datasets that label their images, a conditional model told its classes, the
labels through split/holdout, the training loop, the manifest, the checkpoint, resume and ``genart sample``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import genart_labelled_plugin
import pytest
import torch

import genart
import genart_toy_plugin
from genart.api import load_labelled_data, load_run_model, read_json, resolve_labels, sample_classes
from genart.contract.plugins import App
from genart.errors import GenartError, UsageError
from genart.testing import build_context, check_conditional_model, check_labelled_dataset, make_tiny_run


@pytest.fixture
def app() -> App:
    app = App()
    app.register(genart_labelled_plugin, "labelled")
    app.register(genart_toy_plugin, "toy")
    return app


def test_the_protocols_are_public_and_structural() -> None:
    tiles = genart_labelled_plugin.Tiles(genart_labelled_plugin.TilesParams())
    dots = genart_toy_plugin.Dots(genart_toy_plugin.DotsParams())
    assert isinstance(tiles, genart.Labelled) and not isinstance(dots, genart.Labelled)
    context = build_context(App())
    model = genart_labelled_plugin.ToyCond(genart_labelled_plugin.ToyCondParams(), context)
    assert isinstance(model, genart.Conditional) and isinstance(model, genart.ConditionalDecoder)
    assert not isinstance(genart_toy_plugin.ToyModel(genart_toy_plugin.ToyModelParams(), context), genart.Conditional)
    assert genart.PLUGIN_API == "2.1"


def test_the_kit_checks_a_labelled_dataset_and_a_conditional_model() -> None:
    check_labelled_dataset(genart_labelled_plugin.Tiles(genart_labelled_plugin.TilesParams()), 8, 3,
                           names=["red", "green", "blue"])
    model = genart_labelled_plugin.ToyCond(genart_labelled_plugin.ToyCondParams(), build_context(App()))
    check_conditional_model(model, ["x", "y"])


def test_the_kit_catches_misaligned_labels() -> None:
    class Short(genart_labelled_plugin.Tiles):
        def labels(self) -> Any:
            return super().labels()[:-1]

    with pytest.raises(AssertionError, match="labels for"):
        check_labelled_dataset(Short(genart_labelled_plugin.TilesParams()), 8, 3)


def test_labels_follow_the_holdout_split(app: App) -> None:
    context = build_context(app)
    whole = load_labelled_data(context, "tiles:count=10", 8, 3)
    train = load_labelled_data(context, "tiles:count=10,split=train,holdout=4", 8, 3)
    test = load_labelled_data(context, "tiles:count=10,split=test,holdout=4", 8, 3)
    assert whole.names == ["red", "green", "blue"]
    assert torch.equal(torch.cat([train.labels, test.labels]), whole.labels)
    assert torch.equal(torch.cat([train.images, test.images]), whole.images)
    assert not load_labelled_data(context, "dots", 8, 3).labelled  # a dataset from before labels
    assert not load_labelled_data(context, "tiles:labelled=false", 8, 3).labelled


def test_a_dataset_with_bad_labels_is_a_one_line_error(app: App) -> None:
    class Wrong(genart_labelled_plugin.Tiles):
        def labels(self) -> Any:
            return torch.full((self.params.count,), 7)

    from genart.runner.labelled import dataset_labels

    with pytest.raises(GenartError, match="outside 0..2"):
        dataset_labels(Wrong(genart_labelled_plugin.TilesParams(count=5)), "wrong", 5)
    with pytest.raises(GenartError, match=r"\(3,\) labels for its 5"):
        dataset_labels(genart_labelled_plugin.Tiles(genart_labelled_plugin.TilesParams(count=3)), "t", 5)


def test_resolve_labels_by_name_index_and_all() -> None:
    names = ["fire", "water", "Grass"]
    assert resolve_labels(["fire", "2", "grass", "all"], names) == [0, 2, 2, 0, 1, 2]
    with pytest.raises(UsageError) as error:
        resolve_labels(["ice"], names)
    assert "fire, water, Grass" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(UsageError):
        resolve_labels(["3"], names)


def test_a_conditional_run_records_its_classes_and_samples_them_back(app: App, tmp_path: Path) -> None:
    run = make_tiny_run(app, tmp_path, "toy-cond", "tiles:count=12", steps=30, batch_size=6)
    manifest = read_json(run / "manifest.json")
    assert manifest["labels"] == {"names": ["red", "green", "blue"], "conditional": True}
    from genart.records.runs import read_checkpoint_metadata

    assert json.loads(read_checkpoint_metadata(run / "checkpoint.safetensors")["genart.labels"]) == \
        ["red", "green", "blue"]
    model, _, _ = load_run_model(app, run, "cpu", "fp32")
    assert model.told == 1 and model.names == ["red", "green", "blue"]
    images = sample_classes(model, torch.tensor([0, 1, 2]), seed=0)
    means = images.mean((2, 3))
    assert means[0].argmax() == 0 and means[1].argmax() == 1 and means[2].argmax() == 2  # red, green, blue


def test_an_unconditional_model_on_labelled_data_says_so_and_trains(app: App, tmp_path: Path,
                                                                     capsys: Any) -> None:
    run = make_tiny_run(app, tmp_path, "toy", "tiles:count=12", steps=2)
    manifest = read_json(run / "manifest.json")
    assert manifest["labels"]["conditional"] is False
    assert "does not take labels" in capsys.readouterr().err
    assert "genart.labels" not in __import__("genart.records.runs", fromlist=["x"]).read_checkpoint_metadata(
        run / "checkpoint.safetensors")


def test_unlabelled_runs_record_no_labels(app: App, tmp_path: Path) -> None:
    run = make_tiny_run(app, tmp_path, "toy-cond", "dots:count=8", steps=2)
    assert "labels" not in read_json(run / "manifest.json")
    model, _, _ = load_run_model(app, run, "cpu", "fp32")
    assert model.told == 0


def test_resume_continues_conditionally_and_exactly(app: App, tmp_path: Path) -> None:
    from genart.api import RunSettings, train_job

    def settings(out: Path, steps: int) -> RunSettings:
        return RunSettings(model="toy-cond", data="tiles:count=12", steps=steps, batch_size=4, num_samples=3,
                           device="cpu", precision="fp32", out=str(out), progress=False, checkpoint_every=0)

    whole = train_job(app, settings(tmp_path / "a", 8))
    half = train_job(app, settings(tmp_path / "b", 4))
    resumed = train_job(app, settings(tmp_path / "b", 8), resume=half, given={"steps"})
    assert (whole / "checkpoint.safetensors").read_bytes() == (resumed / "checkpoint.safetensors").read_bytes()


def test_weights_of_a_conditional_run_bring_their_classes(app: App, tmp_path: Path) -> None:
    from genart.api import RunSettings, train_job

    trained = make_tiny_run(app, tmp_path / "a", "toy-cond", "tiles:count=12", steps=20, batch_size=6)
    settings = RunSettings(model="toy-cond", data="tiles:count=12", num_samples=3, device="cpu", precision="fp32",
                           out=str(tmp_path / "b"), progress=False)
    loaded = train_job(app, settings, weights=trained / "checkpoint.safetensors")
    assert read_json(loaded / "manifest.json")["labels"] == {"names": ["red", "green", "blue"], "conditional": True}
    model, _, _ = load_run_model(app, loaded, "cpu", "fp32")
    reference, _, _ = load_run_model(app, trained, "cpu", "fp32")
    asked = torch.tensor([2, 1])
    assert torch.equal(sample_classes(model, asked, seed=1), sample_classes(reference, asked, seed=1))
