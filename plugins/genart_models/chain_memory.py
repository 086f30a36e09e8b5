"""What a --post chain will hold in memory, known before any image is processed.

``genart post photo.png --post upsample:scale=4`` three times makes a 32768 x 32768 image from a
512 px one: 12 GiB of float32 for the last result alone, and the chain holds more than that at
once. Today it allocates until the operating system kills it. Here each step's output size is
learnt first, from the post-processor's own ``output_size(height, width)`` where it has one and
otherwise by running it on a small probe image, and the chain's peak is bounded from below by what
``genart.api.apply_chain`` must hold during each step: the step's input, the post-processor's
returned tensor and the result it is copied into (all float32). When that exceeds the memory
available the chain is refused with the estimate, before any work.

This module uses only torch and public genart names so the core can host it unchanged: it belongs
beside ``check_training_batch`` and ``check_samples`` in the core's memory module, called by
``genart post`` before the loop and by ``genart run``/``sample`` for their chains (REQUESTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genart.api import available_bytes, gib
from genart.errors import OutOfMemory

PROBE = 64
FLOAT = 4


@dataclass(frozen=True)
class Step:
    spec: str
    before: tuple[int, int, int, int]  # N, C, H, W
    after: tuple[int, int, int, int]

    @property
    def held_bytes(self) -> int:
        """The input, the processor's output and apply_chain's result tensor, all float32."""
        return FLOAT * (_count(self.before) + 2 * _count(self.after))


def _count(shape: tuple[int, ...]) -> int:
    total = 1
    for extent in shape:
        total *= int(extent)
    return total


def output_shape(processor: Any, shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The shape ``processor`` makes of a batch of ``shape``, without processing anything that size."""
    import torch

    n, c, h, w = shape
    declared = getattr(processor, "output_size", None)
    if callable(declared):
        oh, ow = declared(h, w)
        return n, c, int(oh), int(ow)
    try:
        with torch.inference_mode():
            probe = processor(torch.full((1, c, PROBE, PROBE), 0.5))
        ph, pw = probe.shape[-2:]
        channels = int(probe.shape[1])
    except Exception:  # a processor that cannot take the probe: assume it keeps the size (a lower bound)
        return shape
    return n, channels, max(1, round(h * ph / PROBE)), max(1, round(w * pw / PROBE))


def plan_chain(chain: Sequence[tuple[str, Any]], shape: tuple[int, int, int, int]) -> list[Step]:
    steps = []
    for spec, processor in chain:
        after = output_shape(processor, shape)
        steps.append(Step(spec, shape, after))
        shape = after
    return steps


def check_chain(chain: Sequence[tuple[str, Any]], shape: tuple[int, int, int, int],
                available: int | None = None) -> list[Step]:
    """Raise OutOfMemory (one line, with the estimate) when the chain's largest step cannot fit."""
    steps = plan_chain(chain, shape)
    if not steps:
        return steps
    free = available if available is not None else available_bytes()
    worst = max(steps, key=lambda step: step.held_bytes)
    if free is not None and worst.held_bytes > free:
        n, c, h, w = worst.after
        _, _, bh, bw = worst.before
        raise OutOfMemory(f"the --post chain needs at least {gib(worst.held_bytes)} at {worst.spec!r} "
                          f"({n} image(s) of {bh}x{bw} become {w}x{h}x{c}), more than the {gib(free)} of memory "
                          "available; use fewer or smaller steps, or smaller images")
    return steps
