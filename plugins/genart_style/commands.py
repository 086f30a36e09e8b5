"""``genart stylize CONTENT --style IMG[:WEIGHT] ... --out FILE``: one image, one command; with a folder
as CONTENT, ``--out`` is a folder and the job is ``genart post``'s folder job (mirrored tree, resume).

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
@click.argument("content", type=click.Path(exists=True))
@click.option("--style", "styles", multiple=True, required=True, metavar="IMG[:WEIGHT]",
              help="style image, optionally with a blend weight; repeat to blend several")
@click.option("--out", required=True, type=click.Path(), help="output image file (a folder when CONTENT is one)")
@click.option("--overwrite", is_flag=True, help="replace --out if it exists (a folder: redo finished images too)")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]),
              help="with a folder: write every result in this format [default: each input's own]")
@params_options(StyleParams, skip=("image", "weights", "encoder_weights", "progress"), defaults={"size": 512})
@click.option("--weights", "encoder_weights", type=click.Path(dir_okay=False),
              help="encoder weights file (vgg19: torchvision state dict; default $GENART_VGG19_WEIGHTS)")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@click.pass_obj
def stylize(app: Any, content: str, styles: tuple[str, ...], out: str, overwrite: bool, quiet: bool,
            device: str, fmt: str | None, **values: Any) -> None:
    """Paint CONTENT (an image, or every image of a folder) in the style of one or more --style images."""
    from genart.api import echo, make_context
    from genart.images import load_image, save_image

    from .factories import build_style
    from .recipe import stylize_recipe

    target = Path(out)
    folder = Path(content).is_dir()
    if target.exists() and not overwrite and not folder:
        raise UsageError(f"{target} already exists (use --overwrite to replace it)")
    if folder and target.is_file():
        raise UsageError(f"{target} is a file; with a folder to stylize, --out names a folder")
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
    if folder:
        _stylize_folder(app, (processor, context), params, Path(content), target, (overwrite, quiet, fmt))
        return
    image = load_image(content)
    start = time.perf_counter()
    result = processor(image[None])[0]
    save_image(result, target, overwrite=overwrite, recipe=stylize_recipe(app, params, Path(content), context))
    echo(f"wrote {target} ({result.shape[-1]}x{result.shape[-2]} px, {time.perf_counter() - start:.1f} s)")


def _stylize_folder(app: Any, built: tuple[Any, Any], params: StyleParams, content: Path, out: Path,
                    options: tuple[bool, bool, str | None]) -> None:
    """Every image under ``content`` through one built style (the style images are read once), as a folder
    job: the tree mirrored into ``out``, resumable, bad files reported at the end."""
    import json

    from genart.api import FilesRequest, files_job, params_to_dict
    from genart.images import load_image, save_image

    from .recipe import stylize_recipe

    processor, context = built
    overwrite, quiet, fmt = options
    settings = params_to_dict(params)
    settings.pop("progress", None)
    key = json.dumps(["stylize", settings], sort_keys=True, default=str)

    def process(source: Path, target: Path) -> None:
        result = processor(load_image(source)[None])[0]
        recipe = {**stylize_recipe(app, params, source, context), "job": key}  # found again after a kill
        save_image(result, target, overwrite=True, recipe=recipe)

    files_job(FilesRequest(images=(str(content),), out=out, overwrite=overwrite, fmt=fmt, quiet=quiet), key, process,
              what="stylize")
