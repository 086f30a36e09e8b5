"""Regenerate the pictures of docs/sprites-palettes-tiles.md (shapes and a public-domain painting; nothing downloaded).

    flock /tmp/genart-heavy.lock python scripts/make_pixel_figures.py --out docs/images [--run RUN]

Writes:

* ``pixel-gameboy.png``: 8 ``shapes`` images at 64 px with a little grain added (seed 0; the grain stands
  in for a model's mottled flat areas), then ``pixelize:size=16``, then that through
  ``palette:colors=gameboy`` (4 colours) with the nearest colour in Oklab, then in Oklab lightness after
  stretching each image's lightness range onto the palette's, then that with ``dither=bayer``.
* ``tile-upsample-3x3.png``: one sample (``--index``, seed 0) of a ``tileable=true`` run repeated 3x3; the
  same after ``upsample`` (learned x2) as usual; and after ``upsample:wrap=true``. The run is ``--run``, or
  one trained here: ``diffusion:tileable=true`` at 32 px for ``--seconds`` (seed 0) on a texture set of 3000
  random 128 px crops of ``--painting`` scaled to 640 px wide, each shrunk to 32 px, half of them mirrored
  (seed 0; made in a temporary folder, outside the repository).

``shapes`` is genart's own procedural data and the default painting, Monet's *Water Lilies* (1919), is in
the public domain (../shared/data/SOURCES.md), so these pictures may be published. Small pictures are
enlarged with nearest neighbour so their pixels stay visible.

The docs picture: ``--run`` a run made by ``genart run --model diffusion:tileable=true --data
folder:path=CROPS --minutes 6.5 --seed 0`` (771 steps on the shared 2-core machine), ``--index 6``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GAP = 8
LABEL = 16


def to_pil(image: Any, zoom: int = 1) -> Any:
    from PIL import Image

    array = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    return picture.resize((picture.width * zoom, picture.height * zoom), Image.NEAREST) if zoom > 1 else picture


def labelled(rows: list[tuple[str, Any]], horizontal: bool = False) -> Any:
    """Pictures with a label over each, stacked (or side by side), on white."""
    from PIL import Image, ImageDraw

    if horizontal:
        width = sum(p.width for _, p in rows) + GAP * (len(rows) - 1)
        height = max(p.height for _, p in rows) + LABEL
    else:
        width = max(p.width for _, p in rows)
        height = sum(p.height + LABEL for _, p in rows) + GAP * (len(rows) - 1)
    out = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(out)
    x = y = 0
    for text, picture in rows:
        draw.text((x + 2, y + 2), text, fill=(0, 0, 0))
        out.paste(picture.convert("RGB"), (x, y + LABEL))
        if horizontal:
            x += picture.width + GAP
        else:
            y += picture.height + LABEL + GAP
    return out


def strip(images: Any, zoom: int) -> Any:
    from genart.images import make_grid

    return to_pil(make_grid(images, nrow=images.shape[0], padding=2), zoom)


def gameboy_figure(app: Any, out: Path) -> None:
    import torch

    from genart.api import apply_chain, build_chain, load_data, make_context

    context = make_context(app, "cpu", "fp32")
    images = load_data(context, "shapes", 64, 3)[:8].float() / 255
    images = (images + torch.randn(images.shape, generator=torch.Generator().manual_seed(0)) * 0.04).clamp(0, 1)
    rows = [("shapes at 64 px, with grain", images)]
    for label, specs in (("pixelize:size=16", ["pixelize:size=16"]),
                         ("+ palette:colors=gameboy (nearest in Oklab)", ["palette:colors=gameboy"]),
                         ("+ palette:colors=gameboy,space=lightness,stretch=true",
                          ["palette:colors=gameboy,space=lightness,stretch=true"]),
                         ("+ the same with dither=bayer",
                          ["palette:colors=gameboy,space=lightness,stretch=true,dither=bayer"])):
        chain = ["pixelize:size=16", *specs] if specs != ["pixelize:size=16"] else specs
        rows.append((label, apply_chain(build_chain(context, chain), images, "cpu")))
    labelled([(text, strip(batch, 2)) for text, batch in rows]).save(out / "pixel-gameboy.png", optimize=True)


def texture_crops(painting: Path, folder: Path, count: int = 3000, crop: int = 128, size: int = 32) -> None:
    """A texture set: ``count`` random ``crop`` px squares of the painting scaled to 640 px wide, each shrunk
    to ``size`` px and half of them mirrored (seed 0); the bottom-right corner, where painters sign, is left out."""
    import random

    from PIL import Image

    rng = random.Random(0)
    with Image.open(painting) as source:
        picture = source.convert("RGB")
    width, height = 640, round(picture.height * 640 / picture.width)
    picture = picture.resize((width, height), Image.LANCZOS)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        while True:
            x, y = rng.randint(0, width - crop), rng.randint(0, height - crop)
            if not (x + crop > width - 80 and y + crop > height - 51):
                break
        tile = picture.crop((x, y, x + crop, y + crop)).resize((size, size), Image.LANCZOS)
        if rng.random() < 0.5:
            tile = tile.transpose(Image.FLIP_LEFT_RIGHT)
        tile.save(folder / f"{index:04d}.png")


def tileable_sample(app: Any, run: Path | None, seconds: float, index: int = 0,
                    painting: Path | None = None) -> Any:
    from genart.api import load_run_model, sample

    if run is None:
        from genart.api import RunSettings, train_job

        if painting is None or not painting.is_file():
            raise SystemExit(f"make_pixel_figures: no painting at {painting}; give --painting or --run")
        folder = Path(tempfile.mkdtemp(prefix="pixel-figures-"))
        texture_crops(painting, folder / "crops")
        settings = RunSettings(model="diffusion:tileable=true", data=f"folder:path={folder / 'crops'}",
                               minutes=seconds / 60, seed=0, device="cpu", out=str(folder), progress_mode="none")
        run = train_job(app, settings, sample_after=False)
    model, _, _ = load_run_model(app, run, "cpu", "fp32")
    return sample(model, index + 1, seed=0)[index:]


def tile_figure(app: Any, out: Path, run: Path | None, seconds: float, index: int = 0,
                painting: Path | None = None) -> None:
    from genart.api import apply_chain, build_chain, make_context
    from genart_pixel.seams import seam_ratio, tile_preview

    context = make_context(app, "cpu", "fp32")
    image = tileable_sample(app, run, seconds, index, painting)
    plain = apply_chain(build_chain(context, ["upsample"]), image, "cpu")
    wrapped = apply_chain(build_chain(context, ["upsample:wrap=true"]), image, "cpu")
    panels = [(f"sample 3x3 (seam {seam_ratio(image):.2f})", to_pil(tile_preview(image, 3)[0], 2)),
              (f"upsample x2 (seam {seam_ratio(plain):.2f})", to_pil(tile_preview(plain, 3)[0])),
              (f"upsample:wrap=true (seam {seam_ratio(wrapped):.2f})", to_pil(tile_preview(wrapped, 3)[0]))]
    labelled(panels, horizontal=True).save(out / "tile-upsample-3x3.png", optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--run", type=Path, help="a tileable=true run to sample (default: train one here)")
    parser.add_argument("--seconds", type=float, default=390.0, help="training time when no --run is given")
    parser.add_argument("--painting", type=Path, default=None,
                        help="texture source without --run (default: DATA_ROOT/style/water-lilies-1919-2.jpg)")
    parser.add_argument("--data-root", type=Path,
                        default=Path(os.environ.get("GENART_DATA") or REPO.parent / "shared" / "data"),
                        help="the shared data (default: $GENART_DATA, else ../shared/data beside the repository)")
    parser.add_argument("--index", type=int, default=0, help="which sample (seed 0) of the run to show")
    args = parser.parse_args()

    from genart.api import App

    app = App.from_entry_points()
    args.out.mkdir(parents=True, exist_ok=True)
    gameboy_figure(app, args.out)
    painting = args.painting or args.data_root / "style" / "water-lilies-1919-2.jpg"
    tile_figure(app, args.out, args.run, args.seconds, args.index, painting)


if __name__ == "__main__":
    main()
