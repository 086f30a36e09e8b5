"""A recursive folder of real-world images, decoded once and cropped/resized to the model's size."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from genart import FileSystemError, GenartError
from genart.images import ImageError, convert_channels, is_image_path, open_pil, pil_to_tensor

from .background import composite, parse_background
from .cache import NothingReadable, cache_base, read_cached, write_cached

#: modes whose pixels carry no colour: a folder of only these trains a grey model
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})
#: files looked at to choose the folder's shape (spread evenly over the sorted list)
SHAPE_SAMPLE = 256
#: modes with an alpha band (palette files carry theirs as "transparency" in the header)
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
#: at most this many alpha files are decoded to see whether any pixel is transparent (exported photos are
#: often RGBA with a solid alpha: those stay colour)
ALPHA_CHECKS = 16


def transparent(image: Any) -> bool:
    """Whether any pixel of the (open) PIL image is less than fully opaque."""
    converted = image.convert("RGBA") if image.mode not in ("RGBA", "LA") else image
    low, _ = converted.getchannel("A").getextrema()
    return bool(low < 255)


class FolderDataset:
    def __init__(self, params: Any) -> None:
        self.params = params
        root = Path(params.path)
        if root.exists() and not root.is_dir():
            raise FileSystemError(f"image folder {root} is a file, not a folder (give the folder holding the images)")
        if not root.is_dir():
            raise FileSystemError(f"image folder {root} not found")
        self.files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))
        if not self.files:
            raise GenartError(f"no image files in {root}")
        self.skipped: list[str] = []
        #: positions in ``files`` of the files the last load skipped (their labels go too)
        self.skipped_index: list[int] = []
        self.background = parse_background(params.background)
        self.classes: list[str] = []
        self.file_labels: list[int] = []
        if getattr(params, "labels", "none") == "folders":
            self.classes, self.file_labels = folder_labels(root, self.files)

    def native_shape(self) -> tuple[int, int]:
        """(channels, side) to train at. Channels: 1 when every sampled file is grey; 4 when every sampled
        file has an alpha channel, some of it is really transparent, and ``background`` is left at white
        (a folder of sprites cut out on transparency: the model learns the alpha and writes transparent
        samples, instead of sprites pasted on white); else 3. A ``background`` other than white asks for the
        sprites laid on that colour, so 3. The side is the median short side, or ``size=``, rounded down
        to a multiple of 4 and kept within 28..64 px so that the default GAN takes it and a CPU run stays
        minutes, not hours."""
        from PIL import Image

        step = max(1, len(self.files) // SHAPE_SAMPLE)
        sides, colour, alpha, opaque_checks, see_through = [], False, True, 0, False
        for file in self.files[::step][:SHAPE_SAMPLE]:
            try:
                with Image.open(file) as image:  # the header, and for a few alpha files their alpha band
                    sides.append(min(image.size))
                    colour = colour or image.mode not in GREY_MODES
                    has_alpha = image.mode in ALPHA_MODES or "transparency" in image.info
                    alpha = alpha and has_alpha
                    if has_alpha and not see_through and opaque_checks < ALPHA_CHECKS:
                        opaque_checks += 1
                        see_through = transparent(image)
            except (OSError, ValueError, Image.DecompressionBombError):
                continue
        if not colour and sides:
            channels = 1
        else:
            sprites = sides and alpha and see_through and self.background == (255, 255, 255)
            channels = 4 if sprites else 3
        if self.params.size:
            return channels, self.params.size
        side = sorted(sides)[len(sides) // 2] if sides else 64
        side = min(64, max(28, side))
        return channels, side - side % 4

    def load(self, size: int, channels: int) -> Any:
        import torch

        if self.params.cache:
            try:
                return self._load_cached(size, channels)
            except OSError as error:  # unwritable cache folder, full disk: still train, from memory
                print(f"folder: no decode cache ({error}); decoding in memory", file=sys.stderr)
        images, self.skipped, self.skipped_index = [], [], []
        for position, (image, problem) in enumerate(self._decoded(size, channels, "decoding")):
            if image is None:
                self.skipped.append(problem)
                self.skipped_index.append(position)
            else:
                images.append(torch.from_numpy(image))
        if not images:
            raise self._nothing_readable(self.skipped)
        self._report_skipped()
        return torch.stack(images)

    def _load_cached(self, size: int, channels: int) -> Any:
        """Map the decoded images from the cache, decoding into it first when the files changed."""
        setting = self.params.fit if self.background == (255, 255, 255) else \
            f"{self.params.fit},background={self.background}"
        base = cache_base(Path(self.params.path), self.files, size, channels, setting)
        cached = read_cached(base)
        if cached is None:
            try:
                write_cached(base, len(self.files), (channels, size, size),
                             self._decoded(size, channels, "decoding (cached for later runs)"))
            except NothingReadable as error:
                raise self._nothing_readable(list(error.args[0]) if error.args else []) from None
            cached = read_cached(base)
            if cached is None:
                raise OSError(f"cache entry {base} unreadable right after writing it")
        images, self.skipped, self.skipped_index = cached
        self._report_skipped()
        return images

    # -- labels (genart.Labelled) -------------------------------------------------------------------
    def label_names(self) -> list[str]:
        """With ``labels=folders``: the first-level sub-folder names (sorted); else none."""
        return list(self.classes)

    def labels(self) -> Any:
        """The sub-folder of each image the last ``load`` returned (skipped files left out)."""
        import torch

        skipped = set(self.skipped_index)
        return torch.tensor([label for position, label in enumerate(self.file_labels) if position not in skipped],
                            dtype=torch.int64)

    def _decoded(self, size: int, channels: int, label: str) -> Iterator[tuple[Any, str]]:
        """(uint8 [C, H, W] array, "") per readable file, in order, or (None, the error) for one that is not."""
        import torch

        from genart.api import progress

        for file in progress(self.files, desc=label, unit="img", disable=len(self.files) < 200):
            try:
                picture = self._fit(open_pil(file), size)
            except ImageError as error:
                yield None, str(error)
                continue
            tensor = pil_to_tensor(picture)
            if channels in (1, 3) and self.background != (255, 255, 255):
                tensor = composite(tensor, self.background)
            tensor = convert_channels(tensor, channels)
            yield tensor.mul(255).round().clamp(0, 255).to(torch.uint8).numpy(), ""

    def _report_skipped(self) -> None:
        if self.skipped:
            print(f"folder: skipped {len(self.skipped)} unreadable file(s), e.g. {self.skipped[0]}", file=sys.stderr)

    def _nothing_readable(self, errors: list[str]) -> GenartError:
        first = f"; e.g. {errors[0]}" if errors else ""
        return GenartError(f"none of the {len(self.files)} image files in {self.params.path} could be read{first}")

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


def folder_labels(root: Path, files: list[Path]) -> tuple[list[str], list[int]]:
    """``labels=folders``: the class names (the first-level sub-folders that hold images, sorted) and each
    file's class. An image directly in ``root`` belongs to no class: a one-line error naming one."""
    loose = [file for file in files if len(file.relative_to(root).parts) == 1]
    if loose:
        raise GenartError(f"labels=folders: {len(loose)} image(s) lie directly in {root}, outside any class "
                          f"sub-folder (e.g. {loose[0].name}); move them into a sub-folder named after their class")
    first = [file.relative_to(root).parts[0] for file in files]
    names = sorted(set(first))
    index = {name: position for position, name in enumerate(names)}
    return names, [index[name] for name in first]
