"""genart.WorkingMemory: a post-processor's own memory counts in the chain's up-front check, and genart run
refuses a chain that cannot fit before it trains (issue 38: "style size ... checked before allocating")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from genart import WorkingMemory
from genart.api import App
from genart.errors import OutOfMemory
from genart.loop.memory import check_chain, plan_chain


class Hungry:
    """Keeps the size, but says it needs ``per_pixel`` bytes per input pixel of its own."""

    calls = 0

    def __init__(self, per_pixel: int = 1000) -> None:
        self.per_pixel = per_pixel

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        Hungry.calls += 1
        return images

    def working_bytes(self, count: int, channels: int, height: int, width: int) -> int:
        return self.per_pixel * height * width


def test_a_processors_own_memory_is_counted_and_named() -> None:
    assert isinstance(Hungry(), WorkingMemory)
    (step,) = plan_chain([("hungry", Hungry())], (2, 3, 100, 100))
    assert step.working == 1000 * 100 * 100
    assert step.held_bytes == 4 * 3 * (2 * 100 * 100 * 3) + 1000 * 100 * 100
    with pytest.raises(OutOfMemory, match=r"'hungry' \(2 image\(s\) of 1000x10000 become 1000x10000x3, 9\.3 GiB of it "
                                          r"the step's own working memory\)"):
        check_chain([("hungry", Hungry())], (2, 3, 10**5 // 10, 1000), available=2**30)


def register_hungry(toy_app: App) -> None:
    from plugin_modules import make_module

    def register_post_processors(register: Any) -> None:
        register("hungry", lambda params, context: Hungry(10**6), description="needs more memory than there is")

    toy_app.register(make_module("genart_hungry_test", register_post_processors=register_post_processors), "hungry")


def test_run_refuses_a_chain_that_cannot_fit_before_training(genart_cli: Any, toy_app: App, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the chain was checked only when sampling began, after the training it had waited for."""
    from genart.loop import memory

    register_hungry(toy_app)
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 10 * 2**20)  # 10 MiB; hungry needs 61 MiB at 8x8
    out = tmp_path / "runs"
    result = genart_cli(["run", "--model", "toy", "--data", "dots", "--post", "hungry", "--out", str(out)],
                        app=toy_app)
    assert result.exit_code == 7, result.output
    assert "working memory" in result.output.strip().splitlines()[-1]
    assert not out.exists() and Hungry.calls == 0
