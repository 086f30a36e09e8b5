"""Per-class figures and the per-class grid on small self-made data: a class's own samples score better
against it than another class's, classes too small to score are left out, and the grid has one row per
class with its name written before it."""

from __future__ import annotations

import pytest
import torch

from genart_explore.class_grid import class_grid
from genart_explore.sample_metrics import average_figures, evaluate_classes

COLOURS = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.2, 0.9]])


def coloured(labels: torch.Tensor, seed: int, size: int = 16) -> torch.Tensor:
    """Images of each label's colour, with a random bright square at a random place (uint8)."""
    g = torch.Generator().manual_seed(seed)
    images = COLOURS[labels][:, :, None, None].expand(-1, -1, size, size).clone()
    for index in range(labels.shape[0]):
        top, left = (int(v) for v in torch.randint(0, size - 6, (2,), generator=g))
        images[index, :, top:top + 6, left:left + 6] = torch.rand(3, 1, 1, generator=g)
    images += 0.05 * torch.randn(images.shape, generator=g)
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def test_each_class_is_scored_against_its_own_images() -> None:
    labels = torch.arange(3).repeat_interleave(40)
    real = coloured(labels, seed=0)
    asked = torch.arange(3).repeat_interleave(20)
    faithful = coloured(asked, seed=1)
    shuffled = coloured((asked + 1) % 3, seed=1)  # each asked-for class drawn in the next class's colour
    good = evaluate_classes(real, labels, faithful, asked, 3)
    bad = evaluate_classes(real, labels, shuffled, asked, 3)
    assert sorted(good) == [0, 1, 2]
    for index in range(3):
        assert good[index]["model"]["fd"] < bad[index]["model"]["fd"] / 5
        assert good[index]["model"]["precision"] > 0.5 > bad[index]["model"]["precision"]
        assert good[index]["floor"] == bad[index]["floor"]  # the real halves do not depend on the samples
    # over all classes together the two sample sets hold the same images, so only per class tells them apart
    average_good, average_bad = average_figures(good)["model"], average_figures(bad)["model"]
    assert average_good["fd"] < average_bad["fd"] / 5
    assert average_good["fd"] == pytest.approx(sum(good[c]["model"]["fd"] for c in good) / 3)


def test_classes_too_small_to_score_are_left_out() -> None:
    labels = torch.tensor([0] * 30 + [1] * 5 + [2] * 30)
    real = coloured(labels, seed=2)
    asked = torch.tensor([0] * 10 + [1] * 10 + [2] * 3)
    per_class = evaluate_classes(real, labels, coloured(asked, seed=3), asked, 3)
    assert sorted(per_class) == [0]  # class 1: 5 real images (< 8); class 2: 3 samples (< 4)
    assert average_figures({}) == {}


def test_class_grid_has_one_row_per_class_and_the_names() -> None:
    rows = [torch.full((n, 1, 8, 8), shade) for n, shade in ((3, 0.0), (2, 0.5), (3, 1.0))]
    grid = class_grid(rows, ["zero", "a longer name", "two"], padding=2, min_tile=16)
    assert grid.shape[0] == 3 and grid.dtype == torch.float32
    assert float(grid.min()) >= 0.0 and float(grid.max()) <= 1.0
    # tiles enlarged twice (8 px < 16): rows 16 px high plus padding, three rows
    assert grid.shape[1] == 2 + 3 * (16 + 2)
    label_width = grid.shape[2] - 3 * (16 + 2)
    names, tiles = grid[:, :, :label_width], grid[:, :, label_width:]
    assert float(names.min()) < 0.3, "the names are written in dark ink on the left"
    first_row = tiles[:, 2:18]
    assert float(first_row[:, :, :16].max()) == 0.0  # the first class's black tile
    second_row = tiles[:, 2 + 18:2 + 18 + 16]
    assert float(second_row[:, :, 18:34].mean()) == pytest.approx(0.5, abs=0.01)  # the grey class's second image
    assert float(second_row[:, :, 36:52].min()) == 1.0, "class 1 has two images: its third cell stays blank"


def test_class_grid_refuses_rows_without_names() -> None:
    from genart import UsageError

    with pytest.raises(UsageError, match="one name per row"):
        class_grid([torch.zeros(1, 3, 8, 8)], ["a", "b"])
