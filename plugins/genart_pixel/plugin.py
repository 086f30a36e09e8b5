"""Registers the ``palette``, ``pixelize`` and ``tile-preview`` post-processors (torch loads in factories)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import genart
from genart import param


@dataclass
class PaletteParams:
    """Map every image to at most n colours of one palette, exactly and deterministically."""

    colors: str = param("", "a built-in palette (gameboy, pico8, nes, c64, cga, bw), a .gpl/.hex/.pal file, "
                            "or hex colours joined with + (#0f380f+#9bbc0f); empty: extract= or the images")
    n: int = param(0, "at most this many colours (0: the whole given palette, or 16 when extracting)")
    extract: str = param("", "image or folder to extract the palette from once (k-means in Oklab)")
    method: Literal["kmeans", "median-cut"] = param("kmeans", "how a palette is extracted (both in Oklab)")
    lock: bool = param(True, "one palette for the whole batch, chosen from its first image; false: per image")
    gpl: str = param("", "the locked palette as a GIMP .gpl file: written when it does not exist, read "
                         "(and kept) when it does, so later batches and genart reproduce use the same colours")
    dither: Literal["none", "floyd-steinberg", "bayer"] = param("none", "dithering between palette colours")
    strength: float = param(1.0, "dithering strength (0: none, 1: full)")
    space: Literal["oklab", "lightness", "rgb"] = param("oklab", "where nearest colours are measured: Oklab, its "
                                                                 "lightness alone (for ramps like gameboy), or RGB")
    alpha: float = param(0.5, "alpha at or above this is opaque, below is transparent (alpha becomes 0 or 1)")
    stretch: bool = param(False, "first stretch each image's lightness (2nd-98th percentile) onto the palette's "
                                 "range: for ramps such as gameboy")
    clean: int = param(0, "passes of a 3x3 majority vote after mapping: lone pixels take their neighbours' colour, "
                          "so a model's mottled areas come out flat (0: off, each pixel its nearest colour)")

    def validate(self) -> None:
        from .palettes import resolve

        if self.n < 0 or self.n > 256:
            raise ValueError("n must be between 1 and 256 (0: the palette's size)")
        if not 0 <= self.clean <= 16:
            raise ValueError("clean must be between 0 and 16 passes")
        if not 0 <= self.strength <= 1:
            raise ValueError("strength must be in [0, 1]")
        if not 0 < self.alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        if self.colors and self.extract:
            raise ValueError("give colors= or extract=, not both")
        if self.gpl and not self.lock:
            raise ValueError("gpl= saves the locked palette; it needs lock=true")
        if self.gpl and not self.gpl.lower().endswith(".gpl"):
            raise ValueError("gpl= must name a .gpl file")
        if self.colors:
            size = len(resolve(self.colors))
            if self.n > size:
                raise ValueError(f"n={self.n} but the palette {self.colors!r} has only {size} colours")


@dataclass
class PixelizeParams:
    """Snap an image to a clean integer pixel grid, one robustly chosen colour per cell."""

    block: int = param(0, "cell size in input pixels (0: from size=)")
    size: int = param(32, "target grid: this many cells along the longer side (when block=0)")
    method: Literal["median", "mode"] = param("median", "each cell's colour: per-channel median or most common "
                                                         "colour, both in Oklab")
    outline: str = param("", "hex colour for a one-cell outline around the figure (empty: none)")
    up: int = param(0, "scale the grid back up by this integer factor, nearest neighbour (0: to the input size, "
                       "1: keep the small grid)")
    alpha: float = param(0.5, "a pixel is opaque at or above this alpha; a cell when half its pixels are")

    def validate(self) -> None:
        from .palettes import parse_hex

        if self.block < 0 or self.size < 1 or self.up < 0 or self.up > 64:
            raise ValueError("block >= 0, size >= 1 and 0 <= up <= 64 are required")
        if not 0 < self.alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        if self.outline:
            parse_hex(self.outline)


@dataclass
class TilePreviewParams:
    """Repeat each image in a grid, so a seam shows where it wraps."""

    repeat: int = param(3, "copies along each side (3: a 3x3 repeat)")

    def validate(self) -> None:
        if not 2 <= self.repeat <= 8:
            raise ValueError("repeat must be between 2 and 8")


def build_palette(params: PaletteParams, context: Any) -> Any:
    from .mapper import PaletteMapper

    return PaletteMapper(params)


def build_pixelize(params: PixelizeParams, context: Any) -> Any:
    from .pixelize import Pixelizer

    return Pixelizer(params)


class TilePreview:
    def __init__(self, repeat: int) -> None:
        self.repeat = repeat

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return height * self.repeat, width * self.repeat

    def __call__(self, images: Any) -> Any:
        from .seams import tile_preview

        return tile_preview(images, self.repeat)


def build_tile_preview(params: TilePreviewParams, context: Any) -> Any:
    return TilePreview(params.repeat)


@genart.hookimpl
def register_post_processors(register: Any) -> None:
    register("palette", build_palette, params=PaletteParams,
             description="map to at most n colours of a palette (built-in, file, hex or extracted), with dithering")
    register("pixelize", build_pixelize, params=PixelizeParams,
             description="snap to an integer pixel grid (cell median or mode in Oklab), optional outline")
    register("tile-preview", build_tile_preview, params=TilePreviewParams,
             description="repeat each image 3x3 to check by eye that it tiles without seams")
