"""Cached weight loaders return a fresh network each call: moving or changing one never touches another."""

from __future__ import annotations

import torch

from genart_restore.learned import load_restore_net
from genart_upsample.learned import load_sr_net


def test_restore_loader_returns_fresh_networks() -> None:
    first, second = load_restore_net("denoise"), load_restore_net("denoise")
    assert first is not second
    with torch.no_grad():
        next(first.parameters()).add_(1.0)  # what .to(device) or a fine-tune does in place
    assert not torch.equal(next(first.parameters()), next(second.parameters()))
    assert torch.equal(next(second.parameters()), next(load_restore_net("denoise").parameters()))


def test_sr_loader_returns_fresh_networks() -> None:
    first, second = load_sr_net("shipped"), load_sr_net("shipped")
    assert first is not second
    with torch.no_grad():
        next(first.parameters()).mul_(0)
    assert torch.equal(next(second.parameters()), next(load_sr_net("shipped").parameters()))
