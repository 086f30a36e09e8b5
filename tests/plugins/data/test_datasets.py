"""Built-in datasets: contract checks, determinism, real-world folder files, IDX parsing."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from genart.contract.plugins import App
from genart.errors import GenartError, UsageError
from genart.runner.pipeline import load_data
from genart.testing import build_context, check_dataset


@pytest.fixture
def context() -> Any:
    return build_context(App.from_entry_points(only=["data"]))


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_shapes_contract_and_determinism(context: Any) -> None:
    dataset = context.build("dataset", "shapes:count=6")
    check_dataset(dataset, size=16)
    other = context.build("dataset", "shapes:count=6,seed=1")
    assert not torch.equal(dataset.load(16, 3), other.load(16, 3))


def test_shapes_are_colourful_compositions_not_noise(context: Any) -> None:
    images = context.build("dataset", "shapes:count=32").load(32, 3).float() / 255
    # Flat colour regions: most neighbouring pixels are equal, and images are not grey.
    flat = (images[..., 1:] - images[..., :-1]).abs().lt(0.02).float().mean()
    saturation = (images.max(1).values - images.min(1).values).mean()
    assert flat > 0.8 and saturation > 0.15


def test_shapes_validation_errors(context: Any) -> None:
    with pytest.raises(UsageError, match="min_shapes"):
        context.build("dataset", "shapes:min_shapes=4,max_shapes=2")


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_plain_and_gzipped(context: Any, tmp_path: Path, gz: bool) -> None:
    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28))
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", digits, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.arange(5), gz)
    dataset = context.build("dataset", f"mnist:path={tmp_path}")
    raw = dataset.load(28, 1)
    assert torch.equal(raw[:, 0], torch.from_numpy(digits.astype(np.uint8)))
    padded = dataset.load(32, 1)
    assert padded.shape == (5, 1, 32, 32) and torch.equal(padded[:, :, 2:30, 2:30], raw)
    assert dataset.labels().tolist() == [0, 1, 2, 3, 4]
    check_dataset(dataset, size=16)


def test_mnist_errors(context: Any, tmp_path: Path) -> None:
    with pytest.raises(GenartError, match="not found"):
        context.build("dataset", f"mnist:path={tmp_path / 'nope'}")
    with pytest.raises(GenartError, match="no train/t10k images"):
        context.build("dataset", f"mnist:path={tmp_path}")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 10, 28, 28))
    with pytest.raises(GenartError, match="truncated"):
        context.build("dataset", f"mnist:path={tmp_path}").load(28, 1)
    with pytest.raises(UsageError, match="needs path"):
        context.build("dataset", "mnist")


def make_messy_folder(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 20), (255, 0, 0)).save(root / "wide.jpg")
    Image.new("L", (10, 10), 30).save(root / "sub" / "grey.png")
    Image.new("RGBA", (12, 12), (0, 0, 255, 0)).save(root / "clear.png")
    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(root / "cmyk.jpg")
    Image.fromarray(np.full((9, 9), 40000, dtype=np.uint16)).save(root / "deep.png")
    palette = Image.new("P", (9, 9))
    palette.putpalette([0, 255, 0] * 256)
    palette.save(root / "palette.gif")
    Image.new("RGB", (30, 30)).save(root / "ok.png")
    data = (root / "ok.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 3])
    (root / "readme.txt").write_text("not an image")
    (root / "fake.jpg").write_text("not a jpeg")


def test_folder_handles_real_world_files(context: Any, tmp_path: Path, capsys: Any) -> None:
    make_messy_folder(tmp_path / "imgs")
    dataset = context.build("dataset", f"folder:path={tmp_path / 'imgs'}")
    images = dataset.load(16, 3)
    assert images.shape == (7, 3, 16, 16)
    assert len(dataset.skipped) == 2
    assert "skipped 2 unreadable" in capsys.readouterr().err
    by_name = {f.name: i for i, f in enumerate(f for f in dataset.files if f.name not in ("truncated.png", "fake.jpg"))}
    assert images[by_name["clear.png"]].min() == 255, "transparent pixels become white"
    assert images[by_name["wide.jpg"], 0].float().mean() > 240
    check_dataset(dataset, size=8)


def test_folder_with_nothing_readable_is_a_clear_error(context: Any, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("broken")
    with pytest.raises(GenartError, match="none of the 1 image files"):
        context.build("dataset", f"folder:path={tmp_path}").load(8, 3)
    with pytest.raises(GenartError, match="not found"):
        context.build("dataset", f"folder:path={tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenartError, match="no image files"):
        context.build("dataset", f"folder:path={tmp_path / 'empty'}")


def test_folder_pad_mode_keeps_whole_image(context: Any, tmp_path: Path) -> None:
    Image.new("RGB", (40, 20), (0, 0, 0)).save(tmp_path / "wide.png")
    image = context.build("dataset", f"folder:path={tmp_path},fit=pad").load(16, 3)[0]
    assert image[:, 0].min() == 255 and image[:, 8].max() == 0, "padded top row, black middle"


def test_holdout_split_on_a_real_dataset(context: Any) -> None:
    train = load_data(context, "shapes:count=10,split=train,holdout=4", 8, 3)
    test = load_data(context, "shapes:count=10,split=test,holdout=4", 8, 3)
    assert train.shape[0] == 6 and test.shape[0] == 4
