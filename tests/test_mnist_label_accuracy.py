"""benchmarks/mnist_eval.py's label accuracy, with a stand-in classifier whose answers are known: per class,
overall and worst share of samples classified as the digit they were asked to be."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmarks.mnist_eval import Evaluator


class Brightness(nn.Module):
    """Calls an image digit ``round(9 * mean brightness)``: the test sets each image's answer."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        digit = (x.mean((1, 2, 3)) * 9).round().long()
        return torch.zeros(x.shape[0], 128), nn.functional.one_hot(digit, 10).float()


def images_of(digits: list[int]) -> torch.Tensor:
    return torch.tensor(digits, dtype=torch.float32).div(9).view(-1, 1, 1, 1).expand(-1, 1, 28, 28).clone()


def test_label_accuracy_per_class_overall_and_worst() -> None:
    judge = Evaluator(Brightness(), torch.zeros(4, 128), accuracy=1.0)
    asked = torch.tensor([3, 3, 3, 3, 7, 7, 0, 0])
    answered = [3, 3, 3, 5, 7, 7, 0, 9]  # a 3 read as 5, a 0 read as 9
    result = judge.label_accuracy(images_of(answered), asked)
    assert result["per_class"] == {0: 0.5, 3: 0.75, 7: 1.0}
    assert result["counts"] == {0: 2, 3: 4, 7: 2}
    assert result["overall"] == pytest.approx(6 / 8) and result["worst"] == 0.5


def test_label_accuracy_needs_one_label_per_image() -> None:
    judge = Evaluator(Brightness(), torch.zeros(4, 128), accuracy=1.0)
    with pytest.raises(ValueError, match="asked-for labels"):
        judge.label_accuracy(images_of([1, 2]), torch.tensor([1]))
