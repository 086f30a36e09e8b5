"""``genart upscale IMAGES --scale 4 --out DIR``: the short form of ``genart post ... --post upsample:...``.

A new user types ``genart upscale`` first; the command hands its images to ``genart post`` (found through
the command group, so the folder job, its safety checks and recipes are the one ``post`` has).
"""

from __future__ import annotations

from typing import Any

import click

from genart.api import device_options


def invoke_post(ctx: click.Context, spec: str, **options: Any) -> None:
    """Run ``genart post`` with one post-processor ``spec``; options it does not get keep their defaults."""
    parent = ctx.parent
    group = parent.command if parent is not None else None
    post = group.get_command(parent, "post") if parent is not None and isinstance(group, click.Group) else None
    if post is None:
        raise click.UsageError("genart post is not available")
    ctx.invoke(post, post=(spec,), **options)


@click.command("upscale")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--scale", default=2.0, show_default=True, type=click.FloatRange(0, 16, min_open=True),
              help="scale factor (learned for 2, 3 and 4)")
@click.option("--method", default="auto", show_default=True,
              type=click.Choice(["auto", "learned", "bicubic", "bilinear", "nearest", "lanczos"]),
              help="auto: nearest for pixel art, else learned for x2/x3/x4, else bicubic")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the results")
@click.option("--overwrite", is_flag=True, help="replace existing files in --out")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@device_options
@click.pass_context
def upscale(ctx: click.Context, scale: float, method: str, **options: Any) -> None:
    """Upsample image files (folders are searched recursively): genart post IMAGES --post upsample:scale=S."""
    invoke_post(ctx, f"upsample:scale={scale:g},method={method}", **options)
