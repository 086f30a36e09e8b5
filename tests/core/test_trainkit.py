"""genart.trainkit's learning-rate schedule helpers, which models following the loop's progress share."""

from __future__ import annotations

import pytest
import torch

import genart
from genart.trainkit import decay_factor, follow_schedule


def test_decay_factor_goes_from_one_to_zero() -> None:
    assert [decay_factor("linear", p) for p in (0, 0.25, 1, 1.5)] == [1, 0.75, 0, 0]
    assert decay_factor("cosine", 0.5) == pytest.approx(0.5) and decay_factor("cosine", 1) == pytest.approx(0)
    assert decay_factor("constant", 0.9) == 1
    with pytest.raises(genart.UsageError, match="schedule 'step'"):
        decay_factor("step", 0.5)


def test_follow_schedule_sets_every_group() -> None:
    weights, bias = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([{"params": [weights]}, {"params": [bias], "lr": 5.0}], lr=1.0)
    follow_schedule(optimizer, 2e-3, "linear", 0.25)
    assert [group["lr"] for group in optimizer.param_groups] == [pytest.approx(1.5e-3)] * 2
    follow_schedule(optimizer, 2e-3, "constant", 0.9)
    assert [group["lr"] for group in optimizer.param_groups] == [2e-3, 2e-3]
