"""Measure what one training image costs in activations, on a throwaway copy, before a large batch runs.

The up-front check in memory.py counts only the batch itself: a model's activations are the model's own
business and can be a thousand times larger (a 256 px VAE batch of 4096 passed that check and was then
killed by the operating system, exit 137, no message). So before a batch that could plausibly not fit,
the loop runs the model's own train step twice on a deep copy, at one and at two images, and counts the
bytes autograd keeps for the backward pass (``saved_tensors_hooks``). The difference is one image's share,
which scales to the real batch. The copy, the forked RNG and the small batches keep the real run's bytes
exactly as they would have been; a model that cannot be copied or stepped at one image is not probed
(the batch-only bound still applies).
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import OutOfMemory
from .amp import autocast_for
from .memory import BATCH_BYTES_PER_VALUE, available_bytes, check_training_batch, gib, shape_text

#: probe only batches whose pixels, at this many bytes of activations per input byte (the largest ratio
#: a built-in model measured is far below it; see tests/core/test_probe.py), could exceed the free memory:
#: the default runs are never probed, so they pay nothing for it
PROBE_RATIO = 1000


@dataclass(frozen=True)
class StepCost:
    """What a training step holds: a fixed part (weights cast for autocast, the model's own) and a part
    that grows with each image of the batch."""

    per_image: int
    fixed: int

    def for_batch(self, batch_size: int, values_per_image: int) -> int:
        return self.fixed + batch_size * (self.per_image + values_per_image * BATCH_BYTES_PER_VALUE)

    def largest_batch(self, free: int, values_per_image: int) -> int:
        return max(0, (free - self.fixed) // max(1, self.per_image + values_per_image * BATCH_BYTES_PER_VALUE))


class _Saved:
    """One tensor autograd saved; its finalizer runs when the graph lets it go."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor


class SavedBytes:
    """The most bytes of distinct storage that autograd's saved tensors held at one time."""

    def __init__(self) -> None:
        self.live: dict[int, list[int]] = {}  # storage address -> [bytes, saved references]
        self.current = 0
        self.peak = 0

    def pack(self, tensor: Any) -> _Saved:
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
        entry = self.live.get(address)
        if entry is None:
            entry = self.live[address] = [int(storage.nbytes()), 0]
            self.current += entry[0]
            self.peak = max(self.peak, self.current)
        entry[1] += 1
        saved = _Saved(tensor)
        weakref.finalize(saved, self._release, address)
        return saved

    @staticmethod
    def unpack(saved: _Saved) -> Any:
        return saved.tensor

    def _release(self, address: int) -> None:
        entry = self.live.get(address)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[address]


def saved_peak(step: Callable[[], Any]) -> int:
    """The peak of autograd's saved bytes while ``step`` runs (its graphs freed before returning)."""
    import torch

    counter = SavedBytes()
    with torch.autograd.graph.saved_tensors_hooks(counter.pack, counter.unpack):
        step()
    return counter.peak


def measure_step(model: Any, method: str, batch_of: Callable[[int], tuple[Any, ...]], autocast: Any,
                 device: Any) -> StepCost | None:
    """One image's and the fixed share of a train step's saved activations, from steps at 1 and 2 images
    of a deep copy (forked RNG); None when the model cannot be copied or stepped that small."""
    import torch

    devices = [device] if getattr(device, "type", "cpu") == "cuda" else []
    peaks = []
    with torch.random.fork_rng(devices=devices):
        for images in (1, 2):
            try:
                twin = copy.deepcopy(model)
                inputs = batch_of(images)

                def step(twin: Any = twin, inputs: tuple[Any, ...] = inputs) -> Any:
                    with autocast:
                        return getattr(twin, method)(*inputs)

                peaks.append(saved_peak(step))
            except Exception:  # noqa: BLE001 - a probe that cannot run says nothing; the real step will
                return None
    per_image = max(0, peaks[1] - peaks[0])
    return StepCost(per_image=per_image, fixed=max(0, peaks[0] - per_image))


def worth_probing(batch_size: int, values_per_image: int, free: int) -> bool:
    return batch_size * values_per_image * BATCH_BYTES_PER_VALUE * PROBE_RATIO > free


def check_training_step(model: Any, method: str, batch_of: Callable[[int], tuple[Any, ...]], autocast: Any,
                        batch_size: int, image_shape: tuple[int, ...], device: Any) -> StepCost | None:
    """Raise OutOfMemory (one line, with the measured share and the batch that would fit) when a batch of
    ``batch_size`` cannot fit; run only for batches large enough to be in doubt."""
    values = math.prod(int(extent) for extent in image_shape)
    free = available_bytes(device)
    if free is None or not worth_probing(batch_size, values, free):
        return None
    cost = measure_step(model, method, batch_of, autocast, device)
    if cost is None:
        return None
    needed = cost.for_batch(batch_size, values)
    if needed > free:
        fits = cost.largest_batch(free, values)
        advice = f"at most {fits} could fit" if fits > 0 else "not even one image fits; use smaller images"
        raise OutOfMemory(f"training a batch of {batch_size} images of {shape_text(image_shape)} needs at least "
                          f"{gib(needed)} (a probe step kept {cost.per_image / 2**20:.1f} MiB of activations per "
                          f"image), more than the {gib(free)} of memory available; lower --batch-size ({advice})")
    return cost


def check_training_memory(model: Any, data: Any, labels: Any, batch_size: int, device: Any, precision: Any,
                          channels_last: bool) -> None:
    """Before the run folder exists: the batch itself, then (for a batch in doubt) the model's activations,
    measured with the autocast, layout and train-step method the loop will use."""
    import torch

    image_shape = tuple(int(extent) for extent in data.shape[1:])
    check_training_batch(batch_size, image_shape, device)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    def batch_of(images: int) -> tuple[Any, ...]:
        index = torch.arange(min(images, int(data.shape[0])))
        batch = data[index.to(data.device)].to(device).float().div_(255).contiguous(memory_format=layout)
        return (batch,) if labels is None else (batch, labels[index].to(device))

    method = "train_step" if labels is None else "train_step_labelled"
    check_training_step(model, method, batch_of, autocast_for(device, precision), batch_size, image_shape, device)
