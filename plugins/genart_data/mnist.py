"""MNIST-format IDX files (the format of the original yann.lecun.com files), gzipped or not."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path
from typing import Any

from genart import FileSystemError, GenartError

_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> Any:
    """An IDX file as a numpy array (shape from its header); raises GenartError for a bad file."""
    import numpy as np

    file = Path(path)
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise GenartError(f"{file}: cannot read IDX file ({error})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise GenartError(f"{file}: not an IDX file (bad magic number)")
    dims = data[3]
    header = 4 + 4 * dims
    shape = struct.unpack(f">{dims}I", data[4:header])
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header < expected:
        raise GenartError(f"{file}: truncated IDX file ({len(data) - header} of {expected} bytes)")
    return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=header).reshape(shape)


def idx_header(path: str | Path) -> tuple[int, ...]:
    """The shape an IDX file declares, read from its first bytes (no decoding of the data)."""
    file = Path(path)
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as handle:
            head = handle.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
                raise GenartError(f"{file}: not an IDX file (bad magic number)")
            dims = handle.read(4 * head[3])
    except (OSError, EOFError) as error:
        raise GenartError(f"{file}: cannot read IDX file ({error})") from None
    if len(dims) < 4 * head[3]:
        raise GenartError(f"{file}: truncated IDX header")
    return struct.unpack(f">{head[3]}I", dims)


def find_idx(folder: Path, kind: str, which: str) -> Path:
    """The images (kind='images') or labels file of ``which`` (train/t10k/auto) in ``folder``."""
    if folder.exists() and not folder.is_dir():
        raise FileSystemError(f"MNIST folder {folder} is a file, not a folder")
    if not folder.is_dir():
        raise FileSystemError(f"MNIST folder {folder} not found")
    prefixes = ["train", "t10k"] if which == "auto" else [which]
    for prefix in prefixes:
        for suffix in ("", ".gz"):
            for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte{suffix}",
                         f"{prefix}-{kind}.idx{3 if kind == 'images' else 1}-ubyte{suffix}"):
                if (folder / name).is_file():
                    return folder / name
    raise GenartError(f"no {'/'.join(prefixes)} {kind} IDX file in {folder}")


class MNISTDataset:
    def __init__(self, params: Any) -> None:
        self.params = params
        self.images_path = find_idx(Path(params.path), "images", params.which)

    def native_shape(self) -> tuple[int, int]:
        """(1, side): digits are grey and square; the side comes from the IDX header alone."""
        rows = idx_header(self.images_path)[1:]
        return 1, int(rows[0]) if rows else 28

    def label_names(self) -> list[str]:
        """``"0"`` to ``"9"`` (genart.Labelled) with ``labels=digits``; none with ``labels=none``."""
        if self.params.labels != "digits":
            return []
        try:
            self.labels_path()
        except GenartError as error:  # images without their labels file still train, unconditionally
            print(f"mnist: no labels ({error}); training unlabelled", file=sys.stderr)
            return []
        return [str(digit) for digit in range(10)]

    def labels_path(self) -> Path:
        return find_idx(self.images_path.parent, "labels", self.images_path.name.split("-")[0])

    def labels(self) -> Any:
        """Digit labels (int64) in the same order as :meth:`load`."""
        import torch

        labels = read_idx(self.labels_path())
        labels = labels[: self.params.limit] if self.params.limit else labels
        return torch.from_numpy(labels.astype("int64"))

    def load(self, size: int, channels: int) -> Any:
        import torch
        import torch.nn.functional as F

        array = read_idx(self.images_path)
        if array.ndim != 3:
            raise GenartError(f"{self.images_path}: expected N x rows x cols images, got shape {array.shape}")
        if self.params.limit:
            array = array[: self.params.limit]
        images = torch.from_numpy(array.copy()).unsqueeze(1)
        h = images.shape[2]
        if size != h:
            if h < size <= h + 8:  # pad (the usual 28 -> 32), keeping digits sharp
                total = size - h
                images = F.pad(images, (total // 2, total - total // 2, total // 2, total - total // 2))
            else:
                resized = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True)
                images = resized.round().clamp(0, 255).to(torch.uint8)
        if channels != 1:
            images = images.expand(-1, 3, -1, -1)
            if channels == 4:
                images = torch.cat([images, torch.full_like(images[:, :1], 255)], 1)
        return images.contiguous()
