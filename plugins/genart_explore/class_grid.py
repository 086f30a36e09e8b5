"""A per-class grid: one row of samples per class with the class name written before it, so a person sees
at a glance whether the classes a conditional model was asked for differ (and which row is which)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genart import UsageError
from genart.images import convert_channels

#: tiles smaller than this many pixels are enlarged (nearest neighbour) by a whole factor, so that a row of
#: 28 px digits is not dwarfed by its name and stays readable in a report
MIN_TILE = 48
#: the default bitmap font's line height in pixels, and the space around a name
TEXT_HEIGHT, MARGIN = 11, 6


def class_grid(rows: Sequence[Any], names: Sequence[str], padding: int = 2, min_tile: int = MIN_TILE) -> Any:
    """``rows[i]`` (float ``[n_i, C, H, W]`` in [0, 1], any of 1-4 channels, alpha on white) in row ``i``
    after ``names[i]``: an RGB float tensor ``[3, H', W']`` for :func:`genart.images.save_image`."""
    import numpy
    import torch
    import torch.nn.functional as F
    from PIL import Image, ImageDraw

    if len(rows) != len(names) or not rows:
        raise UsageError(f"a class grid needs one name per row (got {len(rows)} rows and {len(names)} names)")
    height, width = rows[0].shape[-2:]
    factor = max(1, -(-min_tile // max(height, width)))
    tile_h, tile_w = height * factor, width * factor
    columns = max(int(row.shape[0]) for row in rows)
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = MARGIN * 2 + max(int(draw.textlength(str(name))) for name in names)
    row_h = max(tile_h, TEXT_HEIGHT) + padding
    grid = torch.ones(3, padding + len(rows) * row_h, label_w + columns * (tile_w + padding))
    for index, row in enumerate(rows):
        if row.shape[-2:] != (height, width):
            raise UsageError("every row of a class grid needs images of one size")
        tiles = convert_channels(row.detach().float().cpu().clamp(0, 1), 3)
        if factor > 1:
            tiles = F.interpolate(tiles, scale_factor=factor, mode="nearest")
        top = padding + index * row_h
        for column, tile in enumerate(tiles):
            left = label_w + column * (tile_w + padding)
            grid[:, top:top + tile_h, left:left + tile_w] = tile
    picture = Image.fromarray(grid.mul(255).round().byte().permute(1, 2, 0).numpy(), mode="RGB")
    pen = ImageDraw.Draw(picture)
    for index, name in enumerate(names):
        top = padding + index * row_h + (tile_h - TEXT_HEIGHT) // 2
        pen.text((MARGIN, top), str(name), fill=(20, 20, 20))
    return torch.from_numpy(numpy.asarray(picture).copy()).permute(2, 0, 1).float() / 255
