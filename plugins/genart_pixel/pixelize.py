"""The ``pixelize`` post-processor: an image down to an integer grid of flat cells, then back up.

Each cell takes one colour chosen robustly in Oklab, not an average that blurs an edge into a new
colour: ``median`` (per channel, over the cell's opaque pixels) or ``mode`` (the most common colour
after rounding to a coarse Oklab grid, then the mean of the pixels in that bin). A cell is opaque when
at least ``alpha`` of its pixels are. ``outline`` paints background cells that touch the figure.
"""

from __future__ import annotations

from typing import Any

from .colour import oklab_to_srgb, srgb_to_oklab
from .palettes import parse_hex

#: Oklab bin width for ``mode``: about a just-noticeable step, so sensor or model noise falls in one bin
MODE_BIN = 0.04


def cell_size(height: int, width: int, block: int, size: int) -> int:
    if block:
        return block
    return max(1, -(-max(height, width) // size))


def to_cells(images: Any, block: int) -> tuple[Any, int, int]:
    """``[N, C, H, W]`` padded (edge pixels repeated) to whole cells, as ``[N, C, gh, gw, block*block]``."""
    import torch.nn.functional as F

    n, c, h, w = images.shape
    gh, gw = -(-h // block), -(-w // block)
    padded = F.pad(images, (0, gw * block - w, 0, gh * block - h), mode="replicate") if (gh * block, gw * block) != (
        h, w) else images
    cells = padded.reshape(n, c, gh, block, gw, block).permute(0, 1, 2, 4, 3, 5).reshape(n, c, gh, gw, block * block)
    return cells, gh, gw


def cell_colours(lab: Any, opaque: Any, method: str) -> Any:
    """One Oklab colour per cell from ``lab`` ``[N, 3, gh, gw, k]``, using only ``opaque`` pixels where any are."""
    import torch

    any_opaque = opaque.any(-1, keepdim=True)
    use = opaque | ~any_opaque  # a wholly transparent cell still gets a colour (its alpha says it is hidden)
    if method == "median":
        if bool(use.all()):
            return lab.median(-1).values
        masked = torch.where(use[:, None], lab, torch.full_like(lab, float("nan")))
        return masked.nanmedian(-1).values
    bins = torch.round(lab / MODE_BIN).to(torch.int64)
    key = (bins[:, 0] * 64 + bins[:, 1] + 32) * 64 + bins[:, 2] + 32  # a, b within +-32 bins
    unused = torch.arange(key.shape[-1], device=key.device) + (1 << 40)  # unique, never the mode over real keys
    key = torch.where(use, key, unused)
    mode = key.mode(-1).values
    member = (key == mode[..., None]).to(lab.dtype)
    return (lab * member[:, None]).sum(-1) / member.sum(-1)[:, None].clamp(min=1)


def add_outline(rgb: Any, alpha: Any, colour: tuple[float, ...]) -> tuple[Any, Any]:
    """Background cells 4-adjacent to figure cells take ``colour``. The background is the transparent
    cells when there is alpha, else the cells matching the most common border colour."""
    import torch
    import torch.nn.functional as F

    if alpha is not None:
        figure = alpha > 0.5
    else:
        border = torch.cat([rgb[:, :, 0], rgb[:, :, -1], rgb[:, :, :, 0], rgb[:, :, :, -1]], -1)
        quant = torch.round(border * 255).to(torch.int64)
        keys = (quant[:, 0] * 256 + quant[:, 1]) * 256 + quant[:, 2]
        background = keys.mode(-1).values
        cell_keys = torch.round(rgb * 255).to(torch.int64)
        cell_keys = (cell_keys[:, 0] * 256 + cell_keys[:, 1]) * 256 + cell_keys[:, 2]
        figure = (cell_keys != background[:, None, None])[:, None]
    grown = F.max_pool2d(figure.float(), 3, stride=1, padding=1) > 0
    cross = grown & (F.max_pool2d(figure.float(), (3, 1), 1, (1, 0)) + F.max_pool2d(figure.float(), (1, 3), 1, (0, 1))
                     > 0)
    ring = cross & ~figure
    paint = rgb.new_tensor(colour)[None, :, None, None]
    rgb = torch.where(ring, paint, rgb)
    if alpha is not None:
        alpha = torch.where(ring, torch.ones_like(alpha), alpha)
    return rgb, alpha


class Pixelizer:
    def __init__(self, params: Any) -> None:
        self.params = params
        self.outline = tuple(v / 255 for v in parse_hex(params.outline)) if params.outline else None

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The input's size, or whole cells of ``up`` pixels (genart checks a chain's memory with it)."""
        if not self.params.up:
            return height, width
        block = cell_size(height, width, self.params.block, self.params.size)
        return -(-height // block) * self.params.up, -(-width // block) * self.params.up

    def __call__(self, images: Any) -> Any:
        import torch
        import torch.nn.functional as F

        p = self.params
        n, c, h, w = images.shape
        block = cell_size(h, w, p.block, p.size)
        cells, gh, gw = to_cells(images.float(), block)
        has_alpha = c in (2, 4)
        colour = cells[:, : c - 1] if has_alpha else cells
        colour = colour if colour.shape[1] == 3 else colour.expand(-1, 3, -1, -1, -1)
        opaque = cells[:, -1] >= p.alpha if has_alpha else torch.ones_like(cells[:, 0], dtype=torch.bool)
        lab = srgb_to_oklab(colour, dim=1)
        picked = cell_colours(lab, opaque, p.method)  # [N, 3, gh, gw]
        rgb = oklab_to_srgb(picked, dim=1)
        alpha = (opaque.float().mean(-1) >= 0.5).float()[:, None] if has_alpha else None
        if self.outline is not None:
            rgb, alpha = add_outline(rgb, alpha, self.outline)
        if c in (1, 2):
            rgb = rgb.mean(1, keepdim=True) if self.outline is None else rgb
        grid = torch.cat([rgb, alpha], 1) if alpha is not None else rgb
        up = p.up or block
        out = F.interpolate(grid, scale_factor=up, mode="nearest") if up > 1 else grid
        if not p.up:  # back to the input's size: the last row/column of cells may be partial
            out = out[:, :, :h, :w]
        return out
