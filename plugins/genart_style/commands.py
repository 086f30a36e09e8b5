"""``genart stylize CONTENT --style IMG[:WEIGHT] ... --out FILE``: one image, one command.

Light at import (click only); torch loads when the command runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from genart import UsageError
from genart.api import params_options, parse_values

from .params import StyleParams


def parse_style(text: str) -> tuple[Path, float]:
    """``IMG`` or ``IMG:WEIGHT``; a colon not followed by a number belongs to the path."""
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            return Path(head).expanduser(), float(tail)
        except ValueError:
            pass
    return Path(text).expanduser(), 1.0


@click.command("stylize")
@click.argument("content", type=click.Path(exists=True, dir_okay=False))
@click.option("--style", "styles", multiple=True, required=True, metavar="IMG[:WEIGHT]",
              help="style image, optionally with a blend weight; repeat to blend several")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="output image file")
@click.option("--overwrite", is_flag=True, help="replace --out if it exists")
@params_options(StyleParams, skip=("image", "weights", "encoder_weights", "progress"), defaults={"size": 512})
@click.option("--weights", "encoder_weights", type=click.Path(dir_okay=False),
              help="encoder weights file (vgg19: torchvision state dict; default $GENART_VGG19_WEIGHTS)")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.pass_obj
def stylize(app: Any, content: str, styles: tuple[str, ...], out: str, overwrite: bool, quiet: bool,
            device: str, **values: Any) -> None:
    """Paint CONTENT in the style of one or more --style images and write --out."""
    from genart.api import echo, make_context
    from genart.images import load_image, save_image

    from .factories import build_style
    from .recipe import stylize_recipe

    target = Path(out)
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists (use --overwrite to replace it)")
    parsed = [parse_style(s) for s in styles]
    weights = values.pop("encoder_weights")
    values = parse_values(StyleParams, values)
    params = StyleParams(image=[p for p, _ in parsed], weights=[w for _, w in parsed],
                         encoder_weights=Path(weights) if weights else None, progress=not quiet, **values)
    try:
        params.validate()
    except ValueError as error:
        raise UsageError(f"stylize: {error}") from None
    context = make_context(app, device, "fp32")
    processor = build_style(params, context)
    image = load_image(content)
    start = time.perf_counter()
    result = processor(image[None])[0]
    save_image(result, target, overwrite=overwrite, recipe=stylize_recipe(app, params, Path(content), context))
    echo(f"wrote {target} ({result.shape[-1]}x{result.shape[-2]} px, {time.perf_counter() - start:.1f} s)")
