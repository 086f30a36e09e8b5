"""``genart upscale IMAGES --scale 4 --out DIR``: the short form of ``genart post ... --post upsample:...``.

A new user types ``genart upscale`` first; the command hands its images to ``genart post`` (found through
the command group, so the folder job, its safety checks and recipes are the one ``post`` has).
"""

from __future__ import annotations

from typing import Any

import click

from genart.api import image_files_options, invoke_post


@click.command("upscale")
@image_files_options
@click.option("--scale", default=2.0, show_default=True, type=click.FloatRange(0, 16, min_open=True),
              help="scale factor (learned for 2, 3 and 4)")
@click.option("--method", default="auto", show_default=True,
              type=click.Choice(["auto", "learned", "bicubic", "bilinear", "nearest", "lanczos"]),
              help="auto: nearest for pixel art, else learned for x2/x3/x4, else bicubic")
@click.pass_context
def upscale(ctx: click.Context, scale: float, method: str, **options: Any) -> None:
    """Upsample image files (folders are searched recursively): genart post IMAGES --post upsample:scale=S."""
    invoke_post(ctx, f"upsample:scale={scale:g},method={method}", **options)
