"""``genart restore IMAGES --out DIR``: the short form of ``genart post ... --post restore:...``."""

from __future__ import annotations

from typing import Any

import click

from genart.api import image_files_options, invoke_post


@click.command("restore")
@image_files_options
@click.option("--task", default="auto", show_default=True,
              type=click.Choice(["auto", "classic", "denoise", "jpeg", "deblur"]),
              help="auto: denoise or deblock what it finds in each image, else leave it unchanged")
@click.pass_context
def restore(ctx: click.Context, task: str, **options: Any) -> None:
    """Restore image files (folders are searched recursively): genart post IMAGES --post restore:task=T."""
    invoke_post(ctx, f"restore:task={task}", **options)
