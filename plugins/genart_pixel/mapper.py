"""The ``palette`` post-processor: every image mapped to at most ``n`` colours of one palette.

Where the palette comes from, in order: the ``gpl=`` file when it exists (a lock carried across
batches, and what ``genart reproduce`` finds again), ``colors=`` (a built-in name, a palette file, hex
colours), ``extract=`` (an image or folder, k-means in Oklab once at build time), else the images
themselves. With ``lock=true`` (the default) the palette is chosen once, from the first image this
instance sees, and kept for the rest of the batch: one palette for a whole sprite sheet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.api import write_bytes_atomic
from genart.errors import UsageError

from .clean import majority
from .colour import oklab_to_srgb, srgb_to_oklab, to_space
from .dither import map_indices, nearest_by_runs
from .palettes import Colour, gpl_text, read_palette_file, resolve
from .quantize import extract, nearest_index
from .sources import read_pixels

DEFAULT_EXTRACT = 16


def split(images: Any, threshold: float) -> tuple[Any, Any]:
    """sRGB ``[N, H, W, 3]`` and a boolean opaque mask ``[N, H, W]`` (alpha at or above ``threshold``)."""
    channels = images.shape[1]
    colour = images[:, :3] if channels >= 3 else images[:, :1].expand(-1, 3, -1, -1)
    opaque = images[:, -1] >= threshold if channels in (2, 4) else images.new_ones(images[:, 0].shape, dtype=bool)
    return colour.permute(0, 2, 3, 1), opaque


def base_palette(params: Any) -> list[Colour] | None:
    """The palette fixed before any image is seen (None: it comes from the images)."""
    if params.colors:
        return resolve(params.colors)
    if params.extract:
        return extract(read_pixels(params.extract, params.alpha), params.n or DEFAULT_EXTRACT, params.method)
    return None


class PaletteMapper:
    def __init__(self, params: Any) -> None:
        self.params = params
        try:
            self.fixed = base_palette(params)
        except ValueError as error:
            raise UsageError(f"palette: {error}") from None
        self.count = params.n or (len(self.fixed) if self.fixed is not None else DEFAULT_EXTRACT)
        if params.extract and self.fixed is not None:
            # n is "at most": a source with fewer distinct colours than n gives a smaller palette, not an error
            self.count = len(self.fixed)
        if self.fixed is not None and self.count > len(self.fixed):
            raise UsageError(f"palette: n={self.count} but the palette has only {len(self.fixed)} colours")
        self.locked: list[Colour] | None = None
        gpl = Path(params.gpl) if params.gpl else None
        if gpl is not None and gpl.is_file():
            try:
                saved = read_palette_file(gpl)
            except ValueError as error:
                raise UsageError(f"palette: {error}") from None
            if self.fixed is not None and len(self.fixed) == self.count and saved != self.fixed:
                raise UsageError(f"palette: {gpl} holds another palette than the one asked for; "
                                 "remove it or name another gpl=")
            if len(saved) > self.count:
                raise UsageError(f"palette: {gpl} holds {len(saved)} colours, more than n={self.count}")
            self.locked = saved

    def choose(self, colour: Any, opaque: Any) -> list[Colour]:
        """The palette for one image (``[H, W, 3]`` sRGB): the fixed one, its ``n`` most used colours, or extracted."""
        import torch

        pixels = colour[opaque]
        if pixels.shape[0] == 0:
            pixels = colour.reshape(-1, 3)
        if self.fixed is None:
            return extract(pixels, self.count, self.params.method)
        if self.count >= len(self.fixed):
            return self.fixed
        table = torch.tensor(self.fixed, dtype=torch.float32) / 255
        used = nearest_index(to_space(pixels.float().cpu(), self.params.space), to_space(table, self.params.space))
        counts = torch.bincount(used, minlength=len(self.fixed))
        order = sorted(range(len(self.fixed)), key=lambda i: (-int(counts[i]), i))[: self.count]
        return [self.fixed[i] for i in sorted(order)]

    def lock(self, colour: Any, opaque: Any) -> list[Colour]:
        if self.locked is None:
            self.locked = self.choose(colour, opaque)
            if self.params.gpl:
                target = Path(self.params.gpl)
                target.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(target, gpl_text(self.locked, target.stem).encode())
        return self.locked

    def finish(self, folder: Path) -> list[Path]:
        """After a batch (genart.WritesBeside): its locked palette as ``palette.gpl`` beside the outputs, unless
        ``gpl=`` already holds it. An existing file with other colours is kept; the next free name is used."""
        if not self.params.lock or self.locked is None or self.params.gpl:
            return []
        text = gpl_text(self.locked, "palette")
        for number in range(1, 1000):
            target = folder / ("palette.gpl" if number == 1 else f"palette-{number}.gpl")
            if target.is_file() and target.read_text(encoding="utf-8", errors="replace") == text:
                return [target]
            if not target.exists():
                folder.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(target, text.encode())
                return [target]
        return []

    def stretch(self, colour: Any, opaque: Any, palettes: list[list[Colour]]) -> Any:
        """Each image's Oklab lightness moved linearly so its 2nd-98th percentile spans its palette's lightness."""
        import torch

        lab = srgb_to_oklab(colour)
        out = []
        for i in range(colour.shape[0]):
            light = lab[i][..., 0][opaque[i]] if bool(opaque[i].any()) else lab[i][..., 0].reshape(-1)
            low, high = torch.quantile(light.float(), torch.tensor([0.02, 0.98])).tolist()
            table = srgb_to_oklab(torch.tensor(palettes[i], dtype=torch.float32) / 255)[:, 0]
            target_low, target_high = float(table.min()), float(table.max())
            gain = (target_high - target_low) / max(high - low, 1e-3)
            moved = lab[i].clone()
            moved[..., 0] = (moved[..., 0] - low) * gain + target_low
            out.append(oklab_to_srgb(moved))
        return torch.stack(out)

    def __call__(self, images: Any) -> Any:
        import torch

        colour, opaque = split(images.float(), self.params.alpha)
        if images.shape[0] == 0:
            return images
        if self.params.lock:
            palettes = [self.lock(colour[0], opaque[0])] * images.shape[0]
        else:
            palettes = [self.choose(colour[i], opaque[i]) for i in range(images.shape[0])]
        if self.params.stretch:
            colour = self.stretch(colour, opaque, palettes)
        out = torch.empty_like(colour)
        groups: dict[tuple[Colour, ...], list[int]] = {}
        for index, palette in enumerate(palettes):
            groups.setdefault(tuple(palette), []).append(index)
        for colours, members in groups.items():
            rows = torch.tensor(members, device=images.device)
            table = torch.tensor(colours, dtype=torch.float32, device=images.device) / 255
            space, dither = self.params.space, self.params.dither
            if dither == "none" or self.params.strength == 0:
                indices = nearest_by_runs(colour[rows], to_space(table, space), space)
            else:
                indices = map_indices(to_space(colour[rows], space), to_space(table, space), dither,
                                      self.params.strength, space, opaque[rows])
            if self.params.clean:
                indices = majority(indices, len(colours), opaque[rows], self.params.clean)
            out[rows] = table[indices]
        grey = all(r == g == b for colours in groups for r, g, b in colours)
        result = out.permute(0, 3, 1, 2)
        if images.shape[1] in (1, 2) and grey:
            result = result[:, :1]
        if images.shape[1] in (2, 4):
            result = torch.cat([result, opaque[:, None].to(result.dtype)], 1)
        return result
