"""Regenerate the pictures of docs/sprites-palettes-tiles.md (shapes data only, nothing downloaded).

    flock /tmp/genart-heavy.lock python scripts/make_pixel_figures.py --out docs/images [--run RUN]

Writes:

* ``pixel-gameboy.png``: 8 ``shapes`` images at 64 px with a little grain added (seed 0; the grain stands
  in for a model's mottled flat areas), then ``pixelize:size=16``, then that through
  ``palette:colors=gameboy`` (4 colours) with the nearest colour in Oklab, then in Oklab lightness after
  stretching each image's lightness range onto the palette's, then that with ``dither=bayer``.
* ``tile-upsample-3x3.png``: one sample (``--index``, seed 0) of a ``tileable=true`` run (``--run``, or a
  diffusion model trained here on ``shapes`` at 32 px for ``--seconds``, seed 0) repeated 3x3; the same
  after ``upsample`` (learned x2) as usual; and after ``upsample:wrap=true``.

``shapes`` is genart's own procedural data, so these pictures may be published. Small pictures are
enlarged with nearest neighbour so their pixels stay visible.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

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


def tileable_sample(app: Any, run: Path | None, seconds: float, index: int = 0) -> Any:
    from genart.api import load_run_model, sample

    if run is None:
        from genart.api import RunSettings, train_job

        folder = Path(tempfile.mkdtemp(prefix="pixel-figures-"))
        settings = RunSettings(model="diffusion:image_size=32,tileable=true", data="shapes", minutes=seconds / 60,
                               seed=0, device="cpu", precision="fp32", out=str(folder), progress_mode="none")
        run = train_job(app, settings, sample_after=False)
    model, _, _ = load_run_model(app, run, "cpu", "fp32")
    return sample(model, index + 1, seed=0)[index:]


def tile_figure(app: Any, out: Path, run: Path | None, seconds: float, index: int = 0) -> None:
    from genart.api import apply_chain, build_chain, make_context
    from genart_pixel.seams import seam_ratio, tile_preview

    context = make_context(app, "cpu", "fp32")
    image = tileable_sample(app, run, seconds, index)
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
    parser.add_argument("--seconds", type=float, default=240.0, help="training time when no --run is given")
    parser.add_argument("--index", type=int, default=0, help="which sample (seed 0) of the run to show")
    args = parser.parse_args()

    from genart.api import App

    app = App.from_entry_points()
    args.out.mkdir(parents=True, exist_ok=True)
    gameboy_figure(app, args.out)
    tile_figure(app, args.out, args.run, args.seconds, args.index)


if __name__ == "__main__":
    main()
