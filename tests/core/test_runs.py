from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from genart.errors import GenartError, UsageError
from genart.records import runs


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    runs.write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), runs.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_new_run_dirs_never_collide(tmp_path: Path) -> None:
    first = runs.new_run_dir(tmp_path, "vae")
    second = runs.new_run_dir(tmp_path, "vae")
    assert first != second and first.is_dir() and second.is_dir()


def test_checkpoint_roundtrip_of_nested_state(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {"model": model.state_dict(), "opt": optimizer.state_dict(), "step": 7, "name": "x",
             "pair": (1, 2.5), "none": None, "rng": torch.get_rng_state()}
    runs.save_checkpoint(tmp_path / "c.safetensors", state)
    loaded, meta = runs.load_checkpoint(tmp_path / "c.safetensors")
    assert loaded["step"] == 7 and loaded["name"] == "x" and loaded["pair"] == (1, 2.5) and loaded["none"] is None
    assert torch.equal(loaded["model"]["weight"], model.weight)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(loaded["opt"])
    assert fresh.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert meta["genart.format"] == "genart-checkpoint-1"


def test_plain_safetensors_files_load_flat(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(tmp_path / "w.safetensors"), metadata={"made_by": "test"})
    tensors, meta = runs.load_checkpoint(tmp_path / "w.safetensors")
    assert torch.equal(tensors["w"], torch.ones(2)) and meta["made_by"] == "test"


def test_damaged_or_missing_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        runs.load_checkpoint(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(GenartError, match="cannot read checkpoint"):
        runs.load_checkpoint(tmp_path / "bad.safetensors")


def test_unsupported_values_cannot_be_checkpointed(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot checkpoint"):
        runs.save_checkpoint(tmp_path / "c.safetensors", {"x": object()})
