"""Refuse work whose memory cost is known up front and cannot fit, before allocating any of it.

A batch of 10^8 images or ``-n 10^11`` samples would otherwise allocate until the operating system
kills the process (or swap stalls it for minutes). The estimates here are lower bounds (the tensors
genart itself must hold, not a model's activations), so a refusal is never wrong; what does pass can
still run out later, which the error mapping in errors.py reports as one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import OutOfMemory


def available_bytes(device: Any = None) -> int | None:
    """Free memory on ``device`` (CUDA: the card's free memory; otherwise the host's MemAvailable)."""
    if device is not None and getattr(device, "type", None) == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def gib(count: float) -> str:
    return f"{count / 2**30:.1f} GiB"


def refuse_if_too_big(needed: int, what: str, lower: str, device: Any = None) -> None:
    """Raise OutOfMemory when ``needed`` bytes exceed the memory there is, with the estimate."""
    free = available_bytes(device)
    if free is not None and needed > free:
        raise OutOfMemory(f"{what} needs at least {gib(needed)}, more than the {gib(free)} of memory available; "
                          f"lower {lower}")


#: bytes per image value the loop itself holds for a training batch: the uint8 gather, its float32 copy and
#: that copy's channels_last copy
BATCH_BYTES_PER_VALUE = 1 + 4 + 4


def shape_text(shape: Sequence[int]) -> str:
    """An image shape as the refusals print it: ``3x256x256``."""
    return "x".join(str(int(extent)) for extent in shape)


def check_training_batch(batch_size: int, image_shape: tuple[int, ...], device: Any) -> None:
    """One training batch (BATCH_BYTES_PER_VALUE per value), on host or device."""
    values = math.prod(int(extent) for extent in image_shape)
    needed = batch_size * values * BATCH_BYTES_PER_VALUE + batch_size * 8  # + the int64 batch indices
    refuse_if_too_big(needed, f"a batch of {batch_size} images of {shape_text(image_shape)}", "--batch-size", device)


#: the smallest PNG file there is (signature, IHDR, one IDAT, IEND): a lower bound for any sample's file
MIN_PNG_BYTES = 67


def free_disk_bytes(folder: Any) -> int | None:
    """Free bytes for an unprivileged writer on the file system that holds ``folder`` (or its nearest
    existing parent), None when unknown."""
    import os
    from pathlib import Path

    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        stats = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return int(stats.f_bavail * stats.f_frsize)


# -- a --post chain -----------------------------------------------------------------------------------
# ``genart post photo.png --post upsample:scale=4`` three times makes a 32768 x 32768 image from a 512 px
# one: 12 GiB of float32 for the last result alone. Each step's output size is learnt first, from the
# post-processor's own ``output_size(height, width)``; one without it is taken to keep the size (a lower
# bound, never a wrong refusal; running it on a probe image instead would feed a stateful processor, such
# as a palette that locks to the first image it sees, a grey square). The chain's peak is bounded from
# below by what ``apply_chain`` must hold during each step: the step's input, the post-processor's
# returned tensor and the result it is copied into.

FLOAT = 4


@dataclass(frozen=True)
class ChainStep:
    spec: str
    before: tuple[int, int, int, int]  # N, C, H, W
    after: tuple[int, int, int, int]
    streamed: bool = False  # its output goes into the file band by band (genart.Bands), never whole
    working: int = 0  # what the processor says it needs of its own (genart.WorkingMemory)

    @property
    def held_bytes(self) -> int:
        """The input, the processor's output and apply_chain's result tensor, all float32 (a streamed
        step holds one band of output: counted as nothing, the bound stays a lower one), and the
        processor's own working memory."""
        tensors = FLOAT * (math.prod(self.before) + (0 if self.streamed else 2 * math.prod(self.after)))
        return tensors + self.working


def output_shape(processor: Any, shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The shape ``processor`` makes of a batch of ``shape``, from its ``output_size`` (else the same)."""
    n, c, h, w = shape
    from ..contract.protocols import OutputSize

    if isinstance(processor, OutputSize):
        oh, ow = processor.output_size(h, w)
        return n, c, int(oh), int(ow)
    return shape


def working_bytes(processor: Any, shape: tuple[int, int, int, int]) -> int:
    """What ``processor`` needs of its own for a batch of ``shape`` (genart.WorkingMemory), else 0."""
    from ..contract.protocols import WorkingMemory

    return max(0, int(processor.working_bytes(*shape))) if isinstance(processor, WorkingMemory) else 0


def plan_chain(chain: Sequence[tuple[str, Any]], shape: tuple[int, int, int, int],
               streamed: bool = False) -> list[ChainStep]:
    steps = []
    for index, (spec, processor) in enumerate(chain):
        after = output_shape(processor, shape)
        steps.append(ChainStep(spec, shape, after, streamed and index == len(chain) - 1,
                               working_bytes(processor, shape)))
        shape = after
    return steps


def check_chain(chain: Sequence[tuple[str, Any]], shape: tuple[int, ...], available: int | None = None,
                streamed: bool = False) -> list[ChainStep]:
    """Raise OutOfMemory (one line, with the estimate) when the chain's largest step cannot fit;
    ``streamed``: the last step's output is written band by band (``genart.Bands``)."""
    n, c, h, w = (int(extent) for extent in shape)
    steps = plan_chain(chain, (n, c, h, w), streamed)
    if not steps:
        return steps
    free = available if available is not None else available_bytes()
    worst = max(steps, key=lambda step: step.held_bytes)
    if free is not None and worst.held_bytes > free:
        n, c, h, w = worst.after
        _, _, bh, bw = worst.before
        own = f", {gib(worst.working)} of it the step's own working memory" if worst.working else ""
        raise OutOfMemory(f"the --post chain needs at least {gib(worst.held_bytes)} at {worst.spec!r} "
                          f"({n} image(s) of {bw}x{bh} become {w}x{h}x{c}{own}), more than the {gib(free)} of "
                          "memory available; use fewer or smaller steps, or smaller images")
    return steps


class ChainBudget:
    """:func:`check_chain` for every new input shape, once: a folder of same-size images is planned once."""

    def __init__(self, chain: Sequence[tuple[str, Any]]) -> None:
        self.chain = chain
        self.checked: set[tuple[int, ...]] = set()

    def check(self, shape: tuple[int, ...], streamed: bool = False) -> None:
        if (*shape, streamed) not in self.checked and self.chain:
            check_chain(self.chain, shape, streamed=streamed)
            self.checked.add((*shape, streamed))
