"""Tiled inference for learned post-processors.

A convolutional network run on a 4096x4096 image would need gigabytes of activations; run tile by
tile it needs only what one tile needs. Each tile is cut with a margin of ``overlap`` pixels on
every side that is not an image border and only its centre is kept, so as long as ``overlap`` is at
least the network's receptive-field radius the stitched result equals the untiled one (up to float
rounding). :func:`run_learned` wraps the chores every learned post-processor shares: premultiplied
alpha, greyscale, padding to the network's stride, tiling, channel-mean preservation and clamping.
:func:`self_ensemble` trades time for quality by averaging a network over flips and rotations.

With ``wrap=True`` the image is treated as one period of an endless tiling: it is padded with its own
opposite edges (:func:`wrap_pad`) by at least the network's radius before the tiles are cut, and the
padding is cropped off again, so the left edge of the output is computed from the pixels to the right
of the input's right edge, and a tileable input stays tileable (:func:`wrapped` does the same for any
local operator, e.g. a classical filter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "DIHEDRAL",
    "ENSEMBLE_SIZES",
    "check_ensemble",
    "circular_padding",
    "pad_to_multiple",
    "run_learned",
    "self_ensemble",
    "tiled",
    "tiled_bands",
    "wrap_crops",
    "wrap_pad",
    "wrapped",
]

#: the dihedral transforms as (quarter turns, mirror), in the order ``self_ensemble`` adds them, so that
#: two uses the mirror, four adds the half turn, and eight all eight symmetries of the square
DIHEDRAL = ((0, False), (0, True), (2, False), (2, True), (1, False), (1, True), (3, False), (3, True))
ENSEMBLE_SIZES = (1, 2, 4, 8)


def check_ensemble(count: int) -> None:
    """Refuse an ensemble size ``self_ensemble`` cannot do (for parameter validation: imports no torch)."""
    if count not in ENSEMBLE_SIZES:
        raise ValueError(f"ensemble must be 1, 2, 4 or 8, got {count}")


def self_ensemble(fn: Callable[[Any], Any], count: int) -> Callable[[Any], Any]:
    """``fn`` averaged over ``count`` mirrored and rotated copies of its input (1, 2, 4 or 8).

    A small network is far from equivariant to these symmetries (its learned filters and its
    pixel-unshuffle grid are not), so its errors on the copies differ and partly cancel: the shipped
    denoiser gains 0.3 dB at sigma 25 for eight times the work. Applied per tile, it keeps tiled and
    untiled results equal: a tile whose sides are multiples of the network's stride maps onto the
    same pixel grid after any of these transforms.
    """
    import torch

    check_ensemble(count)
    if count == 1:
        return fn

    def averaged(images: Any) -> Any:
        total: Any = None
        for turns, mirror in DIHEDRAL[:count]:
            view = torch.rot90(images, turns, (-2, -1))
            out = fn((view.flip(-1) if mirror else view).contiguous())
            out = torch.rot90(out.flip(-1) if mirror else out, -turns, (-2, -1))
            total = out.clone() if total is None else total.add_(out)
        return total.div_(count)

    return averaged


def _starts(length: int, tile: int) -> list[int]:
    return list(range(0, length, tile)) if length > 0 else [0]


def _tiles(fn: Callable[[Any], Any], images: Any, tile: int, overlap: int, scale: int,
           multiple: int) -> Iterator[tuple[int, int, int, int, Any]]:
    """Each tile's ``(top, bottom, left, right, output centre)`` in input pixels, row by row."""
    _, _, h, w = images.shape
    if h % multiple or w % multiple:
        raise ValueError(f"image size {h}x{w} is not a multiple of {multiple}; pad it first")
    tile = max(multiple, tile - tile % multiple)
    overlap = -(-overlap // multiple) * multiple
    if h <= tile and w <= tile:
        yield 0, h, 0, w, fn(images)
        return
    for top in _starts(h, tile):
        for left in _starts(w, tile):
            bottom, right = min(h, top + tile), min(w, left + tile)
            y0, x0 = max(0, top - overlap), max(0, left - overlap)
            y1, x1 = min(h, bottom + overlap), min(w, right + overlap)
            result = fn(images[:, :, y0:y1, x0:x1])
            yield top, bottom, left, right, result[
                :, :, (top - y0) * scale:(bottom - y0) * scale, (left - x0) * scale:(right - x0) * scale]
            del result  # not held while the next tile is made


def tiled(fn: Callable[[Any], Any], images: Any, *, tile: int = 512, overlap: int = 32, scale: int = 1,
          multiple: int = 1) -> Any:
    """Apply ``fn`` (``[N, C, h, w] -> [N, C', h*scale, w*scale]``) to ``images`` tile by tile.

    ``multiple`` is the network's stride (e.g. 4 after pixel-unshuffle and one strided conv): tile
    corners and margins are kept on multiples of it so every tile sees the same pixel grid as the
    whole image would. ``images`` must already be padded to a multiple of ``multiple``.
    """
    import torch

    n, _, h, w = images.shape
    out = None
    for top, bottom, left, right, centre in _tiles(fn, images, tile, overlap, scale, multiple):
        if (bottom - top, right - left) == (h, w):  # one tile: its output is the result, no copy
            return centre
        if out is None:
            out = torch.empty(n, centre.shape[1], h * scale, w * scale, dtype=centre.dtype, device=centre.device)
        out[:, :, top * scale:bottom * scale, left * scale:right * scale] = centre
        del centre
    return out


def tiled_bands(fn: Callable[[Any], Any], images: Any, *, tile: int = 512, overlap: int = 32, scale: int = 1,
                multiple: int = 1) -> Iterator[Any]:
    """:func:`tiled`'s output as full-width horizontal bands, top to bottom, one row of tiles each.

    A caller that writes each band to a file as it comes (``genart post`` of a huge upscale into a
    PNG) never holds the whole output: only one band of it and the input."""
    import torch

    n, _, h, w = images.shape
    band = None
    band_top = 0
    for top, bottom, left, right, centre in _tiles(fn, images, tile, overlap, scale, multiple):
        if (bottom - top, right - left) == (h, w):
            yield centre
            return
        if band is not None and top != band_top:
            finished, band = band, None
            yield finished
            del finished
        if band is None:
            band_top = top
            band = torch.empty(n, centre.shape[1], (bottom - top) * scale, w * scale, dtype=centre.dtype,
                               device=centre.device)
        band[:, :, :, left * scale:right * scale] = centre
        del centre
    if band is not None:
        yield band


def _wrap_pad_hw(images: Any, before: int, after_h: int, after_w: int) -> Any:
    """:func:`wrap_pad` with different amounts after the rows and after the columns."""
    import torch

    h, w = images.shape[-2:]
    rows = torch.arange(-before, h + after_h, device=images.device) % h
    cols = torch.arange(-before, w + after_w, device=images.device) % w
    return images.index_select(-2, rows).index_select(-1, cols)


def pad_to_multiple(images: Any, multiple: int) -> Any:
    """Replicate-pad the bottom and right edges up to a multiple of ``multiple`` (any size, even 1x1)."""
    import torch.nn.functional as F

    h, w = images.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return images
    # replicate padding cannot grow a dimension by more than its size in one call on some backends
    while ph or pw:
        step_h, step_w = min(ph, images.shape[-2]), min(pw, images.shape[-1])
        images = F.pad(images, (0, step_w, 0, step_h), mode="replicate")
        ph, pw = ph - step_h, pw - step_w
    return images


def wrap_pad(images: Any, before: int, after: int | None = None) -> Any:
    """Pad the last two dimensions with the image's own opposite edges (circular padding of any width,
    even wider than the image): ``before`` rows/columns at the top and left, ``after`` (default the
    same) at the bottom and right."""
    after = before if after is None else after
    return images if before == 0 and after == 0 else _wrap_pad_hw(images, before, after, after)


def wrapped(fn: Callable[[Any], Any], images: Any, margin: int, scale: int = 1) -> Any:
    """``fn`` applied as if ``images`` repeated endlessly: wrap-padded by ``margin``, then cropped by
    ``margin * scale``. Exact for an operator whose reach is at most ``margin`` input pixels."""
    out = fn(wrap_pad(images, margin))
    crop = margin * scale
    return out[..., crop:out.shape[-2] - crop, crop:out.shape[-1] - crop]


def run_learned(fn: Callable[[Any], Any], images: Any, *, scale: int = 1, multiple: int = 1, tile: int = 512,
                overlap: int = 32, keep_mean: bool = True, extra: Any = None,
                resize_alpha: Callable[[Any, tuple[int, int]], Any] | None = None, wrap: bool = False) -> Any:
    """Run an RGB network ``fn`` on any image batch in [0, 1], the way users expect.

    - grey images go through the RGB network as three equal channels and come back grey;
    - alpha is handled premultiplied (a transparent pixel's colour is meaningless and must not bleed),
      and transparent areas stay transparent; with ``scale`` > 1 alpha is resized by ``resize_alpha``;
    - ``extra`` (``[N, E, H, W]``, e.g. an inpainting mask) is appended to the channels so it is cut
      into the same tiles; ``fn`` receives ``[N, 3 + E, h, w]``;
    - with ``keep_mean`` each output channel's mean is moved back to the input's, so there is no colour
      shift (the network's residual should be zero-mean anyway; this makes it exact up to clamping);
    - with ``wrap`` tiles and padding wrap around the image's edges (see the module's docstring).
    """
    import torch

    images = images.float()
    c = images.shape[1]
    if c not in (1, 2, 3, 4):
        raise ValueError(f"expected 1 to 4 channels, got {c}")
    alpha = images[:, c - 1:] if c in (2, 4) else None
    colour = images[:, : c - 1] if alpha is not None else images
    grey = colour.shape[1] == 1
    if grey:
        colour = colour.expand(-1, 3, -1, -1)
    if alpha is not None:
        colour = colour * alpha
    n, _, h, w = colour.shape
    stacked = colour if extra is None else torch.cat([colour, extra.to(colour)], 1)
    if wrap:  # the margin on multiples of the stride, so the image keeps the pixel grid it has untiled
        margin = -(-overlap // multiple) * multiple
        padded = _wrap_pad_hw(stacked, margin, margin + (-h) % multiple, margin + (-w) % multiple)
        out = tiled(fn, padded, tile=tile, overlap=overlap, scale=scale, multiple=multiple)
        out = out[:, :, margin * scale: (margin + h) * scale, margin * scale: (margin + w) * scale]
    else:
        padded = pad_to_multiple(stacked, multiple)
        out = tiled(fn, padded, tile=tile, overlap=overlap, scale=scale, multiple=multiple)
        out = out[:, :, : h * scale, : w * scale]
    new_alpha: Any = None
    if alpha is not None and scale == 1:
        new_alpha = alpha
    elif alpha is not None:
        if resize_alpha is None:
            raise ValueError("run_learned with scale > 1 and alpha needs resize_alpha")
        if wrap:
            new_alpha = wrapped(lambda a: resize_alpha(a, ((h + 8) * scale, (w + 8) * scale)), alpha, 4, scale)
        else:
            new_alpha = resize_alpha(alpha, (h * scale, w * scale))
        new_alpha = new_alpha.clamp(0, 1)
    out = out.contiguous()
    target = colour.mean((2, 3), keepdim=True)
    # Clamping to the valid range moves the mean again (on tiny or saturated images), so shift and clamp
    # a few times: each pass puts the lost mass back on the pixels that still have room. In place, so a
    # huge output is never copied.
    for _ in range(6 if keep_mean else 1):
        if keep_mean:
            out.add_(target - out.mean((2, 3), keepdim=True))
        out.clamp_(0, 1)
        if new_alpha is not None:  # premultiplied colour cannot exceed alpha
            torch.minimum(out, new_alpha, out=out)
    if new_alpha is not None:
        out = torch.where(new_alpha > 1e-6, out / new_alpha.clamp_min(1e-6), torch.zeros_like(out))
    out = out.clamp(0, 1)
    if grey:
        out = out.mean(1, keepdim=True)
    return torch.cat([out, new_alpha], 1) if alpha is not None else out


# -- seamless models ----------------------------------------------------------------------------------
def circular_padding(module: Any) -> Any:
    """Make every convolution in ``module`` wrap around the image's edges, in place (returns ``module``).

    A ``Conv2d`` with padding pads circularly instead of with zeros. A ``ConvTranspose2d`` (which torch
    only pads with zeros) gets its input wrap-padded and the matching output border cropped by hooks,
    which equals a circular transposed convolution. A network built only of these, pointwise layers,
    norms, nearest resizing and global layers (attention, a projection to a small grid) then computes
    functions on a torus: its output tiles seamlessly. Parameters and state-dict keys do not change.
    """
    import torch.nn.functional as F
    from torch import nn

    for layer in module.modules():
        if isinstance(layer, nn.ConvTranspose2d):
            kernel, stride, padding = layer.kernel_size[0], layer.stride[0], int(layer.padding[0])
            reach = max(1, -(-(kernel - 1 - padding) // stride))

            def pad_input(_: Any, inputs: tuple[Any, ...], reach: int = reach) -> tuple[Any, ...]:
                return (F.pad(inputs[0], (reach,) * 4, mode="circular"), *inputs[1:])

            def crop_output(_: Any, __: Any, out: Any, cut: int = reach * stride) -> Any:
                return out[..., cut:out.shape[-2] - cut, cut:out.shape[-1] - cut]

            layer.register_forward_pre_hook(pad_input)
            layer.register_forward_hook(crop_output)
        elif isinstance(layer, nn.Conv2d) and not isinstance(layer.padding, str) and any(layer.padding):
            layer.padding_mode = "circular"
    return module


def wrap_crops(batch: Any, generator: Any = None) -> Any:
    """Each image rolled by its own random offset (wrapping around): training crops that wrap, so no
    position in a tileable model's output is special and the wrapped edge is as likely as any other."""
    import torch

    n, _, h, w = batch.shape
    shift_y = torch.randint(0, h, (n,), generator=generator).to(batch.device)
    shift_x = torch.randint(0, w, (n,), generator=generator).to(batch.device)
    rows = (torch.arange(h, device=batch.device)[None] - shift_y[:, None]) % h  # [n, h]
    cols = (torch.arange(w, device=batch.device)[None] - shift_x[:, None]) % w  # [n, w]
    index = torch.arange(n, device=batch.device)[:, None, None]
    return batch.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()

