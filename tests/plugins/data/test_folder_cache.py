"""The folder dataset's decode cache: decoded once, memory-mapped after, rebuilt when a file changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import genart_data.folder as folder_module
from genart.contract.plugins import App
from genart.errors import GenartError
from genart.testing import build_context


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GENART_CACHE_DIR", str(tmp_path / "cache"))
    return build_context(App.from_entry_points(only=["data"]))


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the folder dataset opens, in order."""
    opened: list[str] = []
    real = folder_module.open_pil

    def counting(path: Any) -> Any:
        opened.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(folder_module, "open_pil", counting)
    return opened


def make_folder(root: Path, n: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (20, 12), (40 * i, 255 - 40 * i, 7 * i)).save(root / f"{i}.png")
    return root


def cache_files(tmp_path: Path) -> list[str]:
    return sorted(p.suffix for p in (tmp_path / "cache" / "folders").iterdir())


def test_second_load_maps_the_cache_instead_of_decoding(context: Any, tmp_path: Path, decodes: list[str]) -> None:
    root = make_folder(tmp_path / "imgs")
    first = context.build("dataset", f"folder:path={root}").load(8, 3)
    assert len(decodes) == 5 and cache_files(tmp_path) == [".json", ".npy"]
    decodes.clear()
    second = context.build("dataset", f"folder:path={root}").load(8, 3)
    assert decodes == [], "nothing decoded on a cache hit"
    assert second.dtype == torch.uint8 and torch.equal(first, second)
    uncached = context.build("dataset", f"folder:path={root},cache=false").load(8, 3)
    assert torch.equal(uncached, second), "the cache holds exactly what decoding gives"
    second[0].fill_(0)  # copy-on-write: the file keeps the decoded pixels
    assert torch.equal(context.build("dataset", f"folder:path={root}").load(8, 3), uncached)


def test_a_changed_file_rebuilds_the_entry_and_drops_the_old_one(context: Any, tmp_path: Path,
                                                                 decodes: list[str]) -> None:
    root = make_folder(tmp_path / "imgs")
    before = context.build("dataset", f"folder:path={root}").load(8, 3)
    Image.new("RGB", (20, 12), (1, 2, 3)).save(root / "2.png")
    os.utime(root / "2.png", ns=(1, 1))  # even with an old timestamp: the size or time differs
    decodes.clear()
    after = context.build("dataset", f"folder:path={root}").load(8, 3)
    assert len(decodes) == 5
    assert torch.equal(after[2], torch.tensor([1, 2, 3], dtype=torch.uint8)[:, None, None].expand(3, 8, 8))
    assert not torch.equal(before[2], after[2])
    assert cache_files(tmp_path) == [".json", ".npy"], "one entry per folder and setting"
    context.build("dataset", f"folder:path={root}").load(16, 1)
    assert len(cache_files(tmp_path)) == 4, "another size or channel count is another entry"


def test_unreadable_files_are_reported_again_on_a_cache_hit(context: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = make_folder(tmp_path / "imgs", 3)
    (root / "broken.png").write_bytes(b"not a png")
    for _ in range(2):
        dataset = context.build("dataset", f"folder:path={root}")
        assert dataset.load(8, 3).shape == (3, 3, 8, 8)
        assert len(dataset.skipped) == 1
        assert "skipped 1 unreadable" in capsys.readouterr().err
    assert np.load(next((tmp_path / "cache" / "folders").glob("*.npy"))).shape == (3, 3, 8, 8)


def test_nothing_readable_leaves_no_cache_entry(context: Any, tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "a.png").write_text("broken")
    with pytest.raises(GenartError, match="none of the 1 image files"):
        context.build("dataset", f"folder:path={root}").load(8, 3)
    assert not (tmp_path / "cache" / "folders").exists() or cache_files(tmp_path) == []


def test_an_interrupted_decode_leaves_no_entry(context: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_folder(tmp_path / "imgs")
    real, calls = folder_module.open_pil, []

    def dies_on_the_third(path: Any) -> Any:
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(path)

    monkeypatch.setattr(folder_module, "open_pil", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        context.build("dataset", f"folder:path={root}").load(8, 3)
    assert list((tmp_path / "cache" / "folders").iterdir()) == [], "no half-written cache, no temp file"


def test_an_unwritable_cache_folder_still_trains_from_memory(context: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("a file where the cache folder should go")
    monkeypatch.setenv("GENART_CACHE_DIR", str(tmp_path / "blocker"))
    root = make_folder(tmp_path / "imgs")
    images = context.build("dataset", f"folder:path={root}").load(8, 3)
    assert images.shape == (5, 3, 8, 8)
    assert "no decode cache" in capsys.readouterr().err
