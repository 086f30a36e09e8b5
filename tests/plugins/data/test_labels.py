"""Labels of the built-in datasets: folder sub-folders (cached or not, with unreadable files skipped),
MNIST digits, the largest shape of ``shapes``; and the holdout split applied to them."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from genart.api import load_labelled_data
from genart.contract.plugins import App
from genart.errors import GenartError
from genart.testing import build_context, check_labelled_dataset

COLOURS = {"fire": (220, 40, 20), "grass": (40, 190, 50), "water": (30, 70, 220)}


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GENART_CACHE_DIR", str(tmp_path / "cache"))
    return build_context(App.from_entry_points(only=["data"]))


def sorted_folder(root: Path, per_class: int = 3, broken: bool = True) -> Path:
    """Coloured squares in one sub-folder per class (deeper folders belong to their top one), plus an
    unreadable file in ``grass`` so that labels must skip what decoding skipped."""
    for name, colour in COLOURS.items():
        for i in range(per_class):
            folder = root / name / ("deep" if i == 2 else "")
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (12, 12), colour).save(folder / f"{i}.png")
    if broken:
        (root / "grass" / "1b.png").write_bytes(b"not a png")
    return root


def expected_labels(images: torch.Tensor) -> list[int]:
    """The class of each decoded image, from its colour alone."""
    centres = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    pixels = images.float().mean((2, 3))
    return torch.cdist(pixels, centres).argmin(1).tolist()


@pytest.mark.parametrize("cache", ["true", "false"])
def test_folder_labels_from_sub_folders_skip_unreadable_files(context: Any, tmp_path: Path, cache: str,
                                                              capsys: Any) -> None:
    root = sorted_folder(tmp_path / "art")
    for attempt in range(2):  # with the cache: decoded into it, then mapped from it
        dataset = context.build("dataset", f"folder:path={root},labels=folders,cache={cache}")
        images = dataset.load(8, 3)
        assert images.shape[0] == 9 and dataset.label_names() == ["fire", "grass", "water"]
        assert dataset.labels().tolist() == expected_labels(images), attempt
    assert "skipped 1 unreadable" in capsys.readouterr().err
    check_labelled_dataset(context.build("dataset", f"folder:path={root},labels=folders,cache={cache}"), 8, 3,
                           names=["fire", "grass", "water"])


def test_folder_cache_from_before_labels_is_decoded_again(context: Any, tmp_path: Path) -> None:
    root = sorted_folder(tmp_path / "art")
    context.build("dataset", f"folder:path={root},labels=folders").load(8, 3)
    for info in (tmp_path / "cache" / "folders").glob("*.json"):  # as an older genart wrote it
        entry = json.loads(info.read_text())
        del entry["skipped_index"]
        info.write_text(json.dumps(entry))
    dataset = context.build("dataset", f"folder:path={root},labels=folders")
    images = dataset.load(8, 3)
    assert dataset.labels().tolist() == expected_labels(images)


def test_folder_labels_refuse_loose_files_in_one_line(context: Any, tmp_path: Path) -> None:
    root = sorted_folder(tmp_path / "art", broken=False)
    Image.new("RGB", (8, 8)).save(root / "stray.png")
    with pytest.raises(GenartError) as error:
        context.build("dataset", f"folder:path={root},labels=folders")
    assert "stray.png" in str(error.value) and "\n" not in str(error.value)
    unlabelled = context.build("dataset", f"folder:path={root}")  # without labels= the folder is one pile
    assert unlabelled.label_names() == [] and unlabelled.load(8, 3).shape[0] == 10


def test_folder_labels_through_the_holdout_split(context: Any, tmp_path: Path) -> None:
    root = sorted_folder(tmp_path / "art", broken=False)
    spec = f"folder:path={root},labels=folders"
    whole = load_labelled_data(context, spec, 8, 3)
    test = load_labelled_data(context, spec + ",split=test,holdout=4", 8, 3)
    assert test.labels.tolist() == whole.labels.tolist()[-4:] == expected_labels(test.images)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_mnist_has_digit_labels_unless_told_not_to(context: Any, tmp_path: Path, capsys: Any) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.random.default_rng(0).integers(0, 256, (12, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    dataset = context.build("dataset", f"mnist:path={tmp_path},limit=11")
    check_labelled_dataset(dataset, 28, 1, names=[str(d) for d in range(10)])
    assert dataset.labels().tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert context.build("dataset", f"mnist:path={tmp_path},labels=none").label_names() == []
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()  # images without their labels still train
    assert context.build("dataset", f"mnist:path={tmp_path}").label_names() == []
    assert "no labels" in capsys.readouterr().err


def test_shapes_labelled_by_their_largest_shape(context: Any) -> None:
    dataset = context.build("dataset", "shapes:count=40,labels=largest,min_shapes=1,max_shapes=1")
    check_labelled_dataset(dataset, 32, 3, names=["circle", "square", "triangle", "bar"])
    labels = dataset.labels()
    assert len(set(labels.tolist())) == 4, "40 single-shape images show every kind"
    images = dataset.load(32, 3).float()
    # one shape per image: a bar covers less of the picture than a circle of a similar radius
    background = torch.stack([img[:, 0, 0] for img in images])
    covered = ((images - background[:, :, None, None]).abs().sum(1) > 30).float().mean((1, 2))
    assert covered[labels == 3].mean() < covered[labels == 0].mean()
    assert context.build("dataset", "shapes:count=4").label_names() == []
