"""A decoded folder kept on disk as one uint8 ``.npy`` array and memory-mapped by every later run.

Decoding and resizing thousands of photos takes minutes, and stacking a Python list of them needs twice
their decoded size in memory. So the folder dataset decodes straight into a cache file, and each later
run with the same files (path, size and modification time of every one), model size, channels and fit
maps that file instead of decoding: nothing is decoded again, and the OS pages images in as batches
touch them, so a folder larger than memory still trains. Cache files are written beside their final
name and renamed into place, so an interrupted run never leaves a half-written cache behind; a folder
keeps one cache per (size, channels, fit), replaced when its files change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from genart.api import atomic_path, write_json_atomic

#: bump whenever decoding would turn the same file into different pixels
CACHE_VERSION = 1


def cache_root() -> Path:
    """genart's cache folder: ``GENART_CACHE_DIR``, else ``$XDG_CACHE_HOME/genart``, else ``~/.cache/genart``."""
    if os.environ.get("GENART_CACHE_DIR"):
        return Path(os.environ["GENART_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genart"


def cache_dir() -> Path:
    """Where decoded folders go."""
    return cache_root() / "folders"


def cache_base(root: Path, files: Sequence[Path], size: int, channels: int, fit: str) -> Path:
    """Where this folder's decoded images live: one name per (folder, size, channels, fit), plus a hash
    of every file's relative path, size and modification time, so any change makes a new entry."""
    setting = hashlib.sha256(json.dumps([str(root.resolve()), size, channels, fit]).encode()).hexdigest()[:16]
    listing = []
    for file in files:
        stat = file.stat()
        listing.append([str(file.relative_to(root)), stat.st_size, stat.st_mtime_ns])
    contents = hashlib.sha256(json.dumps([CACHE_VERSION, listing]).encode()).hexdigest()[:16]
    return cache_dir() / f"{setting}-{contents}"


def read_cached(base: Path) -> tuple[Any, list[str], list[int]] | None:
    """The cached images, memory-mapped copy-on-write (writes never reach the file), the files that could
    not be read when it was made and their positions in the file list (so labels can skip them too);
    None when there is no complete, consistent entry."""
    import numpy as np
    import torch

    try:
        info = json.loads(base.with_suffix(".json").read_text())
        array = np.load(base.with_suffix(".npy"), mmap_mode="c")
    except (OSError, ValueError):
        return None
    if array.dtype != np.uint8 or list(array.shape) != info.get("shape"):
        return None
    skipped = list(info.get("skipped", []))
    positions = info.get("skipped_index", [] if not skipped else None)
    if positions is None or len(positions) != len(skipped):  # an entry from before positions were kept
        return None
    return torch.from_numpy(array), skipped, [int(position) for position in positions]


def write_cached(base: Path, count: int, item_shape: tuple[int, ...], decoded: Iterable[tuple[Any, str]]) -> None:
    """Fill a new cache entry from ``decoded``: (uint8 array, "") per readable file, (None, the error)
    per unreadable one. Raises :class:`NothingReadable` (and writes nothing) when no file could be read.
    Old entries of the same folder and setting are removed once the new one is in place."""
    import numpy as np

    skipped: list[str] = []
    positions: list[int] = []
    with atomic_path(base.with_suffix(".npy")) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(count, *item_shape))
        kept = 0
        for position, (image, error) in enumerate(decoded):
            if image is None:
                skipped.append(error)
                positions.append(position)
                continue
            array[kept] = image
            kept += 1
        if kept == 0:
            del array
            raise NothingReadable(skipped)
        if kept < count:  # unreadable files: the array must end at the last good image
            with atomic_path(tmp) as shorter:
                with open(shorter, "wb") as handle:
                    np.save(handle, array[:kept])
                del array
        else:
            array.flush()
            del array
    write_json_atomic(base.with_suffix(".json"), {"shape": [kept, *item_shape], "skipped": skipped,
                                                  "skipped_index": positions, "version": CACHE_VERSION})
    setting = base.name.split("-")[0]
    for old in base.parent.glob(f"{setting}-*"):
        if old.stem != base.name:
            with contextlib.suppress(OSError):  # still mapped elsewhere (Windows): left for a later run
                old.unlink(missing_ok=True)


class NothingReadable(Exception):
    """No file of the folder could be decoded; ``args[0]`` holds the errors."""
