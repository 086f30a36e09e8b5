"""A third-party-style plugin whose command writes its own images, each naming a reproducer in its recipe,
so ``genart reproduce`` makes them again with no help from the core (see docs/writing-a-plugin.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import genart

GENART_PLUGIN_API = "2.0"
REPRODUCER = "genart_stamp_plugin:reproduce"


def stamp(base: Any, strength: float) -> Any:
    """The plugin's image operation: a diagonal ramp blended into the image."""
    import torch

    _, height, width = base.shape
    ramp = (torch.arange(height)[:, None] + torch.arange(width)[None, :]).float() / (height + width - 2)
    return (base * (1 - strength) + ramp * strength).clamp(0, 1)


@click.command("stamp")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--strength", default=0.5, type=float)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def stamp_command(app: Any, image: str, strength: float, out: str) -> None:
    from genart.api import base_recipe, file_entry, versions
    from genart.images import load_image, save_image

    recipe = base_recipe("stamp", reproducer=REPRODUCER, strength=strength, input=file_entry(Path(image)),
                         versions=versions(app))
    save_image(stamp(load_image(Path(image)), strength), Path(out), recipe=recipe)


def reproduce(app: Any, recipe: dict[str, Any], locator: Any, device: str | None) -> Any:
    """``genart reproduce`` calls this with the recipe, a locator that finds inputs by content, and the device."""
    from genart.images import load_image

    return stamp(load_image(locator.find(recipe["input"], "input image")), float(recipe["strength"]))


@genart.hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(stamp_command)
