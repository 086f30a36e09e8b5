"""A recursive folder of real-world images, decoded once and cropped/resized to the model's size."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from genart import GenartError
from genart.images import ImageError, convert_channels, is_image_path, open_pil, pil_to_tensor


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
        from tqdm.auto import tqdm

        images, self.skipped = [], []
        for file in tqdm(self.files, desc="decoding", unit="img", disable=len(self.files) < 200, file=sys.stderr):
            try:
                picture = self._fit(open_pil(file), size)
            except ImageError as error:
                self.skipped.append(str(error))
                continue
            tensor = convert_channels(pil_to_tensor(picture), channels)
            images.append(tensor.mul(255).round().clamp(0, 255).to(torch.uint8))
        if self.skipped:
            print(f"folder: skipped {len(self.skipped)} unreadable file(s), e.g. {self.skipped[0]}", file=sys.stderr)
        if not images:
            raise GenartError(f"none of the {len(self.files)} image files in {self.params.path} could be read")
        return torch.stack(images)

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
