"""Per-class figures on small self-made data: a class's own samples score better against it than another
class's, and classes too small to score are left out."""

from __future__ import annotations

import pytest
import torch

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
