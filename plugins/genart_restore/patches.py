"""The ``patches`` dataset: many random crops per image at native resolution.

Restoration and super-resolution learn from local texture, so the folder dataset's one resized crop
per image wastes most of each picture and blurs it. Here every image gives crops in proportion to its
area, at its own pixel scale (and optionally at a few smaller scales, the classic SR augmentation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genart.errors import FileSystemError, GenartError
from genart.images import ImageError, convert_channels, is_image_path, open_pil, pil_to_tensor


class PatchDataset:
    def __init__(self, params: Any) -> None:
        self.params = params

    def files(self) -> list[Path]:
        root = Path(self.params.path)
        if not root.is_dir():
            raise FileSystemError(f"patches: {root} is not a folder")
        return sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))

    def load(self, size: int, channels: int) -> torch.Tensor:
        from PIL import Image

        sources: list[torch.Tensor] = []
        skipped = 0
        for file in self.files():
            try:
                picture = open_pil(file)
            except ImageError:
                skipped += 1
                continue
            picture = picture.convert("RGBA" if picture.mode in ("RGBA", "LA", "PA") else "RGB")
            for factor in self.params.scales:
                w, h = round(picture.width * factor), round(picture.height * factor)
                if min(w, h) < size:
                    if factor != self.params.scales[0]:
                        continue
                    grow = size / min(w, h)
                    w, h = max(size, round(w * grow)), max(size, round(h * grow))
                scaled = picture if (w, h) == picture.size else picture.resize((w, h), Image.Resampling.BICUBIC)
                image = convert_channels(pil_to_tensor(scaled), channels)
                sources.append(image.mul(255).round().to(torch.uint8))
        if not sources:
            raise GenartError(f"patches: no readable images in {self.params.path}"
                              + (f" ({skipped} unreadable)" if skipped else ""))
        generator = torch.Generator().manual_seed(self.params.seed)
        areas = torch.tensor([float((s.shape[1] - size + 1) * (s.shape[2] - size + 1)) for s in sources])
        picks = torch.multinomial(areas / areas.sum(), self.params.count, replacement=True, generator=generator)
        out = torch.empty(self.params.count, channels, size, size, dtype=torch.uint8)
        for index, pick in enumerate(picks.tolist()):
            source = sources[pick]
            top = int(torch.randint(source.shape[1] - size + 1, (1,), generator=generator))
            left = int(torch.randint(source.shape[2] - size + 1, (1,), generator=generator))
            out[index] = source[:, top:top + size, left:left + size]
        return out
