"""``genart reconstruct``: images -> posterior mean -> decoded image, for models that can encode.

Reconstructions show what a model's latent space keeps of an image (layout, colours) and what it
drops (fine detail); the comparison grid puts each original beside its reconstruction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from genart import Encoder, LatentDecoder, UsageError
from genart.api import apply_chain, build_chain, load_run_model
from genart.images import ImageError, is_image_path, load_image, make_grid, save_image

GRID_NAME = "reconstruct-grid.png"
BATCH = 32


def expand_images(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p)))
        else:
            files.append(path)
    return files


def fit_square(image: Any, size: int) -> Any:
    """Centre-crop ``[C, H, W]`` to a square and resize it to ``size`` (antialiased when shrinking)."""
    import torch.nn.functional as F

    _, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[:, top:top + side, left:left + side]
    if side == size:
        return square
    return F.interpolate(square[None], size=(size, size), mode="bilinear", align_corners=False,
                         antialias=side > size)[0].clamp(0, 1)


def reconstruct_run(app: Any, run_dir: Path, images: Sequence[Path], out: Path, *, post: Sequence[str],
                    overwrite: bool, device: str) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    files = expand_images(images)
    if not files:
        raise UsageError("no image files found in the given paths")
    planned = {file: out / (file.stem + ".png") for file in files}
    if len(set(planned.values())) != len(planned):
        raise UsageError("two inputs share a file name; reconstruct them into separate --out folders")
    clashes = [p for p in [*planned.values(), out / GRID_NAME] if p.exists()]
    if clashes and not overwrite:
        raise UsageError(f"{clashes[0]} already exists (use --overwrite to replace it)")
    model, context, manifest = load_run_model(app, run_dir, device)
    name = manifest["model"]["name"]
    if not isinstance(model, Encoder) or not isinstance(model, LatentDecoder):
        raise UsageError(f"model {name!r} cannot encode images (it needs encode and decode methods)")
    chain = build_chain(context, post)
    channels, size, _ = model.image_shape
    loaded, kept = [], []
    for file in files:
        try:
            loaded.append(fit_square(load_image(file, channels=channels), size))
            kept.append(file)
        except ImageError as error:
            click.echo(f"skipped: {error}", err=True)
    if not loaded:
        raise UsageError("none of the images could be read")
    originals = torch.stack(loaded)
    outputs = []
    with torch.inference_mode():
        for start in range(0, originals.shape[0], BATCH):
            batch = originals[start:start + BATCH]
            outputs.append(model.decode(model.encode(batch)).detach().float().clamp(0, 1).cpu())
    recon = torch.cat(outputs)
    mse = (recon - originals).pow(2).flatten(1).mean(1).clamp(min=1e-10)
    psnr = float((-10 * torch.log10(mse)).mean())
    final = apply_chain(chain, recon, context.device) if chain else recon
    out.mkdir(parents=True, exist_ok=True)
    for file, image in zip(kept, final, strict=True):
        save_image(image, planned[file], overwrite=True)
    shown = final if final.shape[-2:] == originals.shape[-2:] else F.interpolate(
        final, size=originals.shape[-2:], mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    if shown.shape[1] != originals.shape[1]:
        from genart.images import convert_channels

        shown = convert_channels(shown, originals.shape[1])
    pairs = torch.stack([originals, shown], 1).flatten(0, 1)
    save_image(make_grid(pairs, nrow=2 * min(len(kept), 8)), out / GRID_NAME, overwrite=True)
    click.echo(f"wrote {len(kept)} reconstruction(s) and {GRID_NAME} to {out}; "
               f"mean PSNR of the raw reconstructions: {psnr:.2f} dB")
    return {"psnr": psnr}
