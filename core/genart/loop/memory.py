"""Refuse work whose memory cost is known up front and cannot fit, before allocating any of it.

A batch of 10^8 images or ``-n 10^11`` samples would otherwise allocate until the operating system
kills the process (or swap stalls it for minutes). The estimates here are lower bounds (the tensors
genart itself must hold, not a model's activations), so a refusal is never wrong; what does pass can
still run out later, which the error mapping in errors.py reports as one line.
"""

from __future__ import annotations

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


def check_training_batch(batch_size: int, image_shape: tuple[int, ...], device: Any) -> None:
    """One training batch: uint8 gather + float32 copy + its channels_last copy, on host or device."""
    pixels = 1
    for extent in image_shape:
        pixels *= int(extent)
    needed = batch_size * pixels * (1 + 4 + 4) + batch_size * 8  # + the int64 batch indices
    shape = "x".join(str(int(extent)) for extent in image_shape)
    refuse_if_too_big(needed, f"a batch of {batch_size} images of {shape}", "--batch-size", device)


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
