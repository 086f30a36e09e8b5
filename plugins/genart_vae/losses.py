"""Reconstruction likelihoods: each maps (decoder logits, target in [0,1]) to per-image nats."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none").flatten(1).sum(1)


def gaussian_nll_fixed(logits: torch.Tensor, target: torch.Tensor, sigma: float = 0.1) -> torch.Tensor:
    mean = torch.sigmoid(logits.float())
    squared = (mean - target.float()).pow(2).flatten(1).sum(1)
    return 0.5 * squared / sigma**2
