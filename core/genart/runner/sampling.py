"""Drawing samples: every picture a sampling pass makes, written as a run's files, and the memory and
disk a request for ``n`` of them needs, checked before any is drawn."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract.protocols import GenerativeModel
from ..errors import DiskFullError
from ..loop import memory
from ..loop.memory import MIN_PNG_BYTES, ChainBudget, gib, refuse_if_too_big
from .pipeline import SAMPLE_BATCH, Chain, finish_chain

#: grid.png (and grid-raw.png, comparison.png) show the first this many samples (a 16 x 16 grid)
GRID_MAX = 256


def render_samples(model: Any, chain: list[Any], n: int, seed: int, device: Any,
                   each: Callable[[int, Any], None] | None = None, progress: bool = False) -> dict[str, Any]:
    """Every picture a sampling pass makes: each sample (after the chain) is handed to ``each(index, image)``
    as its batch is done, and the grids (grid, and with a chain grid-raw and comparison) of the first
    GRID_MAX come back, so memory stays bounded whatever ``n`` is. ``genart run``/``sample`` and
    ``reproduce`` share it, so both make exactly the same tensors.

    Samples are drawn SAMPLE_BATCH at a time from one generator, and the chain runs on each batch, so
    sample ``i`` is the same for every ``n > i`` (unless a post-processor's output depends on the other
    images of its batch); for ``n`` up to one batch this is a single draw and a single chain pass."""
    import torch

    from ..images import make_grid, side_by_side
    from ..records.console import progress as progress_bar
    from .pipeline import apply_chain, sample_batches

    raws: list[Any] = []
    finals: list[Any] = []
    kept = index = 0
    budget = ChainBudget(chain)
    bar = progress_bar(total=n, desc="sample", disable=not progress)
    for raw in sample_batches(model, n, seed):
        budget.check(tuple(raw.shape))  # before the chain's first step: refused in one line, not killed
        final = apply_chain(chain, raw, device) if chain else raw
        if each is not None:
            for image in final:
                each(index, image)
                index += 1
        if kept < GRID_MAX:
            raws.append(raw[:GRID_MAX - kept])
            finals.append(final[:GRID_MAX - kept])
            kept += raws[-1].shape[0]
        bar.update(raw.shape[0])
    bar.close()
    raw_all, final_all = torch.cat(raws), torch.cat(finals)
    out = {"grid": make_grid(final_all)}
    if chain:
        grid_raw = make_grid(raw_all)
        out["grid-raw"] = grid_raw
        if grid_raw.shape[1:] != out["grid"].shape[1:]:
            import torch.nn.functional as F

            grid_raw = F.interpolate(grid_raw[None], size=out["grid"].shape[1:], mode="nearest")[0]
        out["comparison"] = side_by_side(grid_raw, out["grid"])
    return out


def write_samples(folder: Path, model: GenerativeModel, chain: Chain, n: int, seed: int, device: Any,
                  recipe: dict[str, Any] | None = None, progress: bool = False) -> None:
    """samples/NNNN.png (after the chain), written batch by batch, then grid.png, and grid-raw.png +
    comparison.png with a chain (of the first ``GRID_MAX`` samples, see render_samples).

    Each PNG carries ``recipe`` (see genart.records.reproduce.sample_recipe) with its own kind and index."""
    from ..images import save_image

    def tagged(kind: str, **more: Any) -> dict[str, Any] | None:
        return {**recipe, "kind": kind, **more} if recipe is not None else None

    samples = folder / "samples"
    samples.mkdir(parents=True, exist_ok=True)

    watch = DiskWatch(folder, n)

    def write(index: int, image: Any) -> None:
        path = samples / f"{index:04d}.png"
        save_image(image, path, overwrite=True, recipe=tagged("sample", index=index))
        watch.wrote(path)

    pictures = render_samples(model, chain, n, seed, device, write, progress=progress)
    for kind in ("grid", "grid-raw", "comparison"):
        if kind in pictures:
            save_image(pictures[kind], folder / f"{kind}.png", overwrite=True, recipe=tagged(kind))
    finish_chain(chain, folder)


def check_samples(count: int, image_shape: tuple[int, ...], folder: Any = None, chain: Chain | None = None) -> None:
    """``count`` samples: in memory one batch and the grid's share, raw and post-processed, in float32
    (see render_samples), and the ``chain`` on a batch (so ``genart run`` refuses it before training, not
    after); on disk at least a minimal PNG each in ``folder``."""
    pixels = math.prod(int(extent) for extent in image_shape)
    shape = memory.shape_text(image_shape)
    held = min(count, GRID_MAX + SAMPLE_BATCH)
    refuse_if_too_big(held * pixels * 4 * 2, f"-n {count} samples of {shape}", "-n (or sample in several runs)")
    if chain and count > 0:
        memory.check_chain(chain, (min(count, SAMPLE_BATCH), *image_shape))
    free = memory.free_disk_bytes(folder) if folder is not None else None
    needed = count * MIN_PNG_BYTES
    if free is not None and needed > free:
        raise DiskFullError(f"-n {count} samples need at least {gib(needed)} on disk, more than the {gib(free)} "
                            f"free for {folder}; lower -n")


class DiskWatch:
    """check_samples can only bound the disk from below (a minimal PNG each); once the first batch is on
    disk its real size is known, so ``-n 10**8`` is refused then, in one line, instead of filling the disk."""

    def __init__(self, folder: Path, total: int) -> None:
        self.folder, self.total = folder, total
        self.count = self.bytes = 0

    def wrote(self, path: Path) -> None:
        self.count += 1
        self.bytes += path.stat().st_size
        if self.count == min(self.total, SAMPLE_BATCH) and self.count < self.total:
            free = memory.free_disk_bytes(self.folder)
            needed = (self.total - self.count) * self.bytes // self.count
            if free is not None and needed > free:
                raise DiskFullError(f"-n {self.total} samples need about {gib(needed + self.bytes)} on disk (the first "
                                    f"{self.count} took {self.bytes / self.count / 1024:.1f} KiB each), more than the "
                                    f"{gib(free + self.bytes)} free for {self.folder}; lower -n")

