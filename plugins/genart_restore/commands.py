"""``genart restore IMAGES --out DIR``: the short form of ``genart post ... --post restore:...``."""

from __future__ import annotations

from typing import Any

import click

from genart.api import device_options


@click.command("restore")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--task", default="auto", show_default=True,
              type=click.Choice(["auto", "classic", "denoise", "jpeg", "deblur"]),
              help="auto: denoise or deblock what it finds in each image, else leave it unchanged")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the results")
@click.option("--overwrite", is_flag=True, help="replace existing files in --out")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@device_options
@click.pass_context
def restore(ctx: click.Context, task: str, **options: Any) -> None:
    """Restore image files (folders are searched recursively): genart post IMAGES --post restore:task=T."""
    parent = ctx.parent
    group = parent.command if parent is not None else None
    post = group.get_command(parent, "post") if parent is not None and isinstance(group, click.Group) else None
    if post is None:
        raise click.UsageError("genart post is not available")
    ctx.invoke(post, post=(f"restore:task={task}",), **options)
