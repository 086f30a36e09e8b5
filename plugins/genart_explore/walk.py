"""``genart walk``: a looping animation through random latent points, plus an interpolation grid.

Smoothness is the point: consecutive frames should differ by about the same amount everywhere in
the loop. Spherical interpolation keeps Gaussian latents at a typical norm (a straight line between
two draws passes through improbably short vectors, which decode to washed-out images), and each leg
gets frames in proportion to its angle, so the latent moves at one speed and legs join without a
jump. The CLI prints the largest frame-to-frame change against the median as a check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from genart import GenartError, LatentDecoder, LatentPrior, LatentSampler, UsageError
from genart.api import apply_chain, build_chain, load_run_model
from genart.images import make_grid, save_animation, save_image

ANIMATION_SUFFIXES = (".gif", ".webp")
DECODE_BATCH = 64


def slerp(a: Any, b: Any, t: Any) -> Any:
    """Spherical interpolation between flat vectors ``a`` and ``b`` at fractions ``t`` -> ``[T, D]``."""
    import torch

    t = t.to(a.dtype)[:, None]
    omega = angle(a, b)
    if omega < 1e-4:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / math.sin(omega)


def lerp(a: Any, b: Any, t: Any) -> Any:
    t = t.to(a.dtype)[:, None]
    return (1 - t) * a + t * b


def angle(a: Any, b: Any) -> float:
    cosine = float((a @ b) / (a.norm() * b.norm()).clamp(min=1e-12))
    return math.acos(max(-1.0, min(1.0, cosine)))


def split_frames(lengths: Sequence[float], frames: int) -> list[int]:
    """Frames per leg in proportion to its length (largest remainders), at least one each."""
    total = sum(lengths) or 1.0
    if frames < len(lengths):
        raise UsageError(f"--frames must be at least --points ({len(lengths)})")
    exact = [frames * length / total for length in lengths]
    counts = [max(1, math.floor(x)) for x in exact]
    order = sorted(range(len(lengths)), key=lambda i: exact[i] - math.floor(exact[i]), reverse=True)
    i = 0
    while sum(counts) < frames:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > frames:
        j = max(range(len(counts)), key=lambda i: counts[i] - exact[i])
        counts[j] -= 1
    return counts


def loop_latents(points: Any, frames: int, spherical: bool) -> Any:
    """``[P, D]`` points -> ``[frames, D]`` latents of a closed loop P0 -> P1 -> ... -> P0."""
    import torch

    legs = [(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]
    lengths = [angle(a, b) if spherical else float((b - a).norm()) for a, b in legs]
    counts = split_frames(lengths, frames)
    path = []
    for (a, b), count in zip(legs, counts, strict=True):
        t = torch.arange(count, dtype=torch.float64) / count
        path.append((slerp if spherical else lerp)(a.double(), b.double(), t).float())
    return torch.cat(path)


def grid_latents(points: Any, columns: int, spherical: bool) -> Any:
    """One row per leg, ``columns`` evenly spaced fractions including both ends."""
    import torch

    t = torch.linspace(0, 1, columns, dtype=torch.float64)
    rows = [(slerp if spherical else lerp)(points[i].double(), points[(i + 1) % len(points)].double(), t)
            for i in range(len(points))]
    return torch.cat(rows).float()


def frame_changes(frames: Any) -> Any:
    """Mean absolute change between consecutive frames of a loop (the last one back to the first)."""
    import torch

    return (torch.roll(frames, -1, 0) - frames).abs().flatten(1).mean(1)


def decode_all(model: Any, latents: Any, latent_shape: tuple[int, ...], weights: Any = None) -> Any:
    """Decode every latent, or with ``weights`` (class weights per latent) under those classes."""
    import torch

    images = []
    with torch.inference_mode():
        for start in range(0, latents.shape[0], DECODE_BATCH):
            z = latents[start:start + DECODE_BATCH].view(-1, *latent_shape)
            decoded = model.decode(z) if weights is None else \
                model.decode_labelled(z, weights[start:start + DECODE_BATCH])
            images.append(decoded.detach().float().clamp(0, 1).cpu())
    return torch.cat(images)


def resize(images: Any, size: int) -> Any:
    import torch.nn.functional as F

    if size <= 0:
        return images
    h, w = images.shape[-2:]
    target = (size, max(1, round(w * size / h)))
    if (h, w) == target:
        return images
    return F.interpolate(images, size=target, mode="bicubic", align_corners=False,
                         antialias=target[0] < h).clamp(0, 1)


def walk_run(app: Any, run_dir: Path, out: Path, *, points: int, frames: int, size: int, post: Sequence[str],
             columns: int, duration: int, seed: int, overwrite: bool, device: str, labels: Sequence[str] = (),
             guidance: float | None = None) -> dict[str, float]:
    """Write the loop and its grid; ``labels`` (one or two classes of a conditional run): walk within that
    class or between the two (see walk_labels)."""
    import torch

    from .walk_labels import loop_weights, row_weights, walk_classes

    if out.suffix.lower() not in ANIMATION_SUFFIXES:
        raise UsageError(f"--out must end in .gif or .webp, got {out.name!r}")
    grid_path = out.with_name(out.stem + "-grid.png")
    for path in (out, grid_path):
        if path.exists() and not overwrite:
            raise UsageError(f"{path} already exists (use --overwrite to replace it)")
    if frames < points:
        raise UsageError(f"--frames ({frames}) must be at least --points ({points})")
    model, context, manifest = load_run_model(app, run_dir, device)
    name = manifest["model"]["name"]
    if not isinstance(model, LatentDecoder):
        raise UsageError(f"model {name!r} has no latent space to walk (it needs latent_shape and decode)")
    latent_shape = tuple(int(d) for d in model.latent_shape)
    asked = walk_classes(model, manifest, labels, guidance)
    chain = build_chain(context, post)
    spherical = not isinstance(model, LatentPrior) or model.latent_prior == "gaussian"
    generator = torch.Generator().manual_seed(seed)
    if isinstance(model, LatentSampler):  # e.g. a VAE's fitted prior: walk where its samples come from
        anchors = model.sample_latents(points, generator).reshape(points, -1).double().cpu()
    else:
        anchors = torch.randn(points, math.prod(latent_shape), generator=generator, dtype=torch.float64)
    if not spherical and not isinstance(model, LatentSampler):
        anchors = torch.rand(points, math.prod(latent_shape), generator=generator, dtype=torch.float64) * 2 - 1
    raw = decode_all(model, loop_latents(anchors, frames, spherical), latent_shape,
                     loop_weights(*asked, frames) if asked else None)
    changes = frame_changes(raw)
    median = float(changes.median())
    stats = {"max_change": float(changes.max()), "median_change": median,
             "ratio": float(changes.max()) / median if median > 0 else float("inf")}
    final = resize(apply_chain(chain, raw, context.device) if chain else raw, size)
    grid_raw = decode_all(model, grid_latents(anchors, columns, spherical), latent_shape,
                          row_weights(*asked, points, columns) if asked else None)
    grid = resize(apply_chain(chain, grid_raw, context.device) if chain else grid_raw, size)
    if not torch.isfinite(final).all():
        raise GenartError(f"model {name!r} decoded non-finite images")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_animation(list(final), out, duration_ms=duration, overwrite=overwrite)
    save_image(make_grid(grid, nrow=columns), grid_path, overwrite=overwrite)
    click.echo(f"wrote {out} ({frames} frames through {points} points) and {grid_path}")
    click.echo(f"frame-to-frame change (mean |diff| per pixel): median {stats['median_change']:.4f}, "
               f"max {stats['max_change']:.4f}, max/median {stats['ratio']:.2f}")
    return stats
