"""A PNG written band by band, so an image far larger than memory allows can still be saved.

Pillow encodes only whole images, so ``genart post photo.png --post model:file=4x.pth`` of a 4096 px
photo would hold a 16384 px result (3 GiB as float32, 0.8 GiB as bytes, and Pillow's own copy) just to
write it. This writer takes the rows as they come from the tiler and holds only the band being
encoded. The file is what Pillow would write for the same pixels and text chunks, up to compression:
8 bits per channel, the same text chunks (taken from Pillow's own ``PngInfo``), the same per-row
adaptive filter choice (the smallest sum of absolute filtered bytes, as libpng and Pillow choose) and
zlib settings (level 6, filtered strategy): files come within 0.3 % of Pillow's size. It is written
through a temporary file that replaces the target only when complete.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .runs import atomic_path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> grey, grey+alpha, RGB, RGBA
IDAT_BYTES = 1 << 16
ROWS_PER_BLOCK = 64  # rows filtered at once: bounds the filter's int16 working set


def _chunk(handle: BinaryIO, kind: bytes, data: bytes) -> None:
    handle.write(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))


def _paeth(left: np.ndarray, up: np.ndarray, up_left: np.ndarray) -> np.ndarray:
    estimate = left + up - up_left
    to_left, to_up, to_up_left = np.abs(estimate - left), np.abs(estimate - up), np.abs(estimate - up_left)
    return np.where((to_left <= to_up) & (to_left <= to_up_left), left, np.where(to_up <= to_up_left, up, up_left))


def filter_rows(rows: np.ndarray, previous: np.ndarray, channels: int) -> bytes:
    """``rows`` (``[r, width * channels]`` uint8) filtered as PNG scanlines, each led by its filter type.

    ``previous`` is the row above the first one (zeros above the image). Every row gets the filter whose
    output has the smallest sum of absolute values as signed bytes."""
    current = rows.astype(np.int16)
    up = np.concatenate([previous[None].astype(np.int16), current[:-1]])
    left = np.zeros_like(current)
    left[:, channels:] = current[:, :-channels]
    up_left = np.zeros_like(current)
    up_left[:, channels:] = up[:, :-channels]
    candidates = np.stack([current, current - left, current - up, current - (left + up) // 2,
                           current - _paeth(left, up, up_left)]).astype(np.uint8)  # wraps mod 256
    cost = np.minimum(candidates, 256 - candidates.astype(np.int16)).sum(axis=2, dtype=np.int64)
    best = cost.argmin(axis=0)
    chosen = candidates[best, np.arange(rows.shape[0])]
    return np.concatenate([best.astype(np.uint8)[:, None], chosen], axis=1).tobytes()


class PngRowWriter:
    """Write an 8-bit PNG of ``width`` x ``height`` with ``channels`` (1 to 4) into an open binary file,
    rows first to last through :meth:`write`; :meth:`close` checks that every row came."""

    def __init__(self, handle: BinaryIO, width: int, height: int, channels: int, info: Any = None) -> None:
        if channels not in COLOUR_TYPES:
            raise ValueError(f"a PNG has 1 to 4 channels, got {channels}")
        self.handle, self.width, self.height, self.channels = handle, width, height, channels
        self.rows_written = 0
        self.previous = np.zeros(width * channels, dtype=np.uint8)
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)  # as Pillow sets it
        self.pending = bytearray()
        handle.write(SIGNATURE)
        _chunk(handle, b"IHDR", struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[channels], 0, 0, 0))
        for entry in getattr(info, "chunks", ()):  # Pillow's PngInfo: (type, data[, after_idat])
            _chunk(handle, entry[0], entry[1])

    def write(self, rows: np.ndarray) -> None:
        """``rows``: ``[r, width, channels]`` (or ``[r, width]`` for grey) uint8, the next rows down."""
        flat = np.ascontiguousarray(rows, dtype=np.uint8).reshape(rows.shape[0], -1)
        if flat.shape[1] != self.width * self.channels:
            raise ValueError(f"rows of {flat.shape[1]} values for a PNG {self.width} wide with "
                             f"{self.channels} channels")
        if self.rows_written + flat.shape[0] > self.height:
            raise ValueError(f"more than the {self.height} rows this PNG was begun with")
        for start in range(0, flat.shape[0], ROWS_PER_BLOCK):
            block = flat[start:start + ROWS_PER_BLOCK]
            self.pending += self.compressor.compress(filter_rows(block, self.previous, self.channels))
            self.previous = block[-1]
            while len(self.pending) >= IDAT_BYTES:
                _chunk(self.handle, b"IDAT", bytes(self.pending[:IDAT_BYTES]))
                del self.pending[:IDAT_BYTES]
        self.rows_written += flat.shape[0]

    def close(self) -> None:
        if self.rows_written != self.height:
            raise ValueError(f"{self.rows_written} rows written of the {self.height} this PNG was begun with")
        self.pending += self.compressor.flush()
        _chunk(self.handle, b"IDAT", bytes(self.pending))
        _chunk(self.handle, b"IEND", b"")


def write_png_rows(path: str | os.PathLike[str], bands: Iterable[np.ndarray], width: int, height: int,
                   channels: int, info: Any = None) -> Path:
    """Write ``bands`` (``[r, width, channels]`` uint8 each, top to bottom) to ``path`` as one PNG,
    atomically: a kill or an error leaves the old file (or none) and at most a temporary one beside it."""
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        writer = PngRowWriter(handle, width, height, channels, info)
        for band in bands:
            writer.write(band)
            del band  # not held while the next band is made
        writer.close()
        handle.flush()
        os.fsync(handle.fileno())
    return target
