"""Memory known before the work: a --post chain whose images cannot fit is refused up front."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from genart.api import App, build_chain
from genart.errors import OutOfMemory
from genart.loop.memory import check_chain, plan_chain
from genart.testing import build_context

THREE_X4 = ["upsample:scale=4", "upsample:scale=4", "upsample:scale=4"]


def spy(chain: list[tuple[str, Any]]) -> list[tuple[int, ...]]:
    """Record every shape a post-processor of the chain is called on."""
    seen: list[tuple[int, ...]] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner
            if hasattr(inner, "output_size"):
                self.output_size = inner.output_size

        def __call__(self, images: torch.Tensor) -> Any:
            seen.append(tuple(images.shape))
            return self.inner(images)

    for index, (spec, processor) in enumerate(chain):
        chain[index] = (spec, Spy(processor))
    return seen


def test_three_x4_upsamples_of_512_px_are_refused_before_allocating(builtin_app: App) -> None:
    chain = list(build_chain(build_context(builtin_app), THREE_X4))
    seen = spy(chain)
    steps = plan_chain(chain, (1, 3, 512, 512))
    assert [step.after[-1] for step in steps] == [2048, 8192, 32768]
    # the last step holds its 8192 px input, the upsampler's 32768 px output and the chain's copy of it
    assert steps[-1].held_bytes == 4 * 3 * (8192**2 + 2 * 32768**2)
    seen.clear()
    with pytest.raises(OutOfMemory, match=r"needs at least 24\.8 GiB at 'upsample:scale=4' \(1 image\(s\) of "
                                          r"8192x8192 become 32768x32768x3\), more than the 16\.0 GiB"):
        check_chain(chain, (1, 3, 512, 512), available=16 * 2**30)
    assert seen == []  # sizes come from the processors' output_size: nothing ran


def test_this_machine_refuses_it_too(builtin_app: App) -> None:
    """On any machine with less than 24.8 GiB free (every CI runner), with the real MemAvailable."""
    from genart.api import available_bytes

    free = available_bytes()
    if free is None or free > 24 * 2**30:
        pytest.skip("this machine has the memory for it")
    chain = list(build_chain(build_context(builtin_app), THREE_X4))
    with pytest.raises(OutOfMemory, match="more than the"):
        check_chain(chain, (1, 3, 512, 512))


def test_a_chain_that_fits_passes_and_declared_sizes_skip_the_probe(builtin_app: App, model_file: Any) -> None:
    chain = list(build_chain(build_context(builtin_app), ["upsample:scale=2", f"model:file={model_file('ESRGAN')}"]))
    seen = spy(chain)
    steps = check_chain(chain, (2, 4, 100, 60))
    assert [step.after for step in steps] == [(2, 4, 200, 120), (2, 4, 800, 480)]
    assert seen == []  # both declare their output size (genart.OutputSize)


def test_the_model_post_processor_refuses_an_output_that_cannot_fit(builtin_app: App, model_file: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import genart.loop.memory as memory

    processor = build_context(builtin_app).build("post", f"model:file={model_file('ESRGAN')}")
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**20)
    with pytest.raises(OutOfMemory, match="needs at least"):
        processor(torch.rand(1, 3, 64, 64))
