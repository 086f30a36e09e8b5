"""``genart sample -n N`` draws, post-processes and writes SAMPLE_BATCH samples at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import genart
from genart.contract.plugins import App
from genart.images import load_image
from genart.runner.pipeline import SAMPLE_BATCH
from genart.runner.sampling import GRID_MAX, check_samples, write_samples


class Watching:
    """A model that notes, at every ``sample`` call, how many sample PNGs are already on disk."""

    image_shape = (3, 4, 4)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written_before_call: list[int] = []

    def train_step(self, batch: Any) -> dict[str, float]:
        return {}

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        self.written_before_call.append(len(list((self.folder / "samples").glob("*.png"))))
        return torch.rand(n, *self.image_shape, generator=generator)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def test_samples_are_written_batch_by_batch(tmp_path: Path) -> None:
    model = Watching(tmp_path)
    n = 2 * SAMPLE_BATCH + 5
    write_samples(tmp_path, model, [], n, seed=0, device="cpu")
    assert model.written_before_call == [0, SAMPLE_BATCH, 2 * SAMPLE_BATCH], "one batch in memory at a time"
    assert len(list((tmp_path / "samples").glob("*.png"))) == n


def test_the_first_samples_do_not_depend_on_n(tmp_path: Path) -> None:
    write_samples(tmp_path / "few", Watching(tmp_path / "few"), [], 3, seed=4, device="cpu")
    write_samples(tmp_path / "many", Watching(tmp_path / "many"), [], SAMPLE_BATCH + 3, seed=4, device="cpu")
    for index in range(3):
        name = f"samples/{index:04d}.png"
        assert torch.equal(load_image(tmp_path / "few" / name), load_image(tmp_path / "many" / name))


def test_the_grid_shows_at_most_grid_max_samples(tmp_path: Path) -> None:
    write_samples(tmp_path, Watching(tmp_path), [], GRID_MAX + 1, seed=0, device="cpu")
    side = int(GRID_MAX ** 0.5)
    assert load_image(tmp_path / "grid.png").shape[-1] == side * (4 + 2) + 2


def test_a_sample_count_the_disk_cannot_hold_is_refused_up_front(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("genart.loop.memory.free_disk_bytes", lambda folder: 10_000)
    check_samples(100, (3, 4, 4), tmp_path)
    with pytest.raises(genart.DiskFullError, match="-n 1000 samples need at least"):
        check_samples(1000, (3, 4, 4), tmp_path / "not-yet")


def test_sample_shows_a_progress_bar_for_more_than_one_batch(genart_cli: Any, toy_app: App, tiny_run: Any,
                                                             tmp_path: Path) -> None:
    run = tiny_run(toy_app, "toy", "dots")
    n = SAMPLE_BATCH + 6
    result = genart_cli(["sample", str(run), "-n", str(n), "--out", str(tmp_path / "o")], app=toy_app)
    assert result.exit_code == 0, result.output
    assert f"{n}/{n}" in result.stderr and len(list((tmp_path / "o" / "samples").glob("*.png"))) == n
    few = genart_cli(["sample", str(run), "-n", "3", "--out", str(tmp_path / "p")], app=toy_app)
    assert "3/3" not in few.stderr, "no bar for a single batch"
