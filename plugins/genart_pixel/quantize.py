"""Choosing a palette from pixels (median cut, then k-means, in Oklab) and mapping pixels to it.

Everything here is deterministic: median cut is a pure function of the pixels, k-means starts from it
and runs a fixed number of Lloyd steps, and the pixels it sees are a fixed-stride subsample.
"""

from __future__ import annotations

from typing import Any

from .colour import oklab_to_srgb, srgb_to_oklab

#: at most this many pixels are used to extract a palette (a fixed stride through the rest)
MAX_PIXELS = 1 << 17
KMEANS_STEPS = 12
#: pixel x palette distances computed at once (bounds memory for big images and palettes)
CHUNK = 1 << 22


def subsample(pixels: Any, limit: int = MAX_PIXELS) -> Any:
    stride = max(1, -(-pixels.shape[0] // limit))
    return pixels[::stride]


def median_cut(lab: Any, n: int) -> Any:
    """``n`` (or fewer) Oklab centres: split the box with the widest channel range at its median."""
    import torch

    boxes = [lab]
    while len(boxes) < n:
        spans = [float((b.amax(0) - b.amin(0)).max()) if b.shape[0] > 1 else -1.0 for b in boxes]
        widest = max(range(len(boxes)), key=lambda i: spans[i])
        if spans[widest] <= 0:
            break
        box = boxes.pop(widest)
        channel = int((box.amax(0) - box.amin(0)).argmax())
        order = torch.argsort(box[:, channel], stable=True)
        half = box.shape[0] // 2
        boxes += [box[order[:half]], box[order[half:]]]
    return torch.stack([b.mean(0) for b in boxes])


def kmeans(lab: Any, n: int, steps: int = KMEANS_STEPS) -> Any:
    """Lloyd's k-means from the median-cut centres; an emptied cluster keeps its previous centre."""
    import torch

    centres = median_cut(lab, n)
    for _ in range(steps):
        labels = nearest_index(lab, centres)
        sums = torch.zeros_like(centres).index_add_(0, labels, lab)
        counts = torch.bincount(labels, minlength=centres.shape[0]).to(lab.dtype)
        filled = counts > 0
        centres = torch.where(filled[:, None], sums / counts.clamp(min=1)[:, None], centres)
    return centres


def extract(rgb_pixels: Any, n: int, method: str) -> list[tuple[int, int, int]]:
    """At most ``n`` 8-bit colours summarising ``[P, 3]`` sRGB pixels (fewer when they hold fewer)."""
    import torch

    pixels = subsample(rgb_pixels.float().reshape(-1, 3).cpu())
    if pixels.shape[0] == 0:
        raise ValueError("no opaque pixels to extract a palette from")
    lab = srgb_to_oklab(pixels.double())
    centres = median_cut(lab, n) if method == "median-cut" else kmeans(lab, n)
    rgb8 = torch.round(oklab_to_srgb(centres) * 255).to(torch.int64).tolist()
    return list(dict.fromkeys((int(r), int(g), int(b)) for r, g, b in rgb8))


def nearest_index(points: Any, palette: Any) -> Any:
    """Index of the nearest palette entry (squared Euclidean; ties go to the first) for ``[P, D]`` points."""
    import torch

    out = torch.empty(points.shape[0], dtype=torch.int64, device=points.device)
    step = max(1, CHUNK // max(1, palette.shape[0]))
    for start in range(0, points.shape[0], step):
        chunk = points[start:start + step]
        distance = ((chunk[:, None, :] - palette[None, :, :]) ** 2).sum(-1)
        out[start:start + step] = distance.argmin(1)
    return out
