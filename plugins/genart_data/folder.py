"""A recursive folder of real-world images, decoded once and cropped/resized to the model's size."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genart import GenartError
from genart.images import ImageError, convert_channels, is_image_path, open_pil, pil_to_tensor

from .cache import NothingReadable, cache_base, read_cached, write_cached


class FolderDataset:
    def __init__(self, params: Any) -> None:
        self.params = params
        root = Path(params.path)
        if not root.is_dir():
            raise GenartError(f"image folder {root} not found")
        self.files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))
        if not self.files:
            raise GenartError(f"no image files in {root}")
        self.skipped: list[str] = []

    def load(self, size: int, channels: int) -> Any:
        import torch

        if self.params.cache:
            try:
                return self._load_cached(size, channels)
            except OSError as error:  # unwritable cache folder, full disk: still train, from memory
                print(f"folder: no decode cache ({error}); decoding in memory", file=sys.stderr)
        images, self.skipped = [], []
        for image, problem in self._decoded(size, channels, "decoding"):
            if image is None:
                self.skipped.append(problem)
            else:
                images.append(torch.from_numpy(image))
        if not images:
            raise self._nothing_readable()
        self._report_skipped()
        return torch.stack(images)

    def _load_cached(self, size: int, channels: int) -> Any:
        """Map the decoded images from the cache, decoding into it first when the files changed."""
        base = cache_base(Path(self.params.path), self.files, size, channels, self.params.fit)
        cached = read_cached(base)
        if cached is None:
            try:
                write_cached(base, len(self.files), (channels, size, size),
                             self._decoded(size, channels, "decoding (cached for later runs)"))
            except NothingReadable:
                raise self._nothing_readable() from None
            cached = read_cached(base)
            if cached is None:
                raise OSError(f"cache entry {base} unreadable right after writing it")
        images, self.skipped = cached
        self._report_skipped()
        return images

    def _decoded(self, size: int, channels: int, label: str) -> Iterator[tuple[Any, str]]:
        """(uint8 [C, H, W] array, "") per readable file, in order, or (None, the error) for one that is not."""
        import torch
        from tqdm.auto import tqdm

        for file in tqdm(self.files, desc=label, unit="img", disable=len(self.files) < 200, file=sys.stderr):
            try:
                picture = self._fit(open_pil(file), size)
            except ImageError as error:
                yield None, str(error)
                continue
            tensor = convert_channels(pil_to_tensor(picture), channels)
            yield tensor.mul(255).round().clamp(0, 255).to(torch.uint8).numpy(), ""

    def _report_skipped(self) -> None:
        if self.skipped:
            print(f"folder: skipped {len(self.skipped)} unreadable file(s), e.g. {self.skipped[0]}", file=sys.stderr)

    def _nothing_readable(self) -> GenartError:
        return GenartError(f"none of the {len(self.files)} image files in {self.params.path} could be read")

    def _fit(self, image: Any, size: int) -> Any:
        """Centre-crop to a square (or pad with white) then resize with Lanczos (antialiased)."""
        from PIL import Image, ImageOps

        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("PA", "P") else "RGB") \
                if image.mode not in ("I;16", "I;16B", "I;16L", "I", "F") else image
        if self.params.fit == "crop":
            return ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS) if image.mode not in (
                "I;16", "I;16B", "I;16L", "I", "F") else image.resize((size, size))
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        canvas = Image.new(image.mode, (size, size), "white" if image.mode in ("RGB", "RGBA", "L", "LA") else 0)
        canvas.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
        return canvas
