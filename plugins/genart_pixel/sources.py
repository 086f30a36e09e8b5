"""Pixels to extract a palette from: one image, or every image in a folder (searched recursively)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.images import ImageError, is_image_path, load_image

#: pixels kept per file when a folder is read (a fixed stride), so big folders stay cheap
PER_FILE = 1 << 14


def image_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
    return [path]


def read_pixels(source: str, threshold: float) -> Any:
    """The opaque pixels of ``source`` as ``[P, 3]`` sRGB floats; a folder gives a fixed share per file."""
    import torch

    path = Path(source)
    if not path.exists():
        raise ValueError(f"extract={source}: no such file or folder")
    files = image_files(path)
    if not files:
        raise ValueError(f"extract={source}: no images in that folder")
    chunks = []
    for file in files:
        try:
            image = load_image(file, 4)
        except ImageError as error:
            raise ValueError(f"extract={source}: {error}") from None
        pixels = image[:3].permute(1, 2, 0)[image[3] >= threshold]
        if len(files) > 1:
            pixels = pixels[:: max(1, -(-pixels.shape[0] // PER_FILE))]
        chunks.append(pixels)
    pixels = torch.cat(chunks)
    if pixels.shape[0] == 0:
        raise ValueError(f"extract={source}: every pixel is transparent")
    return pixels
